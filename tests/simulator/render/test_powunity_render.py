"""PowUnity (Traccar 4.x) renderer: frames in Traccar's order, webhooks per event, alarms only while armed,
no push for out-of-order fixes, Java doubles. Version profiles and Traccar's derived events:
test_powunity_traccar.py."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest

from simulator.core import javajson
from simulator.providers import PROVIDERS
from simulator.providers.powunity.render import ALARMS, PowUnityRenderer, powunity_renderer
from simulator.render.base import Message
from simulator.validation import validate
from simulator.world.events import KINDS, Fix, WorldEvent
from simulator.world.fleet import Device, make_device

T0 = 1_772_533_920.6  # 2026-03-03T10:32:00.6Z

#: (kind, attrs, Traccar event types expected while ARMED) for every world event kind
EVENTS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("position", {}, []),
    ("status", {}, []),
    ("ignition_on", {}, ["ignitionOn"]),
    ("ignition_off", {}, ["ignitionOff"]),
    ("moving", {}, []),  # deviceMoving/deviceStopped come from the positions' motion (test_powunity_traccar)
    ("stopped", {}, []),
    ("speeding_start", {"limit_kmh": 25.0, "speed_kmh": 32.4}, ["deviceOverspeed"]),
    ("speeding_end", {"limit_kmh": 25.0, "max_kmh": 34.0, "duration_s": 42.0}, []),
    ("harsh_brake", {"g": 0.52}, ["alarm"]),
    ("harsh_accel", {"g": 0.41}, ["alarm"]),
    ("harsh_turn", {"g": 0.47}, ["alarm"]),
    ("collision", {"g": 3.1}, ["alarm"]),
    ("geofence_enter", {"geofence": "Home", "geofence_id": 2}, ["geofenceEnter"]),
    ("geofence_exit", {"geofence": "Home", "geofence_id": 2}, ["geofenceExit"]),
    ("idling", {"duration_s": 600.0}, []),
    ("fatigue", {"driving_s": 14_400.0}, []),
    ("rfid", {"status": "enter", "card": "7C3F88A9", "matched": True}, []),
    ("face_check", {"matched": True, "similarity": 8712, "result": 0, "face_id": "15"}, []),
    ("driver_change", {"previous": "Ana Souza"}, []),
    ("dms", {"behavior": "phone"}, []),
    ("adas", {"behavior": "lane_departure"}, []),
    ("sos", {}, ["alarm"]),
    ("tamper", {}, ["alarm"]),
    ("power_cut", {}, ["alarm"]),
    ("power_restored", {}, []),
    ("block", {}, []),
    ("unblock", {}, []),
    ("offline", {}, ["deviceOffline"]),
    ("online", {"gap_s": 1800.0}, ["deviceOnline"]),
    ("sensor", {"temp_c": 21.5}, []),
    ("temperature", {"temp_c": 41.0, "setpoint_c": 35.0, "direction": "above", "duration_s": 900.0}, []),
    ("low_battery", {"battery_pct": 9}, ["alarm"]),
    ("movement_alarm", {}, ["alarm"]),
    ("disarmed", {}, []),
    ("movement_alarm", {}, []),  # disarmed now: no alarm
    ("armed", {}, []),
]


def test_every_world_kind_is_covered() -> None:
    assert {kind for kind, *_ in EVENTS} == KINDS


def make_bike(seed: int = 7, number: int = 3) -> Device:
    return make_device(
        random.Random(seed), group="bikes", index=number, number=number, provider="powunity", profile="e-bike",
        features=frozenset(), tz_offset_s=3600,
    )


def make_fix(t: float = T0, **over: Any) -> Fix:
    values: dict[str, Any] = dict(
        t=t, lat=48.2082123456, lon=16.3738, speed_kmh=18.52, course=90, altitude_m=171.0, satellites=9, hdop=0.9,
        valid=True, ignition=True, moving=True, odometer_m=12_345.5, gsm_signal=20, ext_voltage=36.0,
        battery_pct=80, limit_kmh=25.0,
    )
    values.update(over)
    return Fix(**values)


def make_event(kind: str, device: Device, attrs: dict[str, Any] | None = None, *, t: float = T0, seq: int = 1,
               lag: float = 1.0, **fix: Any) -> WorldEvent:
    return WorldEvent(kind, device, make_fix(t, **fix), t + lag, seq, attrs=dict(attrs or {}))


def render_all(settings: dict[str, Any], seed: int = 11) -> list[list[Message]]:
    device = make_bike()
    renderer = powunity_renderer(device, settings, random.Random(seed))
    return [
        renderer.render(make_event(kind, device, attrs, t=T0 + 30 * i, seq=i, odometer_m=12_345.5 + 100 * i))
        for i, (kind, attrs, _) in enumerate(EVENTS)
    ]


def frames(messages: list[Message]) -> list[str]:
    return [next(iter(m.payload)) for m in messages if m.kind == "socket_frame"]


def event_types(messages: list[Message]) -> list[str]:
    return [m.payload["events"][0]["type"] for m in messages if m.kind == "socket_frame" and "events" in m.payload]


def test_registered() -> None:
    # the provider hands out its own renderer: the stream asks the provider, never a table keyed by name
    assert isinstance(PROVIDERS["powunity"].renderer(make_bike(), {}, random.Random(1)), PowUnityRenderer)
    assert isinstance(powunity_renderer(make_bike(), {}, random.Random(1)), PowUnityRenderer)


@pytest.mark.parametrize("armed", [True, False])
def test_every_payload_validates(armed: bool) -> None:
    provider = PROVIDERS["powunity"]
    count = 0
    for messages in render_all({"initially_armed": armed}):
        for message in messages:
            assert message.provider == "powunity"
            assert message.kind in ("socket_frame", "webhook")
            assert validate(provider, message.kind, message.payload) == [], message.payload
            count += 1
    assert count > 2 * len(EVENTS)


def test_event_mapping_while_armed() -> None:
    for (kind, _, expected), messages in zip(EVENTS, render_all({"initially_armed": True}), strict=True):
        assert event_types(messages) == expected, kind
        webhooks = [m.payload["event"]["type"] for m in messages if m.kind == "webhook"]
        assert webhooks == expected, kind


def test_alarm_values() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"initially_armed": True}, random.Random(1))
    for i, (kind, alarm) in enumerate(ALARMS.items()):
        messages = renderer.render(make_event(kind, device, t=T0 + i))
        (event,) = [m.payload["event"] for m in messages if m.kind == "webhook"]
        assert event["attributes"] == {"alarm": alarm}
        (position,) = [m.payload["positions"][0] for m in messages if "positions" in m.payload]
        assert position["attributes"]["alarm"] == alarm
        assert list(position["attributes"])[:4] == ["batteryLevel", "armed", "charge", "alarm"]
    assert set(ALARMS.values()) == {"movement", "powerCut", "tampering", "sos", "accident", "lowBattery",
                                    "hardBraking", "hardAcceleration", "hardCornering"}


def test_alarms_only_while_armed() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))  # starts disarmed
    t = T0

    def step(kind: str) -> list[Message]:
        nonlocal t
        t += 10
        return renderer.render(make_event(kind, device, t=t))

    for kind in ALARMS:
        messages = step(kind)
        assert event_types(messages) == [], kind
        assert not [m for m in messages if m.kind == "webhook"]
        (position,) = [m.payload["positions"][0] for m in messages if "positions" in m.payload]
        assert "alarm" not in position["attributes"]
        assert position["attributes"]["armed"] is False
    armed = step("armed")
    assert event_types(armed) == []
    assert armed[-1].payload["positions"][0]["attributes"]["armed"] is True
    theft = step("movement_alarm")
    assert event_types(theft) == ["alarm"]
    assert theft[0].payload["devices"][0]["attributes"]["guarded"] is True
    assert theft[0].payload["devices"][0]["attributes"]["alarm"] is True
    assert isinstance(theft[0].payload["devices"][0]["attributes"]["lastAlarm"], int)
    disarmed = step("disarmed")
    assert disarmed[0].payload["devices"][0]["attributes"]["guarded"] is False
    assert disarmed[0].payload["devices"][0]["attributes"]["alarm"] is False
    assert event_types(step("sos")) == []


@pytest.mark.parametrize("profile", ["traccar-4.12", "traccar-6"])
def test_frame_order_devices_events_positions(profile: str) -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"initially_armed": True, "profile": profile}, random.Random(1))
    renderer.render(make_event("position", device, t=T0))
    offline = renderer.render(make_event("offline", device, t=T0 + 10))
    # back after the silence, overspeeding and crashing in one message
    messages = renderer.render(make_event("collision", device, {"g": 3.0}, t=T0 + 400))
    if profile == "traccar-4.12":  # ConnectionManager notifies the status event before it pushes the device
        assert frames(offline) == ["events", "devices"]
        assert frames(messages) == ["events", "devices", "events", "positions"]
    else:
        assert frames(offline) == ["devices", "events"]
        assert frames(messages) == ["devices", "events", "events", "positions"]
    assert event_types(messages) == ["deviceOnline", "alarm"]
    assert [m.kind for m in messages] == ["socket_frame"] * 4 + ["webhook"] * 2
    socket_times = [m.send_t for m in messages if m.kind == "socket_frame"]
    assert len(set(socket_times)) == 1
    assert all(m.send_t > socket_times[0] for m in messages if m.kind == "webhook")
    for messages in render_all({"initially_armed": True, "profile": profile}):
        names = frames(messages)
        status_change = bool({"deviceOnline", "deviceOffline"} & set(event_types(messages)))
        if profile == "traccar-4.12" and status_change:
            names = names[1:]  # the status event that went first
        if names:
            assert names[0] == "devices"
            assert names == sorted(names, key=["devices", "events", "positions"].index)


def test_devices_frame_and_position_shape() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    first = renderer.render(make_event("position", device, t=T0, lag=1.5))
    second = renderer.render(make_event("position", device, t=T0 + 10, lag=1.5, odometer_m=12_445.5))
    dev = second[0].payload["devices"][0]
    assert list(dev) == ["id", "attributes", "groupId", "name", "uniqueId", "status", "lastUpdate", "positionId",
                         "geofenceIds", "phone", "model", "contact", "category", "disabled"]
    assert dev["id"] == device.vendor_ids["traccar_id"] and dev["uniqueId"] == device.imei and dev["name"] == "Bike 3"
    assert dev["status"] == "online" and dev["category"] == "bicycle" and dev["geofenceIds"] == []
    assert dev["lastUpdate"] == "2026-03-03T10:32:12.100+00:00"
    first_position = first[-1].payload["positions"][0]
    assert dev["positionId"] == first_position["id"]  # the device frame precedes the new position
    position = second[-1].payload["positions"][0]
    assert list(position) == ["id", "attributes", "deviceId", "type", "protocol", "serverTime", "deviceTime",
                              "fixTime", "outdated", "valid", "latitude", "longitude", "altitude", "speed", "course",
                              "address", "accuracy", "network"]
    assert position["type"] is None and position["protocol"] == "h02" and position["outdated"] is False
    assert position["fixTime"] == position["deviceTime"] == "2026-03-03T10:32:10.600+00:00"
    assert position["serverTime"] == "2026-03-03T10:32:12.100+00:00"
    assert position["latitude"] == 48.208212
    assert position["speed"] == 10.0  # 18.52 km/h in knots
    assert position["id"] > first_position["id"]
    attrs = position["attributes"]
    assert list(attrs) == ["batteryLevel", "armed", "charge", "ignition", "status", "index", "distance",
                           "totalDistance", "motion", "hours"]
    assert attrs["distance"] == 100.0 and attrs["totalDistance"] == 100.0  # counted from the first message
    assert attrs["status"] == 0xFFFFFFFF and attrs["index"] == 2  # h02: bit 10 set = ignition on
    assert "hours" not in first[-1].payload["positions"][0]["attributes"]  # left out while 0
    assert attrs["hours"] == 10_000  # ignition on for the 10 s between the fixes
    for key in ("latitude", "longitude", "altitude", "speed", "course", "accuracy"):
        assert type(position[key]) is float, key
    for key in ("distance", "totalDistance"):
        assert type(attrs[key]) is float, key


def test_older_fix_is_not_pushed() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"initially_armed": True}, random.Random(1))
    renderer.render(make_event("position", device, t=T0 + 100))
    same_time = renderer.render(make_event("position", device, t=T0 + 100))
    assert frames(same_time) == ["devices", "positions"]  # not older: pushed
    old = renderer.render(make_event("ignition_on", device, t=T0 + 50, lag=300))
    assert frames(old) == ["devices"]  # stored, not pushed; state events skipped
    assert not [m for m in old if m.kind == "webhook"]
    old_alarm = renderer.render(make_event("sos", device, t=T0 + 60, lag=300))
    assert frames(old_alarm) == ["devices", "events"]  # alarms are still raised
    (webhook,) = [m.payload for m in old_alarm if m.kind == "webhook"]
    assert webhook["position"]["fixTime"] == "2026-03-03T10:33:00.600+00:00"
    assert webhook["event"]["positionId"] == webhook["position"]["id"]
    newer = renderer.render(make_event("position", device, t=T0 + 110))
    assert frames(newer) == ["devices", "positions"]
    # the device keeps pointing at the latest position, not the back-filled one
    assert newer[0].payload["devices"][0]["positionId"] == same_time[-1].payload["positions"][0]["id"]


def test_status_events_have_no_position() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"profile": "traccar-6"}, random.Random(1))
    renderer.render(make_event("position", device, t=T0))
    offline = renderer.render(make_event("offline", device, t=T0 + 10, lag=180))
    assert frames(offline) == ["devices", "events"]
    assert offline[0].payload["devices"][0]["status"] == "offline"
    assert offline[0].payload["devices"][0]["lastUpdate"] == "2026-03-03T10:32:01.600+00:00"  # unchanged
    (webhook,) = [m.payload for m in offline if m.kind == "webhook"]
    assert list(webhook) == ["event", "device"]
    assert webhook["event"]["type"] == "deviceOffline" and webhook["event"]["positionId"] == 0
    assert webhook["event"]["eventTime"] == "2026-03-03T10:35:10.600+00:00"  # the server's clock
    assert offline[0].send_t == pytest.approx(T0 + 190)  # the event's own send time, 3 min after the silence
    assert renderer.render(make_event("offline", device, t=T0 + 20)) == []  # already offline
    online = renderer.render(make_event("online", device, {"gap_s": 600.0}, t=T0 + 600))
    assert frames(online) == ["devices", "events", "positions"]
    assert online[0].payload["devices"][0]["status"] == "online"
    (webhook,) = [m.payload for m in online if m.kind == "webhook"]
    assert "position" not in webhook and webhook["event"]["type"] == "deviceOnline"


def test_offline_is_declared_three_minutes_after_the_last_message() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    renderer.render(make_event("position", device, t=T0, lag=1.0))
    offline = renderer.render(make_event("offline", device, t=T0 + 5, lag=1.0))
    assert offline[0].send_t == pytest.approx(T0 + 181.0)
    (webhook,) = [m for m in offline if m.kind == "webhook"]
    assert webhook.payload["event"]["serverTime"] == "2026-03-03T10:35:01.600+00:00"
    assert webhook.send_t > offline[0].send_t


def test_overspeed_and_geofence_events() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"geofence_areas": {"Home": "CIRCLE (48.2 16.37, 50.0)"},
                                          "profile": "traccar-6"}, random.Random(1))
    speeding = renderer.render(make_event("speeding_start", device, {"limit_kmh": 25.0, "speed_kmh": 37.04}))
    (webhook,) = [m.payload for m in speeding if m.kind == "webhook"]
    assert webhook["event"]["attributes"] == {"speed": 20.0, "speedLimit": 13.5}
    (framed,) = [m.payload["events"][0] for m in speeding if "events" in m.payload]
    assert framed["attributes"]["message"].startswith("Bike 3 exceeds the speed 37 km/h at 2026-03-03 11:32:01")
    assert "message" not in webhook["event"]["attributes"]
    enter = renderer.render(make_event("geofence_enter", device, {"geofence": "Home", "geofence_id": 2}, t=T0 + 5))
    (webhook,) = [m.payload for m in enter if m.kind == "webhook"]
    assert list(webhook) == ["event", "position", "device", "geofence"]
    assert webhook["event"]["geofenceId"] == 2
    assert webhook["geofence"]["name"] == "Home" and webhook["geofence"]["area"] == "CIRCLE (48.2 16.37, 50.0)"
    assert webhook["event"]["positionId"] == webhook["position"]["id"] == webhook["device"]["positionId"]


def test_ids_increase_and_do_not_collide_across_devices() -> None:
    bikes = [make_bike(7, 3), make_bike(8, 4)]
    renderers = [powunity_renderer(bike, {"initially_armed": True}, random.Random(i)) for i, bike in enumerate(bikes)]
    event_ids: dict[int, list[int]] = {3: [], 4: []}
    position_ids: dict[int, list[int]] = {3: [], 4: []}
    for i in range(50):
        for bike, renderer in zip(bikes, renderers, strict=True):
            kind = "sos" if i % 3 == 0 else "ignition_on" if i % 3 == 1 else "position"
            for message in renderer.render(make_event(kind, bike, t=T0 + 10 * i)):
                if "events" in message.payload:
                    event_ids[bike.vendor_ids["traccar_id"]].append(message.payload["events"][0]["id"])
                if "positions" in message.payload:
                    position_ids[bike.vendor_ids["traccar_id"]].append(message.payload["positions"][0]["id"])
    for ids in (*event_ids.values(), *position_ids.values()):
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert not set(event_ids[3]) & set(event_ids[4])
    assert not set(position_ids[3]) & set(position_ids[4])


def test_webhook_types_filter() -> None:
    for setting in (["alarm", "deviceOffline"], "alarm, deviceOffline"):
        messages = [m for ms in render_all({"initially_armed": True, "webhook_types": setting}) for m in ms]
        webhook_types = {m.payload["event"]["type"] for m in messages if m.kind == "webhook"}
        assert webhook_types == {"alarm", "deviceOffline"}
        # the socket still carries every event
        assert "ignitionOn" in {m.payload["events"][0]["type"] for m in messages if "events" in m.payload}
    non_b2b = [m for ms in render_all({"initially_armed": True, "b2b": False}) for m in ms if m.kind == "webhook"]
    assert {m.payload["event"]["type"] for m in non_b2b} == {"alarm"}


def test_java_doubles_in_the_serialized_body() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"initially_armed": True}, random.Random(1))
    renderer.render(make_event("position", device, t=T0, odometer_m=50_000.0))
    messages = renderer.render(make_event("sos", device, t=T0 + 10, odometer_m=50_050_000.0))
    provider = PROVIDERS["powunity"]
    for message in messages:
        body = provider.serialize(message.payload)
        assert body == javajson.dumps(message.payload)
        assert orjson.loads(body) == message.payload  # same values after the Java-style round trip
    positions = next(m for m in messages if "positions" in m.payload)
    body = javajson.dumps(positions.payload)
    assert b'"totalDistance":5.0E7' in body and b'"distance":5.0E7' in body
    assert b'"course":90.0,' in body and b'"altitude":0.0,' in body and b'"accuracy":0.0,' in body
    assert b'"batteryLevel":80,' in body  # an int stays an int
    webhook = next(m for m in messages if m.kind == "webhook")
    assert b'"totalDistance":5.0E7' in javajson.dumps(webhook.payload)


@pytest.mark.parametrize("profile", ["traccar-4.12", "traccar-6"])
def test_every_document_is_written_as_the_rewrite_scan_would(profile: str) -> None:
    """Frames and webhooks are JavaDocuments, written without javajson's rewrite scan: every double Java writes
    differently must already be wrapped. Near the equator and the prime meridian, coordinates fall below 1e-3
    (Java: 4.0E-4) and a huge odometer passes 1e7: the unscanned body must equal the scanned one."""
    device = make_bike()
    renderer = powunity_renderer(device, {"initially_armed": True, "profile": profile}, random.Random(3))
    messages = [m for i, (kind, attrs, _) in enumerate(EVENTS) for m in renderer.render(make_event(
        kind, device, attrs, t=T0 + 30 * i, seq=i, lat=0.0004 if i % 2 else -0.000731, lon=-0.0007 + 1e-5 * i,
        odometer_m=5e7 + 100 * i, speed_kmh=0.001 * i))]
    assert {m.kind for m in messages} == {"socket_frame", "webhook"}
    small = 0
    for message in messages:
        assert type(message.payload) is javajson.JavaDocument
        body = javajson.dumps(message.payload)
        assert body == javajson.dumps(dict(message.payload)) == javajson.dumps_reference(message.payload)
        small += body.count(b"E-4")
    assert small > 0  # the case that matters was written


def test_an_unwrapped_double_in_a_java_document_is_written_as_orjson_does() -> None:
    # the promise a JavaDocument carries is the renderer's to keep: nothing rewrites what it left unwrapped
    assert javajson.dumps(javajson.JavaDocument(latitude=0.0004)) == b'{"latitude":0.0004}'
    assert javajson.dumps({"latitude": 0.0004}) == b'{"latitude":4.0E-4}'


def test_deterministic() -> None:
    def payloads(seed: int) -> list[Any]:
        return [(m.kind, m.send_t, m.payload) for ms in render_all({"initially_armed": True}, seed) for m in ms]

    assert payloads(11) == payloads(11)
    assert payloads(11) != payloads(12)  # webhook delays come from the RNG


def test_position_path_is_fast() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    events = [make_event("position", device, t=T0 + 10 * i, seq=i, odometer_m=1e7 + 50.0 * i) for i in range(20_000)]
    start = time.perf_counter()
    for event in events:
        renderer.render(event)
    assert time.perf_counter() - start < 2.0
