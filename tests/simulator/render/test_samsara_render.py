"""Samsara renderer: alerts only, 1.0 and 2.0 payloads that validate, start before send, stable ids."""

from __future__ import annotations

import dataclasses
import random
import time
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from simulator.providers import PROVIDERS
from simulator.providers.samsara.render import SamsaraRenderer, samsara_renderer
from simulator.render.base import Message
from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Geofence, LatLon
from simulator.stream import scenario_messages
from simulator.validation import validate
from simulator.world.events import KINDS, Fix, WorldEvent
from simulator.world.fleet import Device, Driver, make_device, make_driver

T0 = 1_772_533_920.6  # 2026-03-03T10:32:00.6Z
#: the scenario geofence the geofence events cross (a circle away from the vehicle's own position)
DEPOT = Geofence("Depot Norte", "circle", LatLon(-19.9032, -43.9521), 800.0)

#: (kind, attrs, 1.0 alertConditionId or None, 2.0 eventType or None) for every world event kind
EVENTS: list[tuple[str, dict[str, Any], str | None, str | None]] = [
    ("position", {}, None, None),
    ("status", {}, None, None),
    ("ignition_on", {}, None, None),
    ("ignition_off", {}, None, None),
    ("moving", {}, None, None),  # DeviceMovement only with movement_alerts
    ("stopped", {}, None, None),
    ("speeding_start", {"limit_kmh": 80.0, "speed_kmh": 95.3}, None, "SpeedingEventStarted"),
    ("speeding_end", {"limit_kmh": 80.0, "max_kmh": 98.0, "duration_s": 150.0}, "DeviceSpeedAboveSpeedLimit",
     "SpeedingEventEnded"),
    ("harsh_brake", {"g": 0.52}, "HarshEvent", "AlertIncident"),
    ("harsh_accel", {"g": 0.41}, "HarshEvent", "AlertIncident"),
    ("harsh_turn", {"g": 0.47}, "HarshEvent", "AlertIncident"),
    ("collision", {"g": 3.1}, "HarshEvent", "AlertIncident"),
    ("geofence_enter", {"geofence": "Depot Norte", "geofence_id": 1, "fence": DEPOT}, "DeviceLocationInsideGeofence",
     "GeofenceEntry"),
    ("geofence_exit", {"geofence": "Depot Norte", "geofence_id": 1, "fence": DEPOT}, "DeviceLocationOutsideGeofence",
     "GeofenceExit"),
    ("idling", {"duration_s": 720.0}, "EngineIdle", "AlertIncident"),
    ("fatigue", {"driving_s": 14_400.0}, None, None),
    ("rfid", {"status": "enter", "card": "7C3F88A9", "matched": True}, None, None),
    ("face_check", {"matched": True, "similarity": 8712, "result": 0, "face_id": "15"}, None, None),
    ("driver_change", {"previous": "Ana Souza"}, None, None),
    ("dms", {"behavior": "phone"}, None, None),
    ("adas", {"behavior": "lane_departure"}, None, None),
    ("sos", {}, None, "AlertIncident"),
    ("tamper", {}, "DeviceUnplugged", "GatewayUnplugged"),
    ("power_cut", {}, "DeviceUnplugged", "GatewayUnplugged"),
    ("power_restored", {}, None, None),
    ("block", {}, None, None),
    ("unblock", {}, None, None),
    ("offline", {}, None, None),
    ("online", {"gap_s": 1800.0}, None, None),
    ("sensor", {"temp_c": -18.5}, None, None),
    ("temperature", {"temp_c": -9.0, "setpoint_c": -18.0, "threshold_c": -15.0, "direction": "above",
                     "duration_s": 900.0}, "TemperatureAbove", "AlertIncident"),
    ("temperature", {"temp_c": -25.0, "setpoint_c": -18.0, "threshold_c": -21.0, "direction": "below",
                     "duration_s": 600.0}, "TemperatureBelow", "AlertIncident"),
    ("armed", {}, None, None),
    ("disarmed", {}, None, None),
    ("movement_alarm", {}, None, None),
    ("low_battery", {"battery_pct": 12}, "BatteryVoltageBelow", "AlertIncident"),
]


def test_every_world_kind_is_covered() -> None:
    assert {kind for kind, *_ in EVENTS} == KINDS


def make_truck(seed: int = 7, number: int = 3) -> Device:
    return make_device(
        random.Random(seed), group="trucks", index=number, number=number, provider="samsara", profile="truck",
        features=frozenset({"reefer"}), tz_offset_s=-3 * 3600,
    )


def make_fix(t: float = T0, **over: Any) -> Fix:
    values: dict[str, Any] = dict(
        t=t, lat=-19.9167, lon=-43.9345, speed_kmh=72.0, course=90, altitude_m=850.0, satellites=11, hdop=0.8,
        valid=True, ignition=True, moving=True, odometer_m=123_456.0, gsm_signal=22, ext_voltage=27.6,
        battery_pct=90, limit_kmh=80.0,
    )
    values.update(over)
    return Fix(**values)


def make_event(
    kind: str, device: Device, attrs: dict[str, Any] | None = None, *, t: float = T0, seq: int = 1,
    driver: Driver | None = None, lag: float = 1.2,
) -> WorldEvent:
    return WorldEvent(kind, device, make_fix(t), t + lag, seq, driver=driver, attrs=dict(attrs or {}))


def render_all(settings: dict[str, Any], seed: int = 11) -> list[tuple[str, list[Message]]]:
    device = make_truck()
    driver = make_driver(random.Random(5), 1)
    renderer = samsara_renderer(device, settings, random.Random(seed))
    return [
        (kind, renderer.render(make_event(kind, device, attrs, t=T0 + 60 * i, seq=i, driver=driver)))
        for i, (kind, attrs, _, _) in enumerate(EVENTS)
    ]


def parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_registered() -> None:
    # the provider hands out its own renderer: the stream asks the provider, never a table keyed by name
    assert isinstance(PROVIDERS["samsara"].renderer(make_truck(), {}, random.Random(1)), SamsaraRenderer)
    assert isinstance(samsara_renderer(make_truck(), {}, random.Random(1)), SamsaraRenderer)


@pytest.mark.parametrize("version", [1, 2])
def test_every_payload_validates(version: int) -> None:
    provider = PROVIDERS["samsara"]
    kind = "alert_v1" if version == 1 else "event_v2"
    count = 0
    for _, messages in render_all({"payload_version": version}):
        for message in messages:
            assert message.provider == "samsara"
            assert message.kind == kind
            assert message.device == "trucks/3"
            assert validate(provider, kind, message.payload) == [], message.payload
            count += 1
    assert count >= 10


def test_v1_condition_mapping() -> None:
    for (kind, _attrs, condition, _), (_, messages) in zip(EVENTS, render_all({}), strict=True):
        if condition is None:
            assert messages == [], kind
            continue
        assert len(messages) == 1, kind
        payload = messages[0].payload
        assert payload["eventType"] == "Alert"
        assert payload["event"]["alertConditionId"] == condition, kind
        assert payload["event"]["resolved"] is False


def test_v2_event_type_mapping() -> None:
    for (kind, _, _, event_type), (_, messages) in zip(EVENTS, render_all({"payload_version": 2}), strict=True):
        if event_type is None:
            assert messages == [], kind
            continue
        assert messages, kind
        assert {m.payload["eventType"] for m in messages} == {event_type}, kind


def test_positions_render_nothing() -> None:
    device = make_truck()
    for version in (1, 2):
        renderer = samsara_renderer(device, {"payload_version": version}, random.Random(1))
        assert renderer.render(make_event("position", device)) == []
        assert renderer.render(make_event("status", device)) == []


def test_v1_start_before_send() -> None:
    for kind, messages in render_all({}):
        for message in messages:
            payload = message.payload
            start, sent = payload["event"]["startMs"], payload["eventMs"]
            assert start < sent, kind
            assert sent == round(message.send_t * 1000)
            assert sent - start < 20 * 60 * 1000  # within the condition's duration plus a few seconds


def test_v2_happened_before_sent() -> None:
    for i, (kind, messages) in enumerate(render_all({"payload_version": 2})):
        fix_t = T0 + 60 * i
        for message in messages:
            payload = message.payload
            sent = parse_rfc3339(payload["eventTime"])
            assert abs(sent - message.send_t) < 0.002
            assert sent > fix_t, kind
            data = payload["data"]
            happened = data.get("happenedAtTime") or data.get("startTime")
            if happened is not None:  # GeofenceEntry/Exit and GatewayUnplugged data carry no time of their own
                assert parse_rfc3339(happened) < sent, kind
            else:
                assert payload["eventType"] in ("GeofenceEntry", "GeofenceExit", "GatewayUnplugged"), kind


def test_send_is_a_few_seconds_after_the_event_reached_the_platform() -> None:
    device = make_truck()
    renderer = samsara_renderer(device, {}, random.Random(3))
    event = make_event("harsh_brake", device, {"g": 0.6}, lag=3600.0)  # back-filled an hour late
    (message,) = renderer.render(event)
    assert event.send_t + 1.0 <= message.send_t <= event.send_t + 10.0
    assert message.payload["event"]["startMs"] == int(event.fix.t * 1000)


def test_v1_details_from_attrs() -> None:
    device = make_truck()
    driver = make_driver(random.Random(5), 1)
    renderer = samsara_renderer(device, {"org_id": 4000}, random.Random(3))
    speeding = make_event("speeding_end", device, {"limit_kmh": 80.0, "max_kmh": 98.0, "duration_s": 150.0},
                          driver=driver)
    event = renderer.render(speeding)[0].payload["event"]
    assert event["details"] == "'Truck 3' exceeded the speed limit by 18 km/h for 2 minutes"
    assert event["alertConditionDescription"] == "Vehicle speed above speed limit"
    assert event["startMs"] == int((speeding.fix.t - 150.0) * 1000)
    ids = device.vendor_ids
    assert event["device"] == {"id": ids["vehicle_id"], "name": "Truck 3", "serial": ids["gateway_serial"],
                               "vin": device.vin}
    assert event["driver"] == {"id": driver.samsara_id, "name": driver.name}
    assert event["orgId"] == 4000
    assert event["alertEventUrl"].startswith("https://cloud.samsara.com/o/4000/alerts/incidents/v2/")
    assert event["alertEventUrl"].endswith(f"/{device.vendor_ids['vehicle_id']}/{event['startMs']}")

    geofence = renderer.render(make_event("geofence_enter", device, {"geofence": "Acme Bread", "geofence_id": 2}))
    event = geofence[0].payload["event"]
    assert event["details"] == "'Truck 3' is inside Acme Bread."
    assert event["summary"] == "'Truck 3' is inside Acme Bread geofence"
    assert "driver" not in event  # no driver known

    temperature = renderer.render(make_event(
        "temperature", device,
        {"temp_c": -9.0, "setpoint_c": -18.0, "threshold_c": -15.0, "direction": "above", "duration_s": 900.0}))
    event = temperature[0].payload["event"]
    assert set(event["sensor"]) == {"id", "name", "serial"}
    assert "device" not in event
    # the alert quotes the limit it crossed, not the reefer's setpoint
    assert "risen above -15.0 °C for more than 15 minutes" in event["details"]
    assert "currently -9.0 °C" in event["details"] and "-18.0" not in event["details"]


def test_sos_v1_is_not_alerted_and_v2_resolves_five_seconds_later() -> None:
    device = make_truck()
    assert samsara_renderer(device, {}, random.Random(1)).render(make_event("sos", device)) == []
    renderer = samsara_renderer(device, {"payload_version": 2}, random.Random(1))
    opened, resolved = renderer.render(make_event("sos", device))
    for message in (opened, resolved):
        condition = message.payload["data"]["conditions"][0]
        assert condition["description"] == "Panic Button"
        assert condition["triggerId"] == 1034
        assert set(condition["details"]["panicButton"]) >= {"vehicle"}
    assert opened.payload["data"]["isResolved"] is False
    assert "resolvedAtTime" not in opened.payload["data"]
    assert resolved.payload["data"]["isResolved"] is True
    resolved_at = parse_rfc3339(resolved.payload["data"]["resolvedAtTime"])
    happened = parse_rfc3339(resolved.payload["data"]["happenedAtTime"])
    assert 3.0 <= resolved_at - happened <= 7.0
    assert resolved.send_t > opened.send_t
    assert resolved.payload["eventId"] != opened.payload["eventId"]
    assert resolved.payload["data"]["configurationId"] == opened.payload["data"]["configurationId"]
    assert resolved.payload["data"]["incidentUrl"] == opened.payload["data"]["incidentUrl"]


def test_movement_alerts_are_opt_in() -> None:
    device = make_truck()
    for version in (1, 2):
        off = samsara_renderer(device, {"payload_version": version}, random.Random(1))
        assert off.render(make_event("moving", device)) == []
        on = samsara_renderer(device, {"payload_version": version, "movement_alerts": True}, random.Random(1))
        (message,) = on.render(make_event("moving", device))
        assert validate(PROVIDERS["samsara"], message.kind, message.payload) == []
        if version == 1:
            assert message.payload["event"]["alertConditionId"] == "DeviceMovement"


def test_v2_envelope_and_stable_configuration_ids() -> None:
    settings = {"payload_version": 2, "org_id": 20936, "webhook_id": "1411751028848270"}
    first, second = make_truck(7, 3), make_truck(8, 4)
    a = samsara_renderer(first, settings, random.Random(1)).render(make_event("harsh_brake", first, {"g": 0.5}))
    b = samsara_renderer(second, settings, random.Random(2)).render(make_event("harsh_turn", second, {"g": 0.5}))
    for message in (*a, *b):
        assert message.payload["orgId"] == 20936
        assert message.payload["webhookId"] == "1411751028848270"
    # one alert configuration per org and condition, whatever the device
    assert a[0].payload["data"]["configurationId"] == b[0].payload["data"]["configurationId"]
    idle = samsara_renderer(first, settings, random.Random(1)).render(make_event("idling", first, {"duration_s": 900}))
    assert idle[0].payload["data"]["configurationId"] != a[0].payload["data"]["configurationId"]
    vehicle = a[0].payload["data"]["conditions"][0]["details"]["harshEvent"]["vehicle"]
    assert vehicle["id"] == str(first.vendor_ids["vehicle_id"]) and vehicle["name"] == first.label


def test_defaults_belong_to_the_fleet_not_the_device() -> None:
    """One scenario is one org posting to one webhook: every device of a fleet gets the same org and webhook
    id, whatever its own RNG; another fleet (scenario or seed) gets another pair."""
    def truck(seed: int, fleet: str) -> Device:
        return make_device(random.Random(seed), group="trucks", index=seed, number=seed, provider="samsara",
                           profile="truck", features=frozenset(), tz_offset_s=0, fleet=fleet)

    first = samsara_renderer(truck(1, "cold-chain:31"), {}, random.Random(9))
    second = samsara_renderer(truck(2, "cold-chain:31"), {}, random.Random(10))
    other = samsara_renderer(truck(1, "cold-chain:32"), {}, random.Random(9))
    assert isinstance(first, SamsaraRenderer) and isinstance(second, SamsaraRenderer)
    assert isinstance(other, SamsaraRenderer)
    assert (first.org_id, first.webhook_id) == (second.org_id, second.webhook_id)
    assert (other.org_id, other.webhook_id) != (first.org_id, first.webhook_id)
    assert 1_000 <= first.org_id <= 99_999 and first.webhook_id.isdigit() and len(first.webhook_id) == 16
    with pytest.raises(ValueError):
        samsara_renderer(first.device, {"payload_version": 3}, random.Random(1))
    with pytest.raises(ValueError):
        samsara_renderer(first.device, {"webhook_id": "abc"}, random.Random(1))


@pytest.mark.parametrize("version", [1, 2])
def test_deterministic(version: int) -> None:
    def payloads(seed: int) -> list[Any]:
        return [(m.send_t, m.payload) for _, ms in render_all({"payload_version": version}, seed) for m in ms]

    assert payloads(11) == payloads(11)
    assert payloads(11) != payloads(12)


def test_position_path_is_fast() -> None:
    device = make_truck()
    renderer = samsara_renderer(device, {}, random.Random(1))
    events = [make_event("position", device, t=T0 + 10 * i, seq=i) for i in range(20_000)]
    start = time.perf_counter()
    for event in events:
        renderer.render(event)
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- 2.0 data as developers.samsara.com documents it

def _v2(kind: str, attrs: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    device = make_truck()
    renderer = samsara_renderer(device, {"payload_version": 2}, random.Random(4))
    renderer.render(make_event("moving", device, t=T0 - 1800))  # the trip began half an hour earlier
    (message,) = renderer.render(make_event(kind, device, attrs, driver=make_driver(random.Random(5), 1), **over))
    assert validate(PROVIDERS["samsara"], "event_v2", message.payload) == [], message.payload
    data: dict[str, Any] = message.payload["data"]
    return data


def test_gateway_unplugged_has_the_vehicle_inside_the_gateway() -> None:
    """/docs/gatewayunplugged: data.gateway {model, serial, vehicle {externalIds, id, name}} and nothing else."""
    device = make_truck()
    data = _v2("power_cut")
    assert list(data) == ["gateway"]
    gateway = data["gateway"]
    assert list(gateway) == ["model", "serial", "vehicle"]
    assert gateway["serial"] == device.vendor_ids["gateway_serial"]
    assert list(gateway["vehicle"]) == ["externalIds", "id", "name"]
    assert gateway["vehicle"]["id"] == str(device.vendor_ids["vehicle_id"])
    assert gateway["vehicle"]["name"] == device.label


@pytest.mark.parametrize(("kind", "attrs"), [
    ("speeding_start", {"limit_kmh": 80.0, "speed_kmh": 95.3}),
    ("speeding_end", {"limit_kmh": 80.0, "max_kmh": 98.0, "duration_s": 150.0}),
])
def test_speeding_events_have_the_documented_keys(kind: str, attrs: dict[str, Any]) -> None:
    """/docs/beta-speedingeventstarted-event-schema-42: severityLevel, startTime, tripStartTime and a vehicle with
    assetType, externalIds, id, licensePlate, name, vehicleVin; the trip began at the last `moving` event."""
    device = make_truck()
    data = _v2(kind, attrs)
    assert list(data) == ["severityLevel", "startTime", "tripStartTime", "vehicle"]
    assert data["severityLevel"] in ("Light", "Moderate", "Heavy", "Severe")
    assert list(data["vehicle"]) == ["assetType", "externalIds", "id", "licensePlate", "name", "vehicleVin"]
    assert data["vehicle"]["vehicleVin"] == device.vin and data["vehicle"]["licensePlate"] == device.plate
    assert parse_rfc3339(data["tripStartTime"]) == int(T0 - 1800)
    assert parse_rfc3339(data["tripStartTime"]) <= parse_rfc3339(data["startTime"])


@pytest.mark.parametrize("kind", ["geofence_enter", "geofence_exit"])
def test_geofence_events_carry_the_scenario_geofence_and_a_street_address(kind: str) -> None:
    """/docs/geofenceexit: address {externalIds, formattedAddress, geofence, id, name} with the scenario's circle,
    and a vehicle with its gateway."""
    data = _v2(kind, {"geofence": DEPOT.name, "geofence_id": 1, "fence": DEPOT})
    address = data["address"]
    assert list(address) == ["externalIds", "formattedAddress", "geofence", "id", "name"]
    assert address["name"] == "Depot Norte"
    assert address["geofence"] == {"circle": {"latitude": -19.9032, "longitude": -43.9521, "radiusMeters": 800}}
    # a street address in the geofence's city, not the vehicle's coordinates
    assert address["formattedAddress"].endswith("Belo Horizonte - MG")
    assert "-19.9" not in address["formattedAddress"] and "-43.9" not in address["formattedAddress"]
    vehicle = data["vehicle"]
    assert list(vehicle) == ["assetType", "externalIds", "gateway", "id", "licensePlate", "name", "vin"]
    assert set(vehicle["gateway"]) == {"model", "serial"}


def test_polygon_geofence_is_written_as_vertices() -> None:
    loop = Geofence("Loop", "polygon", points=(LatLon(41.888, -87.64), LatLon(41.888, -87.62),
                                               LatLon(41.874, -87.62), LatLon(41.874, -87.64)))
    data = _v2("geofence_exit", {"geofence": "Loop", "geofence_id": 2, "fence": loop})
    geofence = data["address"]["geofence"]
    assert geofence == {"polygon": {"vertices": [{"latitude": p.lat, "longitude": p.lon} for p in loop.points]}}
    assert data["address"]["formattedAddress"].endswith("Chicago, IL")


def test_one_geofence_has_one_address_whatever_the_device() -> None:
    first, second = make_truck(7, 3), make_truck(8, 4)
    addresses = set()
    for device in (first, second):
        renderer = samsara_renderer(device, {"payload_version": 2}, random.Random(device.index))
        (message,) = renderer.render(make_event("geofence_enter", device, {"geofence": DEPOT.name, "geofence_id": 1,
                                                                           "fence": DEPOT}))
        address = message.payload["data"]["address"]
        addresses.add((address["id"], address["formattedAddress"]))
    assert len(addresses) == 1


# ---------------------------------------------------------------- a whole scenario: one webhook, its own geofences

def _cold_chain_v2(seed: int | None = None) -> list[Message]:
    text = (Path(__file__).parents[3] / "scenarios" / "samsara-cold-chain.yaml").read_text(encoding="utf-8")
    scenario = load_scenario_text(text.replace("payload_version: 1, org_id: 20936", "payload_version: 2"))
    if seed is not None:
        scenario = dataclasses.replace(scenario, seed=seed)
    return list(islice(scenario_messages(scenario), 3000))


def test_a_scenario_posts_to_one_webhook_of_one_org() -> None:
    """Without org_id/webhook_id settings, 18 devices used to draw 18 webhook ids; one URL has one webhookId."""
    messages = _cold_chain_v2()
    assert len({m.device for m in messages}) > 1
    assert len({m.payload["webhookId"] for m in messages}) == 1
    assert len({m.payload["orgId"] for m in messages}) == 1
    other = _cold_chain_v2(seed=32)
    assert {m.payload["webhookId"] for m in other} != {m.payload["webhookId"] for m in messages}


def test_scenario_geofence_events_name_the_scenario_geofences() -> None:
    text = (Path(__file__).parents[3] / "scenarios" / "samsara-cold-chain.yaml").read_text(encoding="utf-8")
    fences = {f.name: f for f in load_scenario_text(text).geofences}
    seen = 0
    for message in _cold_chain_v2():
        if message.payload["eventType"] not in ("GeofenceEntry", "GeofenceExit"):
            continue
        seen += 1
        address = message.payload["data"]["address"]
        fence = fences[address["name"]]
        if fence.kind == "circle":
            assert fence.center is not None
            assert address["geofence"] == {"circle": {"latitude": fence.center.lat, "longitude": fence.center.lon,
                                                      "radiusMeters": round(fence.radius_m)}}
        else:
            assert [(v["latitude"], v["longitude"]) for v in address["geofence"]["polygon"]["vertices"]] == [
                (p.lat, p.lon) for p in fence.points]
        assert address["formattedAddress"].endswith("Chicago, IL")
        assert "gateway" in message.payload["data"]["vehicle"]
    assert seen > 0
