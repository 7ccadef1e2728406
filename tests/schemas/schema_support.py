"""Helpers shared by the schema tests: fixture discovery, schema walking, mutation, rejection asserts.

Fixtures live in tests/fixtures/examples/<provider>/<kind>__<name>.json (one document per file); the kind
in the file name selects schemas/<provider>/<kind>.schema.json.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from simulator.schemagen.engine import generate_node
from simulator.schemastore import FORMAT_CHECKER, iter_errors, load_schema, registry, schema_files

REPO = Path(__file__).resolve().parents[2]
FIXTURES_ROOT = REPO / "tests" / "fixtures" / "examples"
CONVENTIONS = REPO / "docs" / "schema-conventions.md"
SCHEMA_BASE = "https://schemas.fleetsim.dev/"

# Files that hold shared $defs and are not a message kind.
SHARED_FILES = {"common"}

# Keywords docs/schema-conventions.md forbids (the generator cannot walk them).
FORBIDDEN_KEYWORDS = {"if", "then", "else", "not", "dependentSchemas", "patternProperties",
                      "unevaluatedProperties", "unevaluatedItems"}

class _Drop:
    """Mutation value meaning "remove the member". A stable repr keeps pytest ids equal across xdist workers."""

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def provider_schema_files(provider: str) -> list[str]:
    return sorted(rel for rel in schema_files() if rel.startswith(f"{provider}/"))


def provider_kinds(provider: str) -> list[str]:
    stems = (rel.split("/", 1)[1].removesuffix(".schema.json") for rel in provider_schema_files(provider))
    return sorted(stem for stem in stems if stem not in SHARED_FILES)


def fixture_files(provider: str) -> list[Path]:
    return sorted((FIXTURES_ROOT / provider).glob("*__*.json"))


def fixture_kind(path: Path) -> str:
    return path.name.split("__", 1)[0]


def fixture_name(path: Path) -> str:
    return path.stem.split("__", 1)[1]


@cache
def _fixture_text(provider: str, stem: str) -> str:
    return (FIXTURES_ROOT / provider / f"{stem}.json").read_text(encoding="utf-8")


def load_fixture(provider: str, stem: str) -> Any:
    """A fresh copy of fixture `<stem>.json` (tests may mutate it)."""
    return json.loads(_fixture_text(provider, stem))


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object (dict) under `node`, with its JSON pointer; also descends into non-schema dicts
    such as `properties`, which is harmless for the keyword checks made here."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{pointer}/{i}")


def subschemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Schema objects only: skips the name->schema maps (`properties`, `$defs`) themselves and enum/const."""
    def visit(node: dict[str, Any], pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
        yield pointer, node
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for name, sub in value.items():
                    if isinstance(sub, dict):
                        yield from visit(sub, f"{pointer}/{key}/{name}")
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                yield from visit(value, f"{pointer}/{key}")
            elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
                for i, sub in enumerate(value):
                    yield from visit(sub, f"{pointer}/{key}/{i}")

    yield from visit(schema, "")


def xgen_names_from_conventions() -> set[str]:
    """The x-gen names in the `| x-gen | produces |` table of docs/schema-conventions.md."""
    names: set[str] = set()
    in_table = False
    for line in CONVENTIONS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells[:2] == ["x-gen", "produces"]:
            in_table = True
            continue
        if in_table:
            if not cells:
                break
            names.update(re.findall(r"`([A-Za-z0-9_]+)`", cells[0]))
    return names


def xgen_uses(rel: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(pointer, x-gen name, schema beside it) for every x-gen annotation in schema `rel`."""
    return [(ptr, node["x-gen"], node) for ptr, node in walk(load_schema(rel)) if "x-gen" in node]


def mutate(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `doc` with the member at `path` replaced by `value` (or removed when value is DROP)."""
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if value is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def errors_of(rel: str, doc: Any) -> list[Any]:
    return list(iter_errors(rel, doc))


def assert_valid(rel: str, doc: Any) -> None:
    errors = errors_of(rel, doc)
    assert errors == [], "\n".join(str(e) for e in errors)


def assert_rejected(rel: str, doc: Any, path: str, expected: str) -> None:
    """`doc` breaks `rel`, every error points at `path`, and one of them expects `expected`."""
    errors = errors_of(rel, doc)
    shown = "\n".join(str(e) for e in errors) or "(no errors)"
    assert errors, f"{rel} accepted a broken document"
    assert {e.path for e in errors} == {path}, shown
    assert any(expected in e.expected for e in errors), shown


def check_schema_file(rel: str, provider: str) -> None:
    """Valid 2020-12, ids per the conventions, no forbidden keyword, every property typed."""
    schema = load_schema(rel)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_BASE + rel
    assert rel.startswith(f"{provider}/") and rel.endswith(".schema.json")
    assert schema.get("title") and schema.get("description")
    for ptr, node in subschemas(schema):
        used = FORBIDDEN_KEYWORDS & node.keys()
        assert not used, f"{rel}#{ptr} uses {sorted(used)}"
        ap = node.get("additionalProperties")
        assert ap is None or isinstance(ap, bool), f"{rel}#{ptr}: additionalProperties must be a boolean"
        for name in node.get("required", []):
            assert name in node.get("properties", {}), f"{rel}#{ptr}: required {name!r} is not declared"
        for name, prop in node.get("properties", {}).items():
            assert prop.keys() & {"type", "enum", "const", "$ref", "anyOf", "oneOf"}, \
                f"{rel}#{ptr}/properties/{name} is untyped"


# One or more values each x-gen generator can produce (from the conventions table); a schema annotated
# with a name must accept them, else the generator would emit documents its own schema rejects.
_HEX = "0123456789abcdef" * 16


def xgen_samples(name: str, node: dict[str, Any]) -> list[Any]:
    lo, hi = node.get("minLength", 1), node.get("maxLength", 32)
    fixed: dict[str, list[Any]] = {
        "mettax_device_id": ["105045133913", "240070466666"],
        "snowflake": ["1843895343409950720", "1000000000000000000"],
        "mettax_msg_id": ["105045133913_1843895343409950720"],
        "epoch_s": [1704067200, 1798761599],
        "latitude": [-19.9167, 22.577894, -89.5],
        "longitude": [-43.9333, 113.938709, -179.5],
        "latitude_str": ["-19.916700", "35.926264", "0.000000"],
        "longitude_str": ["-43.933300", "113.882785", "-179.500000"],
        "plate_br": ["ABC-1234", "ABC1D23"],
        "person_name": ["Maria da Silva", "João Pereira"],
        "rfid_card": ["7C3F88A9", "00000000"],
        "file_url": ["https://files.example.com/media/2026/03/0001.jpg",
                     "https://files.example.com/media/2026/03/0002.mp4"],
        "https_url": ["https://api.example.com/drivers"],
        "iso_utc_z": ["2026-03-03T10:32:00Z"],
        "iso_utc_micro_z": ["2024-01-15T10:00:00.000000Z"],
        "ulid": ["01ke7rhnt6fhb6tsbbhcdpepya", "7zzzzzzzzzzzzzzzzzzzzzzzzz"],
        "slug": ["digital_manager_guru", "bling"],
        "sentence": ["The receiver answered within the time limit."],
        "hex_lower": [_HEX[:lo], _HEX[:hi]],
        "hex_upper": [_HEX[:lo].upper(), _HEX[:hi].upper()],
        "numeric_string": ["1" * lo, "9" * hi],
    }
    return fixed.get(name, [])


def assert_xgen_compatible(rel: str, seeds: int = 300) -> None:
    """Typical values (the table above, where it has the name) and what the real generator produces for
    `seeds` seeds must all satisfy the keywords written beside the x-gen annotation."""
    for ptr, name, node in xgen_uses(rel):
        beside = {k: v for k, v in node.items() if k not in ("description", "title")}
        validator = Draft202012Validator(beside, format_checker=FORMAT_CHECKER)
        samples = xgen_samples(name, node)
        samples += [generate_node(node, random.Random(seed)) for seed in range(seeds)]
        for sample in samples:
            errs = [e.message for e in validator.iter_errors(sample)]
            assert not errs, f"{rel}#{ptr}: x-gen {name} value {sample!r} rejected: {errs}"



def assert_generator_hints_fit(rel: str) -> None:
    """Every `x-examples` value validates against the schema it sits in (refs and all), and every `x-range`
    lies inside the node's minimum/maximum: the generator must never emit what its own schema rejects."""
    for ptr, node in walk(load_schema(rel)):
        if "x-examples" in node:
            here = Draft202012Validator({"$ref": f"{SCHEMA_BASE}{rel}#{ptr}"}, registry=registry(),
                                        format_checker=FORMAT_CHECKER)
            for example in node["x-examples"]:
                errs = [e.message for e in here.iter_errors(example)]
                assert not errs, f"{rel}#{ptr}: x-examples value {example!r} rejected: {errs}"
        if "x-range" in node:
            low, high = node["x-range"]
            assert low <= high, f"{rel}#{ptr}: x-range {node['x-range']} is empty"
            assert node.get("minimum", low) <= low and high <= node.get("maximum", high), \
                f"{rel}#{ptr}: x-range {node['x-range']} leaves [{node.get('minimum')}, {node.get('maximum')}]"
