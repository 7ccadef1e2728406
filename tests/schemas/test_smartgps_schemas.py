"""schemas/smartgps/event.schema.json: the event webhook body (seed 000, provider-facts.md §4)."""

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

PROVIDER = "smartgps"
REL = "smartgps/event.schema.json"
SCHEMAS = provider_schema_files(PROVIDER)
FIXTURES = fixture_files(PROVIDER)

# The 20 event types listed in seed 000 ("Tipos de Eventos SmartGPS"), in seed order.
SEED_EVENT_TYPES = ["SPEEDING", "HARSH_BRAKE", "HARSH_ACCEL", "HARSH_TURN", "GEOFENCE_ENTER", "GEOFENCE_EXIT",
                    "FATIGUE", "DISTRACTION", "SMOKING", "PHONE_USE", "SEAT_BELT", "TAMPER", "POWER_CUT", "SOS",
                    "BLOCKED", "ACCIDENT", "IGNITION_ON", "IGNITION_OFF", "OFFLINE", "DRIVER_CHANGE"]


def sample() -> Any:
    return load_fixture(PROVIDER, "event__seed_speeding")


def test_every_kind_has_a_schema_and_a_fixture() -> None:
    assert provider_kinds(PROVIDER) == ["event"]
    assert {fixture_kind(p) for p in FIXTURES} == {"event"}


def test_event_enum_is_exactly_the_seed_list() -> None:
    schema = load_schema(REL)
    assert schema["properties"]["event"]["enum"] == SEED_EVENT_TYPES
    assert schema["properties"]["severity"]["enum"] == ["INFO", "WARNING", "CRITICAL"]


@pytest.mark.parametrize("event", SEED_EVENT_TYPES)
def test_accepts_every_event_type(event: str) -> None:
    assert_valid(REL, mutate(sample(), ("event",), event))


@pytest.mark.parametrize(("path", "value"), [
    (("plate",), "ABC1D23"),  # Mercosul
    (("plate",), DROP),
    (("speed",), DROP),
    (("limit",), DROP),
    (("speed",), 95.4),
    (("severity",), "CRITICAL"),
    (("severity",), "INFO"),
    (("objectId",), "SGO-TRK-0042"),
    (("timestamp",), "2026-03-03T10:32:00.123Z"),
    (("timestamp",), "2026-03-03T07:32:00-03:00"),
    (("lat",), -90),
    (("lng",), 180),
], ids=lambda v: str(v))
def test_accepts_variants(path: tuple[str, ...], value: Any) -> None:
    assert_valid(REL, mutate(sample(), path, value))


@pytest.mark.parametrize(("path", "value", "error_path", "expected"), [
    # missing required fields
    *[((name,), DROP, "", f"'{name}'") for name in ("event", "severity", "objectId", "lat", "lng", "timestamp")],
    # wrong types
    (("speed",), "95", "/speed", "type"),
    (("limit",), None, "/limit", "type"),
    (("lat",), "-19.9167", "/lat", "type"),
    (("event",), 1, "/event", "type"),
    (("timestamp",), 1772533920, "/timestamp", "type"),
    # out of range
    (("lat",), 91, "/lat", "maximum 90"),
    (("lng",), -181, "/lng", "minimum -180"),
    (("speed",), -5, "/speed", "minimum 0"),
    (("limit",), -1, "/limit", "minimum 0"),
    # unknown enum values and malformed strings
    (("event",), "TELEPORT", "/event", "one of"),
    (("event",), "speeding", "/event", "one of"),
    (("severity",), "MAJOR", "/severity", "one of"),
    (("objectId",), "ABC1234", "/objectId", "pattern"),
    (("plate",), "ABC1234", "/plate", "pattern"),
    (("plate",), "abc-1234", "/plate", "pattern"),
    (("timestamp",), "2026-03-03 10:32:00", "/timestamp", "format"),
    (("timestamp",), "2026-03-03T10:32:00", "/timestamp", "format"),
    # undocumented member (the sample lists exactly nine)
    (("lon",), -43.9333, "", "no properties beyond"),
], ids=lambda v: str(v))
def test_rejects_broken_variant(path: tuple[str, ...], value: Any, error_path: str, expected: str) -> None:
    assert_rejected(REL, mutate(sample(), path, value), error_path, expected)
