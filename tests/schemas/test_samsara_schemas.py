"""Samsara schemas: alert_v1 (Webhooks 1.0 alert), ping (1.0 Test button) and event_v2 (Webhooks 2.0).

Fixtures (tests/fixtures/examples/samsara/):
- alert_v1__seed004_*: the five example payloads of seed 004 (geofence, vehicle battery, speed, route stop
  ETA, temperature), re-indented, values unchanged;
- event_v2__facts_alert_incident_vector: provider-facts §3.2 350-byte AlertIncident body, byte-exact;
- event_v2__*_doc*: the developers.samsara.com event pages' own examples (GatewayUnplugged, SpeedingEventStarted,
  SevereSpeedingStarted, GeofenceExit in two page versions, EngineFaultOn in two, DriverCreated, AddressCreated,
  AlertIncident with `incidentUrl: "cloud.samsara.com"`, and the docs mirror's AlertIncident); `.note` files say
  what was completed;
- ping__webhook_reference: the webhook reference's Ping example, `"event": {"text": "Ping"}`.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.schemastore import load_schema

from .schema_support import (
    DROP,
    FIXTURES_ROOT,
    assert_rejected,
    assert_valid,
    errors_of,
    fixture_files,
    fixture_kind,
    load_fixture,
    mutate,
)

PROVIDER = "samsara"
ALERT = "samsara/alert_v1.schema.json"
PING = "samsara/ping.schema.json"
V2 = "samsara/event_v2.schema.json"
OUR_FILES = (ALERT, PING, V2)

# Every condition id of the seed 004 alert condition table, in table order.
SEED004_CONDITION_IDS = [
    "BatteryLow", "TemperatureBelow", "TemperatureAbove", "HumidityBelow", "HumidityAbove",
    "DeviceDisconnect", "DeviceUnplugged", "DeviceLocationInsideGeofence", "DeviceLocationOutsideGeofence",
    "DeviceSpeedAbove", "DeviceSpeedAboveSpeedLimit", "VehicleHasFault", "EngineIdle", "BatteryVoltageBelow",
    "DeviceMovement", "DoorActivated", "DashcamDisconnected", "DispatchRouteETAThreshold",
    "ReeferHasNewAlarm", "ReeferTemperatureAboveSetPoint", "ReeferTemperatureBelowSetPoint", "HarshEvent",
    "ScheduledMaintenanceDate", "ScheduledMaintenanceEngineHours", "ScheduledMaintenanceOdometer",
    "DriverDocumentSubmitted",
]
# The grouping decided in alert_v1.schema.json: which extra objects satisfy each condition id.
SENSOR_ONLY = {"TemperatureBelow", "TemperatureAbove", "HumidityBelow", "HumidityAbove", "DeviceDisconnect",
               "DoorActivated"}
SENSOR_OR_DEVICE = {"BatteryLow"}
ROUTE_ONLY = {"DispatchRouteETAThreshold"}
DRIVER_ONLY = {"DriverDocumentSubmitted"}
NO_EXTRA = {"ScheduledMaintenanceDate", "ScheduledMaintenanceEngineHours", "ScheduledMaintenanceOdometer"}
DEVICE_OR_DRIVER = set(SEED004_CONDITION_IDS) - SENSOR_ONLY - SENSOR_OR_DEVICE - ROUTE_ONLY - DRIVER_ONLY - NO_EXTRA

# provider-facts §3.3, from the samsara-python SDK enum.
V2_EVENT_TYPES = sorted([
    "AddressCreated", "AddressDeleted", "AddressUpdated", "AlertIncident", "AlertObjectEvent",
    "DocumentSubmitted", "DriverCreated", "DriverUpdated", "DvirSubmitted", "EngineFaultOff",
    "EngineFaultOn", "FormSubmitted", "FormUpdated", "GatewayUnplugged", "GeofenceEntry", "GeofenceExit",
    "IssueCreated", "MissingDvirPastDue", "PredictiveMaintenanceAlert", "RouteStopArrival",
    "RouteStopDeparture", "RouteStopEarlyLateArrival", "RouteStopEtaUpdated", "RouteStopResequence",
    "SevereSpeedingEnded", "SevereSpeedingStarted", "ShipmentTrackingEvent", "SpeedingEventEnded",
    "SpeedingEventStarted", "SuddenFuelLevelDrop", "SuddenFuelLevelRise", "VehicleCreated",
    "VehicleUpdated", "VisualSearchMatch", "WorkOrderCreatedOrChanged",
])

EXTRAS = {
    "device": {"id": 2000, "name": "Truck ABC", "serial": "ABC123", "vin": "1M8GDM9AXKP042788"},
    "driver": {"id": 5000, "name": "Speed Demon"},
    "route": {"id": 6000, "name": "Bread Route"},
    "sensor": {"id": 7000, "name": "Temperature probe", "serial": "ABC123"},
}


def _fixture_stems() -> list[str]:
    return [path.stem for path in fixture_files(PROVIDER)]


# ---------------------------------------------------------------- the schema files themselves

def test_condition_id_enum_is_the_seed_table() -> None:
    enum = load_schema(ALERT)["$defs"]["AlertConditionId"]["enum"]
    assert enum == SEED004_CONDITION_IDS


def test_oneof_branches_partition_the_condition_ids() -> None:
    seen: list[str] = []
    for wrapper in load_schema(ALERT)["$defs"]["AlertEvent"]["oneOf"]:
        (branch,) = wrapper["anyOf"]
        seen += branch["properties"]["alertConditionId"]["enum"]
    assert sorted(seen) == sorted(SEED004_CONDITION_IDS)


def test_v2_event_type_enum_has_the_35_sdk_values() -> None:
    enum = load_schema(V2)["$defs"]["EventType"]["enum"]
    assert len(enum) == 35 and sorted(enum) == V2_EVENT_TYPES


# ---------------------------------------------------------------- fixtures

def test_fixtures_cover_every_kind_and_all_seed_examples() -> None:
    stems = _fixture_stems()
    assert {fixture_kind(path) for path in fixture_files(PROVIDER)} == {"alert_v1", "ping", "event_v2"}
    assert len([s for s in stems if s.startswith("alert_v1__seed004_")]) == 5


def test_v2_vector_fixture_is_the_byte_exact_350_byte_body() -> None:
    raw = (FIXTURES_ROOT / PROVIDER / "event_v2__facts_alert_incident_vector.json").read_bytes()
    assert len(raw) == 350
    assert raw.startswith(b'{"eventId":"017db07f-') and raw.endswith(b'"Panic Button"}]}}')


# ---------------------------------------------------------------- per-condition extras

def _alert_without_extras(condition: str) -> dict[str, Any]:
    doc: dict[str, Any] = load_fixture(PROVIDER, "alert_v1__seed004_speed")
    del doc["event"]["driver"]
    doc["event"]["alertConditionId"] = condition
    return doc


def _accepted_extras(condition: str) -> set[str]:
    for group, extras in ((SENSOR_ONLY, {"sensor"}), (SENSOR_OR_DEVICE, {"sensor", "device"}),
                          (ROUTE_ONLY, {"route"}), (DRIVER_ONLY, {"driver"}),
                          (DEVICE_OR_DRIVER, {"device", "driver"})):
        if condition in group:
            return extras
    return set()


@pytest.mark.parametrize("condition", SEED004_CONDITION_IDS)
def test_condition_requires_its_extra_object(condition: str) -> None:
    accepted = _accepted_extras(condition)
    bare = _alert_without_extras(condition)
    if condition in NO_EXTRA:
        assert_valid(ALERT, bare)
    else:
        assert errors_of(ALERT, bare), f"{condition} accepted without any of {sorted(accepted)}"
    for extra, obj in EXTRAS.items():
        doc = _alert_without_extras(condition)
        doc["event"][extra] = obj
        if extra in accepted or condition in NO_EXTRA:
            assert_valid(ALERT, doc)
        else:
            assert errors_of(ALERT, doc), f"{condition} accepted with only {extra!r}"


def test_speed_alert_with_driver_only_is_valid() -> None:
    doc = load_fixture(PROVIDER, "alert_v1__seed004_speed")
    assert set(doc["event"]) & set(EXTRAS) == {"driver"}
    assert_valid(ALERT, doc)


def test_vin_accepts_the_16_character_seed_value_but_not_18() -> None:
    doc = load_fixture(PROVIDER, "alert_v1__seed004_vehicle_battery")
    assert len(doc["event"]["device"]["vin"]) == 16
    assert_valid(ALERT, doc)
    assert_rejected(ALERT, mutate(doc, ("event", "device", "vin"), "1M8GDM9AXKP0427889"),
                    "/event/device/vin", "pattern")


#: event types whose `data` the schema describes (a developers.samsara.com page, or its documented twin)
V2_DESCRIBED = {
    "AlertIncident", "GatewayUnplugged", "SpeedingEventStarted", "SpeedingEventEnded", "SevereSpeedingStarted",
    "GeofenceEntry", "GeofenceExit", "EngineFaultOn", "EngineFaultOff", "DriverCreated", "DriverUpdated",
    "VehicleCreated", "VehicleUpdated", "AddressCreated", "AddressUpdated",
}


def test_v2_has_one_branch_per_event_type_with_a_const_discriminator() -> None:
    branches = load_schema(V2)["oneOf"]
    consts = [b["properties"]["eventType"]["const"] for b in branches]
    assert consts == V2_EVENT_TYPES
    described = {b["properties"]["eventType"]["const"] for b in branches if "data" in b["properties"]}
    assert described == V2_DESCRIBED
    # an undescribed type validates any data but is never generated
    assert all(b.get("x-weight") == 0 for b in branches if "data" not in b["properties"])


def test_v2_undescribed_event_types_take_any_data_object() -> None:
    doc = load_fixture(PROVIDER, "event_v2__facts_alert_incident_vector")
    for event_type in sorted(set(V2_EVENT_TYPES) - V2_DESCRIBED):
        assert_valid(V2, {**doc, "eventType": event_type, "data": {"id": "281474978683353"}})


@pytest.mark.parametrize("event_type", sorted(V2_DESCRIBED - {"AlertIncident"}))
def test_v2_described_event_types_reject_data_without_their_keys(event_type: str) -> None:
    """Today's renderer wrote GatewayUnplugged with the vehicle beside the gateway and `data: {}` went through;
    a described type now names the member it misses, at /data."""
    doc = load_fixture(PROVIDER, "event_v2__facts_alert_incident_vector")
    errors = errors_of(V2, {**doc, "eventType": event_type, "data": {"id": "281474978683353"}})
    assert errors and {e.path for e in errors} == {"/data"}, [str(e) for e in errors]
    assert all(e.expected.startswith("required property") for e in errors), [str(e) for e in errors]


def test_v2_gateway_unplugged_wants_the_vehicle_inside_the_gateway() -> None:
    doc = load_fixture(PROVIDER, "event_v2__gatewayunplugged_doc")
    old_shape = {"gateway": {"serial": "GFRV-43N-VGX", "model": "VG55"}, "vehicle": doc["data"]["gateway"]["vehicle"],
                 "happenedAtTime": "2026-03-03T10:32:00Z"}
    assert_rejected(V2, {**doc, "data": old_shape}, "/data/gateway/model", "one of")
    assert_valid(V2, doc)


def test_v2_geofence_needs_a_circle_or_a_polygon() -> None:
    doc = load_fixture(PROVIDER, "event_v2__geofenceexit_doc")
    doc["data"]["address"]["geofence"] = {"settings": {}}
    errors = errors_of(V2, doc)
    assert errors and all(e.path.startswith("/data/address/geofence") for e in errors), [str(e) for e in errors]
    circle_only = load_fixture(PROVIDER, "event_v2__geofenceexit_doc")
    del circle_only["data"]["address"]["geofence"]["polygon"]
    assert_valid(V2, circle_only)


def test_v2_alert_incident_url_need_not_be_absolute() -> None:
    doc = load_fixture(PROVIDER, "event_v2__alert_incident_doc")
    assert doc["data"]["incidentUrl"] == "cloud.samsara.com"
    assert_valid(V2, doc)
    assert_rejected(V2, mutate(doc, ("data", "incidentUrl"), ""), "/data/incidentUrl", "minLength")


def test_ping_event_is_the_text_ping() -> None:
    doc = load_fixture(PROVIDER, "ping__webhook_reference")
    assert doc["event"] == {"text": "Ping"}
    assert_valid(PING, doc)
    # the provider-facts §3.2 signature vector's body is a signing vector, not what the Test button sends
    assert_rejected(PING, mutate(doc, ("event",), {}), "/event", "required property 'text'")
    assert_rejected(PING, mutate(doc, ("event", "text"), "Pong"), "/event/text", '"Ping"')


def test_v2_alert_incident_optional_fields() -> None:
    doc = load_fixture(PROVIDER, "event_v2__facts_alert_incident_vector")
    doc["data"].update({
        "resolvedAtTime": "2023-11-14T22:13:24Z",
        "updatedAtTime": "2023-11-14T22:13:24.512Z",
        "incidentUrl": "https://cloud.samsara.com/o/20936/alerts/incidents/v2/1",
        "isResolved": True,
    })
    doc["data"]["conditions"][0]["details"] = {"panicButton": {"vehicle": {"id": "1234", "name": "Van 7"}}}
    assert_valid(V2, doc)


# ---------------------------------------------------------------- broken variants point at the broken field

REJECTIONS = [
    # (fixture stem, member path, new value or DROP, expected error path, text in the expectation)
    ("alert_v1__seed004_speed", ("eventId",), DROP, "", "required property 'eventId'"),
    ("alert_v1__seed004_speed", ("event",), DROP, "", "required property 'event'"),
    ("alert_v1__seed004_speed", ("eventMs",), "1486029722000", "/eventMs", "type integer"),
    ("alert_v1__seed004_speed", ("eventMs",), 1486029722, "/eventMs", "minimum"),
    ("alert_v1__seed004_speed", ("eventId",), "not-a-uuid", "/eventId", "pattern"),
    ("alert_v1__seed004_speed", ("eventType",), "Ping", "/eventType", '"Alert"'),
    ("alert_v1__seed004_speed", ("surprise",), 1, "", "no properties beyond"),
    ("alert_v1__seed004_speed", ("event", "alertConditionId"), "TeleportAlert", "/event/alertConditionId",
     "one of"),
    ("alert_v1__seed004_temperature", ("event", "alertConditionId"), "TeleportAlert",
     "/event/alertConditionId", "one of"),
    ("alert_v1__seed004_speed", ("event", "summary"), DROP, "/event", "required property 'summary'"),
    ("alert_v1__seed004_speed", ("event", "resolved"), True, "/event/resolved", "false"),
    ("alert_v1__seed004_speed", ("event", "orgId"), "4000", "/event/orgId", "type integer"),
    ("alert_v1__seed004_speed", ("event", "driver", "id"), "5000", "/event/driver/id", "type integer"),
    ("alert_v1__seed004_geofence_inside", ("event", "device", "name"), DROP, "/event/device",
     "required property 'name'"),
    ("alert_v1__seed004_route_stop_eta", ("event", "route", "id"), 1.5, "/event/route/id", "type integer"),
    ("alert_v1__seed004_temperature", ("event", "sensor", "serial"), 7, "/event/sensor/serial", "type string"),
    ("alert_v1__seed004_speed", ("event", "alertEventUrl"), "http://cloud.samsara.com/x",
     "/event/alertEventUrl", "pattern"),
    ("ping__webhook_reference", ("event", "x"), 1, "/event", "no properties beyond"),
    ("ping__webhook_reference", ("eventType",), "Alert", "/eventType", '"Ping"'),
    ("ping__webhook_reference", ("eventMs",), "1587597109477", "/eventMs", "type integer"),
    ("ping__webhook_reference", ("eventId",), DROP, "", "required property 'eventId'"),
    ("event_v2__facts_alert_incident_vector", ("eventId",), DROP, "", "required property 'eventId'"),
    ("event_v2__facts_alert_incident_vector", ("eventType",), "Teleported", "/eventType", "one of"),
    ("event_v2__facts_alert_incident_vector", ("eventTime",), "2023-11-14T22:13:20.000", "/eventTime",
     "pattern"),
    ("event_v2__facts_alert_incident_vector", ("webhookId",), 1411751028848270, "/webhookId", "type string"),
    ("event_v2__facts_alert_incident_vector", ("orgId",), "20936", "/orgId", "type integer"),
    ("event_v2__facts_alert_incident_vector", ("data", "configurationId"), DROP, "/data",
     "required property 'configurationId'"),
    ("event_v2__facts_alert_incident_vector", ("data", "isResolved"), "false", "/data/isResolved",
     "type boolean"),
    ("event_v2__facts_alert_incident_vector", ("data", "conditions"), [], "/data/conditions", "minItems"),
    ("event_v2__facts_alert_incident_vector", ("data", "conditions", 0, "triggerId"), "1034",
     "/data/conditions/0/triggerId", "type integer"),
    ("event_v2__facts_alert_incident_vector", ("data", "happenedAtTime"), "2023-11-14 22:13:19",
     "/data/happenedAtTime", "pattern"),
    # a described event type reports from its own branch, at the broken member
    ("event_v2__gatewayunplugged_doc", ("data", "gateway", "serial"), DROP, "/data/gateway",
     "required property 'serial'"),
    ("event_v2__speedingeventstarted_doc", ("data", "severityLevel"), "Extreme", "/data/severityLevel", "one of"),
    ("event_v2__speedingeventstarted_doc", ("data", "startTime"), "2019-06-13 19:08:25", "/data/startTime",
     "pattern"),
    ("event_v2__speedingeventstarted_doc", ("data", "vehicle", "assetType"), "spaceship",
     "/data/vehicle/assetType", "one of"),
    ("event_v2__severespeedingstarted_doc", ("data", "data", "vehicle"), DROP, "/data/data",
     "required property 'vehicle'"),
    ("event_v2__geofenceexit_doc", ("data", "address", "geofence", "circle", "radiusMeters"), 23.5,
     "/data/address/geofence/circle/radiusMeters", "type integer"),
    ("event_v2__geofenceexit_doc", ("data", "vehicle", "gateway", "model"), "VG99",
     "/data/vehicle/gateway/model", "one of"),
    ("event_v2__enginefaulton_doc", ("data", "fault", "j1939", "occurrenceCount"), "1",
     "/data/fault/j1939/occurrenceCount", "type integer"),
    ("event_v2__addresscreated_doc", ("data", "address", "formattedAddress"), DROP, "/data/address",
     "required property 'formattedAddress'"),
    ("event_v2__drivercreated_doc", ("data", "driver", "id"), 45646, "/data/driver/id", "type string"),
]


@pytest.mark.parametrize(("stem", "member", "value", "path", "expected"), REJECTIONS,
                         ids=[f"{r[0].split('__')[0]}:{'/'.join(map(str, r[1]))}={r[2]!r}"[:80]
                              if r[2] is not DROP else f"{r[0].split('__')[0]}:drop {'/'.join(map(str, r[1]))}"
                              for r in REJECTIONS])
def test_broken_variant_is_rejected_at_the_broken_field(
    stem: str, member: tuple[str | int, ...], value: Any, path: str, expected: str
) -> None:
    kind = stem.split("__", 1)[0]
    doc = mutate(load_fixture(PROVIDER, stem), member, value)
    assert_rejected(f"{PROVIDER}/{kind}.schema.json", doc, path, expected)


def test_missing_extra_object_is_rejected() -> None:
    # Only the rejection is asserted: simulator.schemastore reports a failed oneOf through jsonschema's
    # best_match, which cannot tell which condition group was meant (see the alert_v1 description).
    for stem, extra in (("alert_v1__seed004_speed", "driver"), ("alert_v1__seed004_geofence_inside", "device"),
                        ("alert_v1__seed004_route_stop_eta", "route"), ("alert_v1__seed004_temperature", "sensor")):
        doc = mutate(load_fixture(PROVIDER, stem), ("event", extra), DROP)
        errors = errors_of(ALERT, doc)
        assert errors and all(e.path.startswith("/event") for e in errors), (stem, errors)


def test_what_seed_004_leaves_open_is_fleetsims_rule_not_the_vendors() -> None:
    # the condition table is not closed and the grouping of conditions by extra object, the https:// of
    # alertEventUrl, are fleetsim's (provider-facts §3.3): a receiver acknowledges such an alert
    from simulator.schemastore import OWN_BOUND, iter_errors

    doc = load_fixture(PROVIDER, "alert_v1__seed004_geofence_inside")
    doc = mutate(mutate(doc, ("event", "alertConditionId"), "SomeFutureCondition"), ("event", "device"), DROP)
    doc = mutate(doc, ("event", "alertEventUrl"), "cloud.samsara.com/o/1/alerts/2")
    assert list(iter_errors(ALERT, doc, documented=True)) == []
    whole = errors_of(ALERT, doc)
    # each path told once, each labelled as fleetsim's own
    assert sorted(e.path for e in whole) == ["/event/alertConditionId", "/event/alertEventUrl"], whole
    assert all(e.expected.endswith(f"({OWN_BOUND})") for e in whole), whole
    # a known condition without its extra object: the members it wants are named, not the branch schema dumped
    bare = mutate(load_fixture(PROVIDER, "alert_v1__seed004_geofence_inside"), ("event", "device"), DROP)
    (error,) = errors_of(ALERT, bare)
    assert (error.path, error.actual) == ("/event", "none of them")
    assert error.expected == f"at least one of the properties 'device', 'driver' ({OWN_BOUND})"
    # what the vendor does state stays a rule of the documented reading: a non-UUID eventId, `resolved: true`
    stated = mutate(mutate(load_fixture(PROVIDER, "alert_v1__seed004_geofence_inside"), ("eventId",), "x"),
                    ("event", "resolved"), True)
    assert {e.path for e in iter_errors(ALERT, stated, documented=True)} == {"/eventId", "/event/resolved"}
