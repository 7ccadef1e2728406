"""The drivers API's OpenAPI 3.1 document: a valid document, built from schemas/drivers_api/ so the two agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from simulator.providers import APIS
from simulator.schemastore import load_schema
from simulator.servers.drivers.openapi import COMPONENT_OF_KIND, openapi_document

EXAMPLES = Path(__file__).parents[3] / "fixtures" / "examples"


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the 3.1 specification


def test_the_validator_catches_a_broken_document() -> None:
    broken = {**openapi_document(), "paths": {"/drivers": {"get": {"responses": {"200": {"content": {}}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)  # a response without its required description


def test_every_kind_of_the_schema_family_is_a_component() -> None:
    assert set(COMPONENT_OF_KIND) == set(APIS["drivers_api"].kinds)
    components = openapi_document()["components"]["schemas"]
    assert set(load_schema("drivers_api/common.schema.json")["$defs"]) <= set(components)


@pytest.mark.parametrize("kind", sorted(COMPONENT_OF_KIND))
def test_the_components_accept_the_seeds_samples_and_refuse_what_the_schemas_refuse(kind: str) -> None:
    document = openapi_document()
    check = Draft202012Validator({**document, "$ref": f"#/components/schemas/{COMPONENT_OF_KIND[kind]}"})
    samples = sorted((EXAMPLES / "drivers_api").glob(f"{kind}__*.json"))
    assert samples
    for sample in samples:
        body = json.loads(sample.read_text())
        assert list(check.iter_errors(body)) == [], sample.name
        assert not check.is_valid({**body, "unexpected": 1}), sample.name
