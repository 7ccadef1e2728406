"""Break a generated document in exactly one labelled way, for fuzzing receivers (`generate --invalid`).

Each violation names the JSON Schema rule it breaks, the JSON pointer of the broken field and a short human
description. The result is re-validated: a mutation that some other schema branch still accepts is discarded
and another one tried, so every emitted document is guaranteed invalid.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import HarnessError
from .engine import Generated

_TYPE_SAMPLES: tuple[tuple[str, Any], ...] = (
    ("string", "not-a-number"),
    ("integer", 12345),
    ("boolean", True),
    ("array", []),
    ("object", {}),
    ("null", None),
)


@dataclass(frozen=True)
class Violation:
    rule: str  # required | type | range | enum | pattern | additional
    path: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _json_type_ok(value: Any, allowed: list[str]) -> bool:
    for t in allowed:
        if t == "null" and value is None:
            return True
        if t == "boolean" and isinstance(value, bool):
            return True
        if t in ("integer", "number") and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if t == "string" and isinstance(value, str):
            return True
        if t == "array" and isinstance(value, list):
            return True
        if t == "object" and isinstance(value, dict):
            return True
    return False


def _split(path: str) -> list[str]:
    return [p for p in path.split("/")[1:]]


def _set(doc: Any, path: str, value: Any) -> None:
    parts = _split(path)
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _split(path):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _delete(doc: Any, path: str) -> None:
    parts = _split(path)
    parent = _get(doc, "/" + "/".join(parts[:-1])) if len(parts) > 1 else doc
    del parent[parts[-1]]


Apply = Callable[[Any], None]
Candidate = tuple[Violation, Apply]


def _setter(path: str, value: Any) -> Apply:
    def apply(doc: Any) -> None:
        _set(doc, path, copy.deepcopy(value))

    return apply


def _deleter(path: str) -> Apply:
    def apply(doc: Any) -> None:
        _delete(doc, path)

    return apply


def _candidates(gen: Generated) -> list[Candidate]:
    out: list[Candidate] = []
    for path, schema in gen.trace.items():
        try:
            current = _get(gen.value, path)
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # a node replaced by a provider hook (an object became a list, or the reverse)
        if isinstance(current, dict):
            for name in schema.get("required", ()):
                if name in current:
                    p = f"{path}/{name}"
                    out.append((Violation("required", p, f"removed required property {name!r}"),
                                _deleter(p)))
            if schema.get("additionalProperties") is False:
                p = f"{path}/unexpectedField"
                out.append((Violation("additional", p, "added a property the schema forbids"),
                            _setter(p, "surprise")))
        if not path:
            continue
        allowed = schema.get("type")
        if allowed is not None:
            allowed_list = allowed if isinstance(allowed, list) else [allowed]
            for name, sample in _TYPE_SAMPLES:
                if not _json_type_ok(sample, allowed_list):
                    article = "an" if name[0] in "aeiou" else "a"
                    expected = "/".join(allowed_list)
                    out.append((Violation("type", path, f"replaced by {article} {name} (expected {expected})"),
                                _setter(path, sample)))
                    break
        if isinstance(current, int | float) and not isinstance(current, bool):
            if "maximum" in schema:
                v = schema["maximum"] + 1
                out.append((Violation("range", path, f"set to {v}, above the maximum {schema['maximum']}"),
                            _setter(path, v)))
            if "minimum" in schema:
                v = schema["minimum"] - 1
                out.append((Violation("range", path, f"set to {v}, below the minimum {schema['minimum']}"),
                            _setter(path, v)))
        if "enum" in schema and len(schema["enum"]) > 1:
            bogus: Any = "UNKNOWN_VALUE" if isinstance(current, str) else 987654
            out.append((Violation("enum", path, f"set to {bogus!r}, not an allowed value"),
                        _setter(path, bogus)))
        if isinstance(current, str) and "pattern" in schema:
            out.append((Violation("pattern", path, f"set to '#!invalid!#', not matching {schema['pattern']}"),
                        _setter(path, "#!invalid!#")))
    return out


def mutate(gen: Generated, rng: random.Random, is_valid: Callable[[Any], bool]) -> tuple[Any, Violation]:
    """A copy of `gen.value` broken in one way that `is_valid` confirms, and the label of that way."""
    candidates = _candidates(gen)
    rng.shuffle(candidates)
    for violation, apply in candidates:
        doc = copy.deepcopy(gen.value)
        apply(doc)
        if not is_valid(doc):
            return doc, violation
    raise HarnessError("found no single mutation that makes this document invalid")
