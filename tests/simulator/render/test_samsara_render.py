"""Samsara renderer: alerts only, 1.0 and 2.0 payloads that validate, start before send, stable ids."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any

import pytest

from simulator.providers import PROVIDERS
from simulator.providers.samsara.render import SamsaraRenderer, samsara_renderer
from simulator.render.base import Message
from simulator.validation import validate
from simulator.world.events import KINDS, Fix, WorldEvent
from simulator.world.fleet import Device, Driver, make_device, make_driver

T0 = 1_772_533_920.6  # 2026-03-03T10:32:00.6Z

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
    ("geofence_enter", {"geofence": "Depot Norte", "geofence_id": 1}, "DeviceLocationInsideGeofence",
     "GeofenceEntry"),
    ("geofence_exit", {"geofence": "Depot Norte", "geofence_id": 1}, "DeviceLocationOutsideGeofence",
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
    ("temperature", {"temp_c": -9.0, "setpoint_c": -18.0, "direction": "above", "duration_s": 900.0},
     "TemperatureAbove", "AlertIncident"),
    ("temperature", {"temp_c": -25.0, "setpoint_c": -18.0, "direction": "below", "duration_s": 600.0},
     "TemperatureBelow", "AlertIncident"),
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
            if happened is not None:  # GeofenceEntry/Exit data carries no time of its own
                assert parse_rfc3339(happened) < sent, kind
            else:
                assert payload["eventType"] in ("GeofenceEntry", "GeofenceExit"), kind


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
    assert event["device"] == {"id": device.samsara_id, "name": "Truck 3", "serial": device.serial, "vin": device.vin}
    assert event["driver"] == {"id": driver.samsara_id, "name": driver.name}
    assert event["orgId"] == 4000
    assert event["alertEventUrl"].startswith("https://cloud.samsara.com/o/4000/alerts/incidents/v2/")
    assert event["alertEventUrl"].endswith(f"/{device.samsara_id}/{event['startMs']}")

    geofence = renderer.render(make_event("geofence_enter", device, {"geofence": "Acme Bread", "geofence_id": 2}))
    event = geofence[0].payload["event"]
    assert event["details"] == "'Truck 3' is inside Acme Bread."
    assert event["summary"] == "'Truck 3' is inside Acme Bread geofence"
    assert "driver" not in event  # no driver known

    temperature = renderer.render(make_event(
        "temperature", device, {"temp_c": -9.0, "setpoint_c": -18.0, "direction": "above", "duration_s": 900.0}))
    event = temperature[0].payload["event"]
    assert set(event["sensor"]) == {"id", "name", "serial"}
    assert "device" not in event
    assert "-18.0" in event["details"] and "15 minutes" in event["details"]


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
    assert vehicle["id"] == str(first.samsara_id) and vehicle["name"] == first.label


def test_defaults_are_drawn_from_the_rng_and_validated() -> None:
    device = make_truck()
    renderer = samsara_renderer(device, {}, random.Random(9))
    assert isinstance(renderer, SamsaraRenderer)
    assert renderer.org_id > 0 and renderer.webhook_id.isdigit()
    same = samsara_renderer(device, {}, random.Random(9))
    assert isinstance(same, SamsaraRenderer)
    assert (same.org_id, same.webhook_id) == (renderer.org_id, renderer.webhook_id)
    with pytest.raises(ValueError):
        samsara_renderer(device, {"payload_version": 3}, random.Random(1))
    with pytest.raises(ValueError):
        samsara_renderer(device, {"webhook_id": "abc"}, random.Random(1))


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
