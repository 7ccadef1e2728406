"""Checks every shipped provider schema and every vendor example must pass, whatever the provider.

Provider-specific behaviour (broken variants rejected at the right field, wire quirks) lives in the
per-provider test files next to this one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from simulator.schemastore import load_schema, schema_files

from .schema_support import (
    FIXTURES_ROOT,
    assert_generator_hints_fit,
    assert_valid,
    assert_xgen_compatible,
    check_schema_file,
    fixture_kind,
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
