"""Checks every shipped provider schema and every vendor example must pass, whatever the provider.

Provider-specific behaviour (broken variants rejected at the right field, wire quirks) lives in the
per-provider test files next to this one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from simulator.generation import generate_one
from simulator.providers import PROVIDERS
from simulator.schemastore import DOCUMENTED, INFERRED, OWN_BOUND, iter_errors, load_schema, schema_files

from .schema_support import (
    FIXTURES_ROOT,
    assert_generator_hints_fit,
    assert_valid,
    assert_xgen_compatible,
    check_schema_file,
    fixture_kind,
    walk,
    xgen_names_from_conventions,
    xgen_uses,
)

PROVIDER_SCHEMAS = [rel for rel in schema_files() if "/" in rel]
FIXTURES = sorted(FIXTURES_ROOT.glob("*/*.json"))


def test_every_provider_has_schemas_and_fixtures() -> None:
    providers = {rel.split("/")[0] for rel in PROVIDER_SCHEMAS}
    assert providers == {"drivers_api", "mettax", "powunity", "samsara", "smartgps", "smartgps_api",
                         "standard_webhooks"}
    assert {p.parent.name for p in FIXTURES} == providers


@pytest.mark.parametrize("rel", PROVIDER_SCHEMAS)
def test_schema_is_well_formed(rel: str) -> None:
    check_schema_file(rel, rel.split("/")[0])


def test_scenario_schema_is_valid_2020_12() -> None:
    Draft202012Validator.check_schema(load_schema("scenario.schema.json"))


@pytest.mark.parametrize("rel", PROVIDER_SCHEMAS)
def test_xgen_names_are_from_the_conventions_table(rel: str) -> None:
    unknown = {name for _, name, _ in xgen_uses(rel)} - xgen_names_from_conventions()
    assert not unknown, f"{rel} uses x-gen names not in docs/schema-conventions.md: {unknown}"


@pytest.mark.parametrize("rel", PROVIDER_SCHEMAS)
def test_xgen_values_satisfy_the_schema_beside_them(rel: str) -> None:
    assert_xgen_compatible(rel)


@pytest.mark.parametrize("rel", PROVIDER_SCHEMAS)
def test_xexamples_and_xrange_satisfy_the_schema_around_them(rel: str) -> None:
    assert_generator_hints_fit(rel)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vendor_example_validates(path: Path) -> None:
    assert_valid(f"{path.parent.name}/{fixture_kind(path)}.schema.json", json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("rel", PROVIDER_SCHEMAS)
def test_x_inferred_and_x_documented_only_loosen_the_schema(rel: str) -> None:
    # a stale entry would leave a rule in the documented reading that the schema's author meant to take out
    for pointer, node in walk(load_schema(rel)):
        if INFERRED in node:
            listed = node[INFERRED]
            assert isinstance(listed, list) and listed and all(isinstance(k, str) for k in listed), (rel, pointer)
            absent = [k for k in listed if k not in node]
            assert not absent, f"{rel}#{pointer}: {INFERRED} names keywords the node does not have: {absent}"
            assert "type" not in listed, f"{rel}#{pointer}: a JSON type is what every vendor states"
        if DOCUMENTED in node:
            # only ever looser: the documented reading must refuse nothing the whole schema takes, or a document
            # fleetsim generates would be "invalid" to FUZ-01 and the reference receiver (receiving.vendor_errors
            # looks at the documented reading only when the whole one found something)
            assert node[DOCUMENTED] == {"type": "number"} and node.get("type") == "integer", (rel, pointer)


def test_the_documented_reading_leaves_out_only_what_fleetsim_inferred() -> None:
    gps = {"actual": True, "num": 9, "lon": 113.938709, "deviceId": "105045133913", "speed": 0, "reportCt": 1724822445,
           "course": 154, "deviceCt": 1724793630, "id": "105045133913_1234567893043003392", "lat": 22.577894}
    rel = "mettax/gps.schema.json"
    assert not list(iter_errors(rel, gps)) and not list(iter_errors(rel, gps, documented=True))  # the vendor's own
    for change in ({"speed": 301}, {"num": 61}, {"deviceId": "abc"}):
        (whole,) = iter_errors(rel, {**gps, **change})
        assert whole.expected.endswith(f"({OWN_BOUND})"), whole  # said to be fleetsim's, where it is reported
        assert not list(iter_errors(rel, {**gps, **change}, documented=True)), change
    no_lon = {k: v for k, v in gps.items() if k != "lon"}
    assert list(iter_errors(rel, no_lon)) and not list(iter_errors(rel, no_lon, documented=True))
    for change in ({"lat": 91}, {"speed": -1}, {"num": "9"}):  # what the vendor or the world rules out stays
        (documented,) = iter_errors(rel, {**gps, **change}, documented=True)
        (whole,) = iter_errors(rel, {**gps, **change})
        assert documented == whole and OWN_BOUND not in whole.expected, change


def test_the_documented_reading_follows_refs_into_other_files() -> None:
    # powunity/webhook.schema.json refers to traccar.schema.json: Traccar ids are Java longs, and the 32-bit
    # bound is fleetsim's; the refs must resolve in the documented registry, not back into the whole one
    webhook = generate_one(PROVIDERS["powunity"], "webhook", seed=2, index=0).payload
    rel = "powunity/webhook.schema.json"
    assert not list(iter_errors(rel, webhook))
    webhook["event"]["id"] = 2**40
    (whole,) = iter_errors(rel, webhook)
    assert whole.path == "/event/id" and whole.expected.endswith(f"({OWN_BOUND})")
    assert not list(iter_errors(rel, webhook, documented=True))
    webhook["event"]["id"] = "7"  # a wrong type is wrong in both
    assert list(iter_errors(rel, webhook, documented=True))
