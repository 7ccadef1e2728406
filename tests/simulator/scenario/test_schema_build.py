"""The published scenario schema is generated from the provider registry and kept in sync with it."""

from __future__ import annotations

import json

from simulator.delivery.retry import RETRY_POLICIES
from simulator.providers import PROVIDERS
from simulator.scenario.schema_build import build, published_path, render, webhook_providers


def test_the_published_schema_is_generated_from_the_providers() -> None:
    text = published_path().read_text(encoding="utf-8")
    assert text == render(build(json.loads(text))), (
        "schemas/scenario.schema.json is out of date: run `python -m simulator.scenario.schema_build`")


def test_every_provider_setting_and_name_comes_from_the_registry() -> None:
    schema = json.loads(published_path().read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert defs["group"]["properties"]["provider"]["enum"] == webhook_providers() == sorted(PROVIDERS)
    settings = defs["delivery"]["properties"]["providers"]["properties"]
    for name, provider in PROVIDERS.items():
        assert settings[name]["additionalProperties"] is False  # an unknown key is an error, never ignored
        assert set(provider.settings_schema["properties"]) <= set(settings[name]["properties"])
        retry = settings[name]["properties"]["retry"]["anyOf"][0]["enum"]
        assert retry == sorted(RETRY_POLICIES)  # one list of schedule names: the retry registry's
