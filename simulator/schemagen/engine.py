"""Walks a shipped JSON Schema with a seeded RNG and builds a document that validates against it.

Pure: the only randomness is the `random.Random` passed in, so the same seed yields the same document.
The supported keyword subset is documented in docs/schema-conventions.md; `x-gen` names a realistic value
generator (schemagen/hints.py). Alongside the value the walk records the effective schema of every node
(`trace`), which is what `mutate` uses to break a document in one precise, labelled way.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urljoin

from ..core.pools import generator_names
from ..errors import HarnessError
from ..schemastore import SCHEMA_BASE, load_schema, schema_files
from .hints import HINTS, epoch_s, iso_utc, paired_coordinate, person_name
from .regex import string_matching

# coordinate hints share the document's current point (see hints.paired_coordinate)
_COORDINATE_HINTS = {"latitude": (0, False), "longitude": (1, False), "latitude_str": (0, True),
                     "longitude_str": (1, True)}

DEFAULT_PRESENCE = 0.85
_MAX_DEPTH = 24
_MAX_EXTRA_ITEMS = 4
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")


@dataclass
class Generated:
    value: Any
    #: JSON pointer -> the merged schema the value at that pointer was generated from
    trace: dict[str, dict[str, Any]] = field(default_factory=dict)


def _absolutize(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {k: _absolutize(v, base) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = urljoin(base, ref)
        return out
    if isinstance(node, list):
        return [_absolutize(v, base) for v in node]
    return node


@cache
def _documents() -> dict[str, dict[str, Any]]:
    docs = {}
    for rel in schema_files():
        raw = load_schema(rel)
        uri = raw.get("$id", SCHEMA_BASE + rel)
        docs[uri] = _absolutize(raw, uri)
    return docs


def _lookup(uri: str) -> dict[str, Any]:
    base, _, fragment = uri.partition("#")
    try:
        node: Any = _documents()[base]
    except KeyError:
        raise HarnessError(f"schema reference {uri!r} points at no shipped schema") from None
    for part in filter(None, fragment.split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    if not isinstance(node, dict):
        raise HarnessError(f"schema reference {uri!r} is not a schema object")
    return node


def root_schema(rel: str) -> dict[str, Any]:
    raw = load_schema(rel)
    return _documents()[raw.get("$id", SCHEMA_BASE + rel)]


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The schema that demands both `a` and `b` (as far as generation needs)."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required":
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key == "enum":
            out[key] = [v for v in out[key] if v in value]
        elif key == "type":
            left = out[key] if isinstance(out[key], list) else [out[key]]
            right = value if isinstance(value, list) else [value]
            both = [t for t in left if t in right or (t == "integer" and "number" in right)]
            both += [t for t in right if t == "integer" and "number" in left and t not in both]
            out[key] = both or right
        elif key in _LOWER_BOUNDS:
            out[key] = max(out[key], value)
        elif key in _UPPER_BOUNDS:
            out[key] = min(out[key], value)
        elif key == "allOf":
            out[key] = [*out[key], *value]
        elif key in ("anyOf", "oneOf"):  # both sides choose: keep ours, demand theirs too
            out["allOf"] = [*out.get("allOf", []), {key: value}]
        else:
            out[key] = value
    return out


class _Walker:
    def __init__(self, rng: random.Random, trace: dict[str, dict[str, Any]], names: tuple[str, ...]) -> None:
        self.rng = rng
        self.trace = trace
        self.ctx: dict[str, Any] = {}
        self.names = names or generator_names(0)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Flatten $ref / allOf / anyOf / oneOf into one schema by merging (choosing one branch)."""
        for _ in range(_MAX_DEPTH):
            if "$ref" in schema:
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                schema = merge(rest, _lookup(schema["$ref"]))
            elif "allOf" in schema:
                parts = schema["allOf"]
                schema = {k: v for k, v in schema.items() if k != "allOf"}
                for part in parts:
                    schema = merge(schema, part)
            elif "oneOf" in schema or "anyOf" in schema:
                key = "oneOf" if "oneOf" in schema else "anyOf"
                branch = self._branch(schema[key])
                schema = merge({k: v for k, v in schema.items() if k != key}, branch)
            else:
                return schema
        raise HarnessError("schema nesting too deep for the generator (cyclic $ref?)")

    def _branch(self, branches: list[dict[str, Any]]) -> dict[str, Any]:
        """One oneOf/anyOf branch: uniformly, or by `x-weight` when a branch carries one (0 = never generated,
        for shapes the validator must accept but a real platform is not known to send)."""
        weights = [b.get("x-weight", 1) if isinstance(b, dict) else 1 for b in branches]
        if all(w == 1 for w in weights):
            return self.rng.choice(branches)
        if not any(w > 0 for w in weights):
            raise HarnessError("every oneOf/anyOf branch has x-weight 0: nothing to generate")
        return self.rng.choices(branches, weights=weights)[0]

    def value(self, schema: dict[str, Any] | bool, path: str) -> Any:
        if schema is True or schema is False:
            schema = {}
        node = self.resolve(schema)
        self.trace[path] = node
        rng = self.rng
        gen = node.get("x-gen")
        if gen in _COORDINATE_HINTS:
            axis, as_text = _COORDINATE_HINTS[gen]
            coordinate = paired_coordinate(rng, self.ctx, axis)
            return f"{coordinate:.6f}" if as_text else coordinate
        if gen == "person_name":
            return person_name(rng, self.names)
        if gen is not None:
            try:
                hint_fn = HINTS[gen]
            except KeyError:
                raise HarnessError(f"schema asks for unknown generator x-gen={gen!r} at {path or '/'}") from None
            return hint_fn(rng, node)
        if "x-examples" in node:
            return copy.deepcopy(rng.choice(node["x-examples"]))
        if "const" in node:
            return node["const"]
        if "enum" in node:
            if not node["enum"]:
                raise HarnessError(f"schema branches leave no allowed value at {path or '/'}")
            return rng.choice(node["enum"])
        kind = node.get("type")
        if isinstance(kind, list):
            non_null = [t for t in kind if t != "null"]
            kind = rng.choice(non_null) if non_null and rng.random() < 0.9 else rng.choice(kind)
        if kind is None:
            kind = "object" if "properties" in node else "string"
        return getattr(self, f"_{kind}")(node, path)

    def _object(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        required = set(node.get("required", ()))
        presence = node.get("x-presence", DEFAULT_PRESENCE)
        out: dict[str, Any] = {}
        for name, sub in node.get("properties", {}).items():
            if sub is False:
                continue
            sub_presence = sub.get("x-presence", presence) if isinstance(sub, dict) else presence
            if name in required or self.rng.random() < sub_presence:
                out[name] = self.value(sub, f"{path}/{name}")
        # dependentRequired: a present member brings its partners (a GPS fix with `lat` has `lon`)
        properties = node.get("properties", {})
        for name, partners in node.get("dependentRequired", {}).items():
            if name in out:
                for partner in partners:
                    if partner not in out:
                        out[partner] = self.value(properties.get(partner, {}), f"{path}/{partner}")
        for name in required - out.keys():  # required but not declared: anything goes
            out[name] = self.value({}, f"{path}/{name}")
        if "dependentRequired" in node:  # keep declaration order whatever was added late
            order = {name: i for i, name in enumerate(properties)}
            out = dict(sorted(out.items(), key=lambda item: order.get(item[0], len(order))))
        return out

    def _array(self, node: dict[str, Any], path: str) -> list[Any]:
        low = int(node.get("minItems", 0))
        # realistic messages carry a handful of items, however many the schema would allow
        high = min(int(node.get("maxItems", low + 3)), low + _MAX_EXTRA_ITEMS)
        items = node.get("items", {})
        return [self.value(items, f"{path}/{i}") for i in range(self.rng.randint(low, max(low, high)))]

    def _string(self, node: dict[str, Any], path: str) -> str:
        if "pattern" in node:
            return string_matching(node["pattern"], self.rng)
        if node.get("format") == "date-time":
            return iso_utc(epoch_s(self.rng) * 1000, digits=0)
        low = int(node.get("minLength", 1))
        high = int(node.get("maxLength", max(low, 12)))
        word = self.rng.choice(_WORDS)
        while len(word) < low:
            word += self.rng.choice(_WORDS)
        return word[: max(low, min(high, len(word)))]

    def _bounds(self, node: dict[str, Any], default: tuple[float, float]) -> tuple[float, float]:
        if "x-range" in node:  # what a real device sends, inside the wider range the validator accepts
            low, high = node["x-range"]
            return float(low), float(high)
        low = node.get("minimum", node.get("exclusiveMinimum", default[0]))
        high = node.get("maximum", node.get("exclusiveMaximum", default[1]))
        return float(low), float(high)

    def _integer(self, node: dict[str, Any], path: str) -> int:
        if "x-range" in node:
            lo, hi = (int(v) for v in node["x-range"])
            return self.rng.randint(lo, hi)
        low, high = self._bounds(node, (0, 10_000))
        lo = int(low) + (1 if "exclusiveMinimum" in node else 0)
        hi = int(high) - (1 if "exclusiveMaximum" in node else 0)
        return self.rng.randint(lo, max(lo, hi))

    def _number(self, node: dict[str, Any], path: str) -> float:
        low, high = self._bounds(node, (0.0, 1000.0))
        value = self.rng.uniform(low, high)
        decimals = int(node.get("x-decimals", 2))
        value = round(value, decimals)
        if ("exclusiveMinimum" in node and value <= low) or ("exclusiveMaximum" in node and value >= high):
            value = round((low + high) / 2, decimals)
        return min(max(value, low), high)

    def _boolean(self, node: dict[str, Any], path: str) -> bool:
        return self.rng.random() < 0.5

    def _null(self, node: dict[str, Any], path: str) -> None:
        return None


def generate(rel: str, rng: random.Random, *, names: tuple[str, ...] = ()) -> Generated:
    """A document for shipped schema `rel` (e.g. "mettax/gps.schema.json").

    `names` is the run's person-name pool (core.pools.generator_names(seed)); without it, seed 0's."""
    trace: dict[str, dict[str, Any]] = {}
    value = _Walker(rng, trace, names).value(root_schema(rel), "")
    return Generated(value, trace)


def generate_node(schema: dict[str, Any], rng: random.Random, *, names: tuple[str, ...] = ()) -> Any:
    """A value for a schema fragment already absolutized (used by provider hooks)."""
    return _Walker(rng, {}, names).value(schema, "")
