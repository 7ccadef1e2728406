"""schemas/drivers_api: the drivers control API responses (seed 002)."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.schemastore import load_schema

from .schema_support import (
    DROP,
    assert_rejected,
    assert_valid,
    fixture_files,
    fixture_kind,
    load_fixture,
    mutate,
    provider_kinds,
    provider_schema_files,
)

PROVIDER = "drivers_api"
KINDS = {"list", "names", "show", "settings", "send_test_event", "error"}
SCHEMAS = provider_schema_files(PROVIDER)
FIXTURES = fixture_files(PROVIDER)


def rel(kind: str) -> str:
    return f"{PROVIDER}/{kind}.schema.json"


def test_every_kind_has_a_schema_and_a_fixture() -> None:
    assert set(provider_kinds(PROVIDER)) == KINDS
    assert "drivers_api/common.schema.json" in SCHEMAS
    assert {fixture_kind(p) for p in FIXTURES} == KINDS


def test_driver_object_is_shared_through_common() -> None:
    assert "Driver" in load_schema(rel("common"))["$defs"]
    ref = "common.schema.json#/$defs/Driver"
    assert load_schema(rel("list"))["properties"]["data"]["items"] == {"$ref": ref}
    assert load_schema(rel("show"))["properties"]["data"] == {"$ref": ref}


ACCEPTED: list[tuple[str, str, tuple[str | int, ...], Any]] = [
    ("list", "list__seed", ("data",), []),
    ("list", "list__seed", ("meta", "from"), None),
    ("list", "list__seed", ("links", "next"), "https://api.integracoesinteligentes.com/drivers?page=2"),
    ("list", "list__seed", ("data", 0, "type"), "polling"),
    ("list", "list__seed", ("data", 0, "status"), "deprecated"),
    ("list", "list__seed", ("data", 0, "available_settings", "token"), {"required": True, "type": "string"}),
    ("show", "show__seed", ("data", "supported_events"), []),
    ("settings", "settings__seed_get", ("data", "oauth_settings"), DROP),
    ("settings", "settings__seed_get", ("data", "oauth_settings", "custom_oauth"),
     {"client_id": "custom-client-id", "client_secret": "custom-client-secret"}),
    ("settings", "settings__seed_put", ("data", "custom_oauth_enabled_at"), "2024-01-15T10:00:00.000000Z"),
    ("send_test_event", "send_test_event__seed_ok", ("data", "checks", "gzip", "message"), None),
    ("error", "error__seed_not_found", ("error",), "Unauthenticated."),
]


@pytest.mark.parametrize(("kind", "stem", "path", "value"), ACCEPTED, ids=lambda v: str(v))
def test_accepts_variants(kind: str, stem: str, path: tuple[str | int, ...], value: Any) -> None:
    assert_valid(rel(kind), mutate(load_fixture(PROVIDER, stem), path, value))


REJECTED: list[tuple[str, str, tuple[str | int, ...], Any, str, str]] = [
    # missing required fields
    ("list", "list__seed", ("meta",), DROP, "", "'meta'"),
    ("list", "list__seed", ("data", 1, "slug"), DROP, "/data/1", "'slug'"),
    ("list", "list__seed", ("meta", "total"), DROP, "/meta", "'total'"),
    ("names", "names__seed", ("data", 0, "slug"), DROP, "/data/0", "'slug'"),
    ("show", "show__seed", ("data", "enabled_at"), DROP, "/data", "'enabled_at'"),
    ("settings", "settings__seed_get", ("data", "driver", "id"), DROP, "/data/driver", "'id'"),
    ("send_test_event", "send_test_event__seed_ok", ("data", "checks", "timeout"), DROP, "/data/checks",
     "'timeout'"),
    ("send_test_event", "send_test_event__seed_invalid_url", ("data", "checks", "gzip", "message"), DROP,
     "/data/checks/gzip", "'message'"),
    ("error", "error__seed_not_found", ("error",), DROP, "", "'error'"),
    # wrong types
    ("list", "list__seed", ("data", 0, "enabled"), "false", "/data/0/enabled", "type"),
    ("list", "list__seed", ("links", "prev"), 0, "/links/prev", "type"),
    ("list", "list__seed", ("data", 0, "supported_events"), "order.paid", "/data/0/supported_events", "type"),
    ("show", "show__seed", ("data", "available_settings"), [], "/data/available_settings", "type"),
    ("settings", "settings__seed_get", ("data", "custom_oauth_can_be_edited"), "yes",
     "/data/custom_oauth_can_be_edited", "type"),
    ("send_test_event", "send_test_event__seed_ok", ("data", "success"), 1, "/data/success", "type"),
    ("error", "error__seed_not_found", ("error",), 404, "/error", "type"),
    # unknown enum values, malformed values, out of range
    ("list", "list__seed", ("data", 1, "type"), "ftp", "/data/1/type", "one of"),
    ("list", "list__seed", ("data", 0, "id"), "01KE7RHNT6FHB6TSBBHCDPEPYA", "/data/0/id", "pattern"),
    ("list", "list__seed", ("data", 0, "created_at"), "2024-01-01 00:00:00", "/data/0/created_at", ""),
    ("list", "list__seed", ("data", 1, "available_settings", "custom_oauth_enabled", "type"), "bool",
     "/data/1/available_settings/custom_oauth_enabled/type", "one of"),
    ("list", "list__seed", ("meta", "per_page"), 101, "/meta/per_page", "maximum 100"),
    ("list", "list__seed", ("meta", "current_page"), 0, "/meta/current_page", "minimum 1"),
    ("names", "names__seed", ("data", 0, "slug"), "Bling", "/data/0/slug", "pattern"),
    ("settings", "settings__seed_get", ("data", "oauth_settings", "custom_oauth"), {"client_id": "x"},
     "/data/oauth_settings/custom_oauth", ""),
    ("settings", "settings__seed_get", ("data", "oauth_settings", "custom_oauth"), ["x"],
     "/data/oauth_settings/custom_oauth", ""),
    ("send_test_event", "send_test_event__seed_ok", ("data", "checks", "gzip", "result"), "passed",
     "/data/checks/gzip/result", "one of"),
    # undocumented members
    ("show", "show__seed", ("data", "tenant_id"), "t1", "/data", "no properties beyond"),
    ("error", "error__seed_not_found", ("message",), "Not found", "", "no properties beyond"),
]


@pytest.mark.parametrize(("kind", "stem", "path", "value", "error_path", "expected"), REJECTED,
                         ids=lambda v: str(v))
def test_rejects_broken_variant(kind: str, stem: str, path: tuple[str | int, ...], value: Any,
                                error_path: str, expected: str) -> None:
    assert_rejected(rel(kind), mutate(load_fixture(PROVIDER, stem), path, value), error_path, expected)
