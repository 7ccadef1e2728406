"""PowUnity BikeTrax schemas: webhook, socket_frame and the shared Traccar models (traccar.schema.json).

Fixtures (tests/fixtures/examples/powunity/, a `.note` beside each non-verbatim one):
- webhook__seed001_device_online: the seed 001 deviceOnline example (also provider-facts §2);
- socket_frame__facts_traccar6153_{position,device}: the provider-facts §1.3 Traccar 6.15.3 captures,
  verbatim, each in the frame a 6.x server pushes;
- socket_frame__traccar4x_position: the provider-facts §1.3 4.x position (aiobiketrax socket.json);
- socket_frame__aiobiketrax_socket_json: aiobiketrax contrib/responses/socket.json verbatim (combined frame);
- socket_frame__facts_keepalive / __facts_connect_no_positions: the §1.2 `{}` and `{"positions":[]}`;
- socket_frame__handmade_* and webhook__handmade_*: built from the §1.2 / §1.5 / §2 descriptions.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator.schemagen.engine import generate
from simulator.schemastore import load_schema

from .schema_support import (
    DROP,
    assert_rejected,
    assert_valid,
    errors_of,
    fixture_files,
    fixture_kind,
    load_fixture,
    mutate,
)

PROVIDER = "powunity"
TRACCAR = "powunity/traccar.schema.json"
WEBHOOK = "powunity/webhook.schema.json"
FRAME = "powunity/socket_frame.schema.json"
OUR_FILES = (TRACCAR, WEBHOOK, FRAME)
KINDS = (WEBHOOK, FRAME)

# provider-facts §1.4: Event.TYPE_* (current) plus the legacy textMessage (removed in 6.9).
EVENT_TYPES = sorted([
    "commandResult", "deviceOnline", "deviceUnknown", "deviceOffline", "deviceInactive",
    "queuedCommandSent", "deviceMoving", "deviceStopped", "deviceOverspeed", "deviceFuelDrop",
    "deviceFuelIncrease", "geofenceEnter", "geofenceExit", "geofenceCrossed", "proximityEnter",
    "proximityExit", "unaccompaniedMotion", "alarm", "ignitionOn", "ignitionOff", "maintenance",
    "driverChanged", "media", "textMessage",
])
# provider-facts §1.4: Position.ALARM_*, plus `shock`, which 4.12 and PowUnity had (provider-facts §9).
ALARMS = sorted([
    "general", "sos", "vibration", "movement", "lowspeed", "overspeed", "fallDown", "lowPower",
    "lowBattery", "fault", "powerOff", "powerOn", "door", "lock", "unlock", "geofence", "geofenceEnter",
    "geofenceExit", "gpsAntennaCut", "accident", "tow", "idle", "highRpm", "hardAcceleration",
    "hardBraking", "hardCornering", "laneChange", "fatigueDriving", "powerCut", "powerRestored", "jamming",
    "temperature", "parking", "shock", "bonnet", "footBrake", "fuelLeak", "tampering", "removing",
])


def _fixture_stems() -> list[str]:
    return [path.stem for path in fixture_files(PROVIDER)]


def _schema_for(stem: str) -> str:
    return f"{PROVIDER}/{stem.split('__', 1)[0]}.schema.json"


# ---------------------------------------------------------------- the schema files themselves

def test_generated_webhooks_use_the_traccar_4x_shapes() -> None:
    for seed in range(60):
        doc = generate(WEBHOOK, random.Random(seed)).value
        assert "serverTime" in doc["event"] and "eventTime" not in doc["event"]
        assert "geofenceIds" in doc["device"] and "calendarId" not in doc["device"]
        if "position" in doc:
            assert doc["position"]["type"] is None and "outdated" in doc["position"]
            assert "geofenceIds" not in doc["position"]


def test_enumerations_match_provider_facts() -> None:
    defs = load_schema(TRACCAR)["$defs"]
    assert sorted(defs["EventType"]["enum"]) == EVENT_TYPES
    assert sorted(defs["Alarm"]["enum"]) == ALARMS
    assert load_schema(TRACCAR)["$defs"]["Device"]["properties"]["status"]["enum"] == ["online", "offline", "unknown"]


def test_traccar_description_states_that_newer_servers_are_accepted() -> None:
    description = load_schema(TRACCAR)["description"]
    assert "6.15.3" in description and "4.x" in description


# ---------------------------------------------------------------- fixtures

def test_fixtures_cover_every_kind_and_the_captures() -> None:
    stems = _fixture_stems()
    assert {fixture_kind(path) for path in fixture_files(PROVIDER)} == {"webhook", "socket_frame"}
    for required in ("webhook__seed001_device_online", "socket_frame__facts_traccar6153_position",
                     "socket_frame__facts_traccar6153_device", "socket_frame__traccar4x_position",
                     "socket_frame__facts_keepalive", "socket_frame__facts_connect_no_positions"):
        assert required in stems


def test_seed_example_lacks_later_fields_and_still_validates() -> None:
    doc = load_fixture(PROVIDER, "webhook__seed001_device_online")
    assert "position" not in doc
    assert not {"calendarId", "phone", "model", "contact", "category", "expirationTime"} & doc["device"].keys()
    assert "serverTime" in doc["event"] and "eventTime" not in doc["event"]
    assert_valid(WEBHOOK, doc)


def test_traccar_6_shapes_are_accepted() -> None:
    position = load_fixture(PROVIDER, "socket_frame__facts_traccar6153_position")["positions"][0]
    device = load_fixture(PROVIDER, "socket_frame__facts_traccar6153_device")["devices"][0]
    assert "type" not in position and "outdated" not in position and "geofenceIds" in position
    assert "geofenceIds" not in device and "calendarId" in device
    seed = load_fixture(PROVIDER, "webhook__handmade_alarm_power_cut")
    assert_valid(WEBHOOK, {**seed, "position": {**position, "deviceId": 1}, "device": device})


def test_pre_2020_jackson_offset_is_accepted() -> None:
    doc = load_fixture(PROVIDER, "webhook__seed001_device_online")
    doc["event"]["serverTime"] = "2019-01-06T11:39:41.279+0000"
    doc["device"]["lastUpdate"] = "2019-01-06T11:39:41.279+0000"
    assert_valid(WEBHOOK, doc)


def test_nullable_fields_accept_null() -> None:
    doc = load_fixture(PROVIDER, "webhook__handmade_alarm_power_cut")
    doc["device"]["lastUpdate"] = None
    doc["device"]["geofenceIds"] = None
    doc["position"]["address"] = "Stephansplatz 1, Wien"
    doc["position"]["network"] = {"radioType": "gsm", "considerIp": False}
    assert_valid(WEBHOOK, doc)


def test_position_alarm_attribute_takes_comma_separated_alarms() -> None:
    doc = load_fixture(PROVIDER, "webhook__handmade_alarm_power_cut")
    doc["position"]["attributes"]["alarm"] = "sos,powerCut"
    assert_valid(WEBHOOK, doc)


@pytest.mark.parametrize("alarm", ALARMS)
def test_every_alarm_value_is_accepted_on_events_and_positions(alarm: str) -> None:
    doc = load_fixture(PROVIDER, "webhook__handmade_alarm_power_cut")
    doc["event"]["attributes"]["alarm"] = alarm
    doc["position"]["attributes"]["alarm"] = alarm
    assert_valid(WEBHOOK, doc)


def test_every_event_type_is_accepted() -> None:
    extras: dict[str, dict[str, Any]] = {
        "alarm": {"alarm": "sos"}, "deviceOverspeed": {"speed": 40.5, "speedLimit": 27.0},
        "commandResult": {"result": "OK"},
    }
    for event_type in EVENT_TYPES:
        doc = load_fixture(PROVIDER, "webhook__seed001_device_online")
        doc["event"]["type"] = event_type
        doc["event"]["attributes"] = extras.get(event_type, {})
        assert_valid(WEBHOOK, doc)


def test_type_specific_event_attributes_are_required() -> None:
    for event_type, missing in (("alarm", "alarm"), ("deviceOverspeed", "speedLimit"), ("commandResult", "result")):
        doc = load_fixture(PROVIDER, "webhook__seed001_device_online")
        doc["event"]["type"] = event_type
        assert errors_of(WEBHOOK, doc), f"{event_type} event accepted without attribute {missing!r}"


def test_combined_frame_and_empty_positions_frame() -> None:
    assert_valid(FRAME, load_fixture(PROVIDER, "socket_frame__aiobiketrax_socket_json"))
    assert_valid(FRAME, {"positions": []})
    assert_valid(FRAME, {})


# ---------------------------------------------------------------- broken variants point at the broken field

REJECTIONS = [
    # (fixture stem, member path, new value or DROP, expected error path, text in the expectation)
    ("webhook__seed001_device_online", ("event", "type"), DROP, "/event", "required property 'type'"),
    ("webhook__seed001_device_online", ("event", "type"), "teleported", "/event/type", "one of"),
    ("webhook__seed001_device_online", ("event", "serverTime"), DROP, "/event", "serverTime"),
    ("webhook__seed001_device_online", ("event", "serverTime"), "2021-01-01T00:00:00Z", "/event/serverTime",
     "pattern"),
    ("webhook__seed001_device_online", ("event", "id"), "1", "/event/id", "type integer"),
    ("webhook__seed001_device_online", ("device", "uniqueId"), DROP, "/device", "required property 'uniqueId'"),
    ("webhook__seed001_device_online", ("device", "status"), "sleeping", "/device/status", "one of"),
    ("webhook__seed001_device_online", ("device", "lastUpdate"), "2021-01-01 00:00:00", "/device/lastUpdate",
     "pattern"),
    ("webhook__seed001_device_online", ("device", "disabled"), "false", "/device/disabled", "type boolean"),
    ("webhook__seed001_device_online", ("device",), DROP, "", "required property 'device'"),
    ("webhook__seed001_device_online", ("X-PowTxn",), "abc", "", "no properties beyond"),
    ("webhook__handmade_alarm_power_cut", ("position", "latitude"), 91, "/position/latitude", "maximum 90"),
    ("webhook__handmade_alarm_power_cut", ("position", "longitude"), -180.5, "/position/longitude",
     "minimum -180"),
    ("webhook__handmade_alarm_power_cut", ("position", "course"), 361.0, "/position/course", "maximum 360"),
    ("webhook__handmade_alarm_power_cut", ("position", "speed"), -1.0, "/position/speed", "minimum 0"),
    ("webhook__handmade_alarm_power_cut", ("position", "type"), "h02", "/position/type", "type null"),
    ("webhook__handmade_alarm_power_cut", ("position", "fixTime"), DROP, "/position",
     "required property 'fixTime'"),
    ("webhook__handmade_alarm_power_cut", ("position", "attributes", "alarm"), "sos,teleport",
     "/position/attributes/alarm", "pattern"),
    ("webhook__handmade_alarm_power_cut", ("event", "attributes", "alarm"), "sos,powerCut",
     "/event/attributes/alarm", "one of"),
    ("webhook__handmade_alarm_power_cut", ("position", "attributes", "batteryLevel"), 101,
     "/position/attributes/batteryLevel", "maximum 100"),
    ("webhook__handmade_geofence_enter", ("geofence", "area"), "somewhere", "/geofence/area", "pattern"),
    ("socket_frame__facts_keepalive", ("foo",), [], "", "no properties beyond"),
    ("socket_frame__facts_connect_no_positions", ("foo",), [], "", "no properties beyond"),
    ("socket_frame__traccar4x_position", ("positions", 0, "latitude"), 91, "/positions/0/latitude", "maximum 90"),
    ("socket_frame__facts_traccar6153_position", ("positions", 0, "latitude"), 91, "/positions/0/latitude",
     "maximum 90"),
    ("socket_frame__aiobiketrax_socket_json", ("positions", 0, "latitude"), 91, "/positions/0/latitude",
     "maximum 90"),
    ("socket_frame__facts_traccar6153_device", ("devices", 0, "uniqueId"), DROP, "/devices/0",
     "required property 'uniqueId'"),
    ("socket_frame__facts_traccar6153_device", ("devices", 0, "status"), "sleeping", "/devices/0/status",
     "one of"),
    ("socket_frame__facts_traccar6153_device", ("devices",), [], "/devices", "minItems"),
    ("socket_frame__facts_traccar412_event_ignition_on", ("events", 0, "type"), "teleported", "/events/0/type",
     "one of"),
    ("socket_frame__handmade_traccar6_event_ignition_on", ("events", 0, "type"), "teleported", "/events/0/type",
     "one of"),
    ("socket_frame__handmade_logs", ("logs", 0, "data"), "*HQ,865", "/logs/0/data", "pattern"),
]


def test_a_genuine_4_12_event_frame_validates_and_versions_never_mix() -> None:
    # provider-facts §1.3 / §9: 4.12 writes serverTime, geofenceId and maintenanceId, and no attributes.message
    genuine = load_fixture(PROVIDER, "socket_frame__facts_traccar412_event_ignition_on")
    assert_valid(FRAME, genuine)
    newer = load_fixture(PROVIDER, "socket_frame__handmade_traccar6_event_ignition_on")
    assert_valid(FRAME, newer)
    event, new_event = genuine["events"][0], newer["events"][0]
    mixes = [
        {**event, "attributes": {"message": "Bike 1 ignition ON at 2025-01-15 10:00:00"}},  # 5.1+ text on 4.12
        {**event, "eventTime": event["serverTime"]},  # both names of the time
        {k: v for k, v in event.items() if k != "serverTime"},  # no time at all
        {**new_event, "serverTime": new_event["eventTime"]},
    ]
    for mixed in mixes:
        assert errors_of(FRAME, {"events": [mixed]}), mixed
    webhook = load_fixture(PROVIDER, "webhook__seed001_device_online")
    time = webhook["event"].pop("serverTime")
    assert_valid(WEBHOOK, {**webhook, "event": {**webhook["event"], "eventTime": time}})  # a 6.x webhook


@pytest.mark.parametrize(("stem", "member", "value", "path", "expected"), REJECTIONS,
                         ids=[f"{r[0].split('__')[0]}:{'/'.join(map(str, r[1]))}={r[2]!r}"[:80]
                              if r[2] is not DROP else f"{r[0].split('__')[0]}:drop {'/'.join(map(str, r[1]))}"
                              for r in REJECTIONS])
def test_broken_variant_is_rejected_at_the_broken_field(
    stem: str, member: tuple[str | int, ...], value: Any, path: str, expected: str
) -> None:
    doc = mutate(load_fixture(PROVIDER, stem), member, value)
    assert_rejected(_schema_for(stem), doc, path, expected)


def test_frames_with_unknown_keys_are_rejected() -> None:
    frames: list[dict[str, Any]] = [{"foo": []}, {"positions": [], "foo": []}, {"logs": True},
                                    {"devices": [], "ping": 1}]
    for frame in frames:
        assert errors_of(FRAME, frame), frame
    assert_rejected(FRAME, {"foo": []}, "", "no properties beyond")


def test_single_key_frames_carry_one_device_or_event() -> None:
    device = load_fixture(PROVIDER, "socket_frame__facts_traccar6153_device")["devices"][0]
    assert errors_of(FRAME, {"devices": [device, device]})
