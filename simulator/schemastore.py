"""Loads every JSON Schema under schemas/ once and validates documents against them.

Schemas reference each other by relative `$ref` (e.g. `traccar.schema.json#/$defs/Position`), resolved
through their `$id` (https://schemas.fleetsim.dev/<provider>/<file>) in one `referencing.Registry`.

Two readings of every schema: the whole one (what fleetsim generates; `schemas validate --strict`) and the
documented one (`documented=True`), where the keywords a node lists under `x-inferred` are left out and those it
gives under `x-documented` take the vendor's looser value: bounds and patterns fleetsim chose (a speed of at most
300 km/h, a 6-20 digit MettaX device id) that no vendor states. What a receiver must refuse is the documented
reading's (the reference receiver, FUZ-01, MAL-02's breaks, `generate --invalid`), never what fleetsim alone
decided (docs/schema-conventions.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import HarnessError
from .resources import schemas_dir

if TYPE_CHECKING:  # jsonschema and referencing load on first validation: `fleetsim sign` needs neither
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry

SCHEMA_BASE = "https://schemas.fleetsim.dev/"
#: the annotations of what fleetsim inferred (docs/schema-conventions.md): the keywords of a node no vendor
#: states, and the vendor's own looser value of a keyword fleetsim narrowed (`integer` where it says `number`)
INFERRED, DOCUMENTED = "x-inferred", "x-documented"
#: how an additionalProperties error is worded: a receiver tolerates unknown extra fields (MAL-03)
EXTRA_FIELDS = "no properties beyond those declared"
#: said of a message of no kind fleetsim knows (a MettaX message it cannot recognise): a receiver acknowledges
#: and ignores it (MAL-03), so only the whole reading calls it an error
UNKNOWN_KIND = "a receiver acknowledges and ignores a kind it does not know: MAL-03"


def _is_datetime(value: object) -> bool:
    # RFC 3339 date-time: a full date, a time and an explicit offset (Z or +hh:mm). The offset is required.
    if not isinstance(value, str):
        return True
    if len(value) < 20 or value[10] not in "Tt":
        raise ValueError("not an RFC 3339 date-time")
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("date-time without a UTC offset")
    return True


@cache
def format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(_is_datetime)
    return checker


def __getattr__(name: str) -> Any:
    # FORMAT_CHECKER stays importable by name, built (with jsonschema) on first use
    if name == "FORMAT_CHECKER":
        return format_checker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class SchemaError:
    """One validation failure, in the words the CLI prints."""

    path: str  # JSON pointer into the document, "" for the root
    expected: str
    actual: str

    def __str__(self) -> str:
        where = self.path or "/"
        return f"{where}: expected {self.expected}, got {self.actual}"


@cache
def _all_schemas() -> dict[str, dict[str, Any]]:
    """`{"<provider>/<file name>": schema}` for every *.schema.json file."""
    root = schemas_dir()
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.schema.json")):
        rel = path.relative_to(root).as_posix()
        try:
            found[rel] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # a broken shipped schema is our bug, not the user's
            raise HarnessError(f"shipped schema {rel} cannot be loaded: {exc}") from exc
    return found


def _documented(node: Any) -> Any:
    """`node` without the keywords each of its nodes lists under `x-inferred`, and with the vendor's values of
    those it gives under `x-documented`."""
    if isinstance(node, list):
        return [_documented(item) for item in node]
    if not isinstance(node, dict):
        return node
    dropped = set(node.get(INFERRED, ()))
    kept = {key: _documented(value) for key, value in node.items() if key not in dropped}
    return kept | node.get(DOCUMENTED, {})


def _fleetsims_own(schema: Any, keyword: str) -> bool:
    """Whether `keyword` of this schema node is a rule fleetsim chose rather than read."""
    return isinstance(schema, dict) and (keyword in schema.get(INFERRED, ()) or keyword in schema.get(DOCUMENTED, {}))


@cache
def _documented_schemas() -> dict[str, dict[str, Any]]:
    return {rel: _documented(schema) for rel, schema in _all_schemas().items()}


@cache
def registry(documented: bool = False) -> Registry[Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for rel, schema in (_documented_schemas() if documented else _all_schemas()).items():
        uri = schema.get("$id", SCHEMA_BASE + rel)
        resources.append((uri, Resource.from_contents(schema, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def schema_files() -> list[str]:
    return list(_all_schemas())


def load_schema(rel: str) -> dict[str, Any]:
    try:
        return _all_schemas()[rel]
    except KeyError:
        raise HarnessError(f"no shipped schema {rel!r}") from None


@cache
def validator(rel: str, documented: bool = False) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema(rel)  # an unknown name is a HarnessError, in either reading
    if documented:
        schema = _documented_schemas()[rel]
    return Draft202012Validator(schema, registry=registry(documented), format_checker=format_checker())


def _describe_actual(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def iter_errors(rel: str, document: Any, *, documented: bool = False) -> Iterator[SchemaError]:
    """Every way `document` breaks schema `rel` (its documented reading with `documented`), most specific first,
    as path / expected / actual."""
    errors = sorted(validator(rel, documented).iter_errors(document),
                    key=lambda e: (list(e.absolute_path), e.validator))
    # jsonschema raises one `required` error per missing property, each carrying the whole list; every one of
    # them translates to all the missing names, so duplicates are dropped here and each name is told once.
    seen: set[SchemaError] = set()
    # a value a keyword refuses where it stands (an enum) is told once: the best branch of a oneOf/anyOf that
    # also refuses it at that path (the alert condition groups of Samsara 1.0) would only say it again, worse
    direct = {_path(err) for err in errors if not err.context}
    for err in errors:
        for found in _translate(err):
            if found in seen or (err.context and found.path in direct and found.path != _path(err)):
                continue
            seen.add(found)
            yield found


def _path(err: Any) -> str:
    """Where an error stands in the document, as a JSON pointer ("/event/alertConditionId")."""
    return "".join(f"/{p}" for p in err.absolute_path)


def _discriminated(err: Any) -> list[SchemaError] | None:
    """A oneOf/anyOf whose branches are told apart by a `const` (Samsara 2.0 `eventType`): the branch whose
    const matched is the one the document meant, so its errors are the ones to report. When no const matched
    anywhere and they all sit at one path, that path takes every allowed value. None: not such a keyword."""
    if err.validator not in ("oneOf", "anyOf"):
        return None
    branches: dict[Any, list[Any]] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    live = [errs for errs in branches.values() if not any(e.validator == "const" for e in errs)]
    if len(live) == 1 and len(branches) > 1:
        from jsonschema.exceptions import best_match

        return _describe(best_match(live[0]))
    consts = [e for errs in branches.values() for e in errs if e.validator == "const"]
    if not live and len(consts) == len(branches) and len({tuple(e.absolute_path) for e in consts}) == 1:
        return _describe_one_of(consts[0], [e.validator_value for e in consts])
    return None


def _translate(err: Any) -> list[SchemaError]:
    if err.context:
        found = _discriminated(err)
        if found is None:
            # For anyOf/oneOf the top error is vague ("is not valid under any of the given schemas"); the best
            # matching branch error says what is actually wrong.
            from jsonschema.exceptions import best_match

            found = _describe(best_match(err.context))
        # the branches are fleetsim's (the MettaX alarm codes as one list): say so, as for any other keyword
        return _labelled(found) if _fleetsims_own(err.schema, err.validator) else found
    return _describe(err)


def _labelled(found: list[SchemaError]) -> list[SchemaError]:
    return [e if e.expected.endswith(f"({OWN_BOUND})") else SchemaError(e.path, f"{e.expected} ({OWN_BOUND})", e.actual)
            for e in found]


def _describe_one_of(leaf: Any, allowed: list[Any]) -> list[SchemaError]:
    path = _path(leaf)
    shown = ", ".join(json.dumps(v) for v in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
    return [SchemaError(path, f"one of {shown}", _describe_actual(leaf.instance))]


def _describe(leaf: Any) -> list[SchemaError]:
    if leaf.context:  # best_match stops at a oneOf/anyOf whose branches fail equally
        found = _discriminated(leaf)
        if found is not None:
            return found
    path = _path(leaf)
    kw = leaf.validator
    found = _described(path, kw, leaf.validator_value, leaf.instance, leaf)
    # say so: a document the vendor would send may break a bound fleetsim chose
    return _labelled(found) if _fleetsims_own(leaf.schema, kw) else found


#: how an error of an `x-inferred` keyword is labelled (a bound, a pattern or a dependency fleetsim chose)
OWN_BOUND = "fleetsim's own rule: no vendor states it"


def _described(path: str, kw: str, val: Any, inst: Any, leaf: Any) -> list[SchemaError]:
    if kw == "required":
        missing = [name for name in val if isinstance(inst, dict) and name not in inst]
        return [SchemaError(path, f"required property {name!r}", "nothing") for name in missing] or [
            SchemaError(path, "required properties", "nothing")]
    if kw == "dependentRequired" and isinstance(inst, dict):
        return [SchemaError(path, f"required property {dep!r} (it comes with {name!r})", "nothing")
                for name, deps in val.items() if name in inst for dep in deps if dep not in inst]
    if kw == "type":
        return [SchemaError(path, f"type {val}", f"{type(inst).__name__} {_describe_actual(inst)}")]
    if kw in ("enum", "const"):
        return _describe_one_of(leaf, val if kw == "enum" else [val])
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [SchemaError(path, f"{kw} {val}", _describe_actual(inst))]
    if kw == "additionalProperties":
        return [SchemaError(path, EXTRA_FIELDS, leaf.message)]
    if kw in ("anyOf", "oneOf") and leaf.context and all(sub.validator == "required" for sub in leaf.context):
        # branches that each require a member (a Samsara alert's device or driver): name the members
        names = list(dict.fromkeys(name for sub in leaf.context for name in sub.validator_value))
        return [SchemaError(path, f"{'one' if kw == 'oneOf' else 'at least one'} of the properties "
                            f"{', '.join(map(repr, names))}", "none of them")]
    if kw == "pattern" and isinstance(inst, str) and leaf.schema.get("contentMediaType") == "application/json":
        # the pattern only screens JSON text held in a string (MettaX `data`): say what is wrong with the JSON
        what = "JSON that is not an object" if _parses(inst) else "invalid JSON"
        return [SchemaError(path, "a JSON object inside the string", f"{what}: {_describe_actual(inst)}")]
    return [SchemaError(path, f"{kw} {_describe_actual(val)}", _describe_actual(inst))]


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
