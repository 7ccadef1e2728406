"""schemas/mettax: the push envelope and the ten inner data objects (seed 003, provider-facts.md §5)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from simulator.schemastore import load_schema

from .schema_support import (
    DROP,
    assert_rejected,
    assert_valid,
    fixture_files,
    fixture_kind,
    fixture_name,
    load_fixture,
    mutate,
    provider_kinds,
    provider_schema_files,
)

PROVIDER = "mettax"
KINDS = {"envelope", "gps", "device_info", "alarm", "passthrough", "alarm_file", "sensor", "capture_file",
         "face_check_result", "face_check_picture", "rfid"}
SCHEMAS = provider_schema_files(PROVIDER)
FIXTURES = fixture_files(PROVIDER)


def rel(kind: str) -> str:
    return f"{PROVIDER}/{kind}.schema.json"


def seed(kind: str) -> Any:
    return load_fixture(PROVIDER, f"{kind}__seed")


def test_every_kind_has_a_schema_and_a_fixture() -> None:
    assert set(provider_kinds(PROVIDER)) == KINDS
    assert {fixture_kind(p) for p in FIXTURES} == KINDS


@pytest.mark.parametrize("path", [p for p in FIXTURES if fixture_kind(p) == "envelope"], ids=lambda p: p.name)
def test_envelope_fixture_carries_the_seed_object_as_a_string(path: Path) -> None:
    inner_kind = fixture_name(path)
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    assert isinstance(data, str)
    inner = json.loads(data)
    assert inner == seed(inner_kind)
    assert_valid(rel(inner_kind), inner)


def test_alarm_type_enum_and_pattern_list_the_same_codes() -> None:
    alarm_type = load_schema(rel("alarm"))["properties"]["alarmType"]
    enum_branch, pattern_branch = alarm_type["anyOf"]
    head = re.fullmatch(r"\^\(([A-Za-z|]+)\)\(,\(\1\)\)\*\$", pattern_branch["pattern"])
    assert head, pattern_branch["pattern"]
    assert set(head.group(1).split("|")) == set(enum_branch["enum"])
    assert {"laneShift", "rollover", "slow", "rapid", "wheel", "bang", "sos", "powerCut", "parking"} <= set(
        enum_branch["enum"])


# --------------------------------------------------------------------------- accepted variants
ACCEPTED: list[tuple[str, tuple[str | int, ...], Any]] = [
    ("alarm", ("alarmType",), "rollover"),
    ("alarm", ("alarmType",), "laneShift,slow"),
    ("alarm", ("alarmType",), "external,externalProtection,sos"),
    ("alarm", ("speed",), 63.5),
    ("alarm", ("alarmAttribute",), "Depot North"),
    ("alarm", ("vendorExtra",), {"anything": 1}),  # additionalProperties: true
    ("gps", ("actual",), False),
    ("gps", ("course",), 360),
    ("gps", ("lat",), DROP),  # with lon dropped too (see test_gps_lat_and_lon_come_together)
    ("device_info", ("signal",), 99),
    ("device_info", ("localizationFailure",), True),
    ("sensor", ("id",), "105045133913_1924683352005763072"),
    ("face_check_result", ("lat",), 35.926264),
    ("face_check_result", ("lon",), "-113.5"),
    ("face_check_result", ("compaResult",), 6),
    ("face_check_result", ("messageType",), 1),
    ("face_check_picture", ("status",), 0),
    ("face_check_picture", ("status",), "0"),
    ("face_check_picture", ("messageType",), 2),
    ("face_check_picture", ("imageUrl",), DROP),
    ("rfid", ("status",), 2),
    ("rfid", ("lat",), -32.353134),
    ("rfid", ("lon",), "180"),
]


@pytest.mark.parametrize(("kind", "path", "value"), ACCEPTED, ids=lambda v: str(v))
def test_accepts_documented_and_quirk_variants(kind: str, path: tuple[str | int, ...], value: Any) -> None:
    doc = mutate(seed(kind), path, value)
    if (kind, path, value) == ("gps", ("lat",), DROP):
        doc = mutate(doc, ("lon",), DROP)
    assert_valid(rel(kind), doc)


def test_gps_lat_and_lon_come_together() -> None:
    """Both are optional in the seed's table (a fix-less packet), but a position has both or neither."""
    for dropped, kept in (("lat", "lon"), ("lon", "lat")):
        assert_rejected(rel("gps"), mutate(seed("gps"), (dropped,), DROP), "",
                        f"required property {dropped!r} (it comes with {kept!r})")


# --------------------------------------------------------------------------- rejected variants
# (kind, member, new value or DROP, error path, fragment of the expected text)
REJECTED: list[tuple[str, tuple[str | int, ...], Any, str, str]] = [
    # missing required fields
    ("gps", ("num",), DROP, "", "'num'"),
    ("gps", ("deviceCt",), DROP, "", "'deviceCt'"),
    ("alarm", ("alarmId",), DROP, "", "'alarmId'"),
    ("alarm", ("lat",), DROP, "", "'lat'"),
    ("device_info", ("id",), DROP, "", "'id'"),
    ("passthrough", ("message",), DROP, "", "'message'"),
    ("alarm_file", ("fileType",), DROP, "", "'fileType'"),
    ("sensor", ("adc",), DROP, "", "'adc'"),
    ("capture_file", ("fileUrl",), DROP, "", "'fileUrl'"),
    ("face_check_result", ("similarity",), DROP, "", "'similarity'"),
    ("face_check_result", ("messageType",), DROP, "", "'messageType'"),
    ("face_check_picture", ("status",), DROP, "", "'status'"),
    ("rfid", ("status",), DROP, "", "'status'"),
    # wrong types
    ("gps", ("num",), "9", "/num", "type"),
    ("gps", ("actual",), "true", "/actual", "type"),
    ("gps", ("deviceId",), 105045133913, "/deviceId", "type"),
    ("gps", ("reportCt",), "1724822445", "/reportCt", "type"),
    ("gps", ("course",), 154.5, "/course", "type"),
    ("alarm", ("lat",), "24.067906", "/lat", "type"),
    ("device_info", ("acc",), "1", "/acc", "type"),
    ("passthrough", ("message",), {"com1": "f5", "com2": "ff"}, "/message", "type"),
    ("capture_file", ("channelId",), "1", "/channelId", "type"),
    ("face_check_result", ("lat",), True, "/lat", "type"),
    ("face_check_result", ("similarity",), "7577", "/similarity", "type"),
    ("rfid", ("status",), "1", "/status", "one of"),
    # out of range / latitude 91
    ("gps", ("lat",), 91, "/lat", "maximum 90"),
    ("gps", ("lon",), -180.5, "/lon", "minimum -180"),
    ("gps", ("speed",), -1, "/speed", "minimum 0"),
    ("gps", ("course",), 361, "/course", "maximum 360"),
    ("gps", ("num",), 61, "/num", "maximum 60"),
    ("gps", ("reportCt",), 1724822445000, "/reportCt", "maximum"),
    ("alarm", ("lat",), 91, "/lat", "maximum 90"),
    ("device_info", ("signal",), 100, "/signal", "maximum 99"),
    ("face_check_result", ("lat",), "91", "/lat", "pattern"),
    ("face_check_result", ("lat",), 91, "/lat", "maximum 90"),
    ("face_check_result", ("lon",), "181.0", "/lon", "pattern"),
    ("face_check_result", ("compaResult",), "7", "/compaResult", "pattern"),
    ("face_check_result", ("similarity",), 10001, "/similarity", "maximum 10000"),
    ("rfid", ("lat",), "91.0", "/lat", "pattern"),
    ("rfid", ("lat",), 91, "/lat", "maximum 90"),
    # unknown enum values / codes / malformed ids
    ("alarm", ("alarmType",), "fooBar", "/alarmType", ""),
    ("alarm", ("alarmType",), "laneShift,fooBar", "/alarmType", ""),
    ("alarm", ("alarmType",), "laneShift,", "/alarmType", ""),
    ("alarm_file", ("fileType",), "09", "/fileType", "one of"),
    ("alarm_file", ("fileType",), 0, "/fileType", "one of"),
    ("alarm_file", ("id",), "105045133913_1924683352005763072", "/id", "pattern"),
    ("device_info", ("blockedStatus",), 2, "/blockedStatus", "one of"),
    ("face_check_result", ("messageType",), "2", "/messageType", "one of"),
    ("face_check_picture", ("messageType",), "1", "/messageType", "one of"),
    ("face_check_picture", ("status",), "2", "/status", "pattern"),
    ("rfid", ("status",), 3, "/status", "one of"),
    ("gps", ("id",), "105045133913-1234567893043003392", "/id", "pattern"),
    ("gps", ("deviceId",), "10504513391A", "/deviceId", "pattern"),
    ("alarm_file", ("fileUrl",), "ftp://files.imettax.com/a.jpg", "/fileUrl", "pattern"),
]


@pytest.mark.parametrize(("kind", "path", "value", "error_path", "expected"), REJECTED,
                         ids=lambda v: str(v))
def test_rejects_broken_variant(kind: str, path: tuple[str | int, ...], value: Any, error_path: str,
                                expected: str) -> None:
    assert_rejected(rel(kind), mutate(seed(kind), path, value), error_path, expected)


# --------------------------------------------------------------------------- envelope
def envelope(kind: str = "gps") -> Any:
    return load_fixture(PROVIDER, f"envelope__{kind}")


def test_envelope_rejects_data_as_object() -> None:
    doc = envelope()
    doc["data"] = json.loads(doc["data"])
    assert_rejected(rel("envelope"), doc, "/data", "type string")


@pytest.mark.parametrize(("doc", "error_path", "expected"), [
    ({}, "", "'data'"),
    ({"data": 7}, "/data", "type string"),
    ({"data": "not json"}, "/data", "a JSON object inside the string"),
    ({"data": "[1, 2]"}, "/data", "a JSON object inside the string"),
    ({"data": "{}", "extra": 1}, "", "no properties beyond"),
])
def test_envelope_rejects_malformed_body(doc: Any, error_path: str, expected: str) -> None:
    assert_rejected(rel("envelope"), doc, error_path, expected)


def test_envelope_data_is_marked_as_json_content() -> None:
    data = load_schema(rel("envelope"))["properties"]["data"]
    assert data["type"] == "string" and data["contentMediaType"] == "application/json"
    Draft202012Validator.check_schema(load_schema(rel("envelope")))
