"""PowUnity renderer, Traccar semantics: each profile writes exactly its version's shapes (never a mix), and
the events Traccar derives itself (motion, geofences, status) follow its handlers (provider-facts §1.2-§1.4,
§9)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from simulator.providers import PROVIDERS
from simulator.providers.powunity.render import powunity_renderer
from simulator.providers.powunity.traccar import area_wkt, round2
from simulator.render.base import Message
from simulator.scenario.model import Geofence, LatLon
from simulator.validation import validate

from .test_powunity_render import T0, event_types, frames, make_bike, make_event, render_all

PROFILES = ("traccar-4.12", "traccar-6")
EVENT_KEYS = {
    "traccar-4.12": ["id", "attributes", "deviceId", "type", "serverTime", "positionId", "geofenceId",
                     "maintenanceId"],
    "traccar-6": ["id", "attributes", "deviceId", "type", "eventTime", "positionId", "geofenceId", "maintenanceId"],
}
POSITION_KEYS = {
    "traccar-4.12": ["id", "attributes", "deviceId", "type", "protocol", "serverTime", "deviceTime", "fixTime",
                     "outdated", "valid", "latitude", "longitude", "altitude", "speed", "course", "address",
                     "accuracy", "network"],
    "traccar-6": ["id", "attributes", "deviceId", "protocol", "serverTime", "deviceTime", "fixTime", "valid",
                  "latitude", "longitude", "altitude", "speed", "course", "address", "accuracy", "network",
                  "geofenceIds"],
}
DEVICE_KEYS = {
    "traccar-4.12": ["id", "attributes", "groupId", "name", "uniqueId", "status", "lastUpdate", "positionId",
                     "geofenceIds", "phone", "model", "contact", "category", "disabled"],
    "traccar-6": ["id", "attributes", "groupId", "calendarId", "name", "uniqueId", "status", "lastUpdate",
                  "positionId", "phone", "model", "contact", "category", "disabled", "expirationTime"],
}


def _all_objects(messages: list[Message]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {"events": [], "positions": [], "devices": [], "web_events": []}
    for message in messages:
        payload = message.payload
        if message.kind == "webhook":
            found["web_events"].append(payload["event"])
            found["devices"].append(payload["device"])
            if "position" in payload:
                found["positions"].append(payload["position"])
        else:
            for key in ("events", "positions", "devices"):
                found[key] += payload.get(key, [])
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_writes_exactly_its_version(profile: str) -> None:
    messages = [m for ms in render_all({"initially_armed": True, "profile": profile}) for m in ms]
    for message in messages:
        assert validate(PROVIDERS["powunity"], message.kind, message.payload) == [], message.payload
    found = _all_objects(messages)
    assert found["events"] and found["positions"] and found["devices"] and found["web_events"]
    for event in found["events"] + found["web_events"]:
        assert list(event) == EVENT_KEYS[profile], event
    for position in found["positions"]:
        assert list(position) == POSITION_KEYS[profile], position
    for device in found["devices"]:
        assert list(device) == DEVICE_KEYS[profile], device
    socket_messages = ["message" in e["attributes"] for e in found["events"]]
    # 4.12 has no attributes.message at all; from 5.1 every socket copy has it, no webhook does
    assert set(socket_messages) == ({False} if profile == "traccar-4.12" else {True})
    assert not any("message" in e["attributes"] for e in found["web_events"])


def test_default_profile_is_powunitys_4_12_event_frame() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    messages = renderer.render(make_event("ignition_on", device, t=T0, lag=1.0))
    (frame,) = [m.payload for m in messages if "events" in m.payload]
    event = frame["events"][0]
    assert event["attributes"] == {} and event["geofenceId"] == 0 and event["maintenanceId"] == 0
    assert event["serverTime"] == "2026-03-03T10:32:01.600+00:00"  # the server's clock, not the fix's


def test_traccar_6_event_time_is_the_position_device_time_and_the_clock_for_status() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"profile": "traccar-6"}, random.Random(1))
    messages = renderer.render(make_event("ignition_on", device, t=T0, lag=1.0))
    (event,) = [m.payload["event"] for m in messages if m.kind == "webhook"]
    assert event["eventTime"] == "2026-03-03T10:32:00.600+00:00"
    offline = renderer.render(make_event("offline", device, t=T0 + 10, lag=180))
    (status,) = [m.payload["event"] for m in offline if m.kind == "webhook"]
    assert status["eventTime"] == "2026-03-03T10:35:10.600+00:00"
    position = messages[-2].payload["positions"][0] if "positions" in messages[-2].payload else None
    assert position is not None and position["geofenceIds"] is None  # null when in no geofence


def test_4_12_html_encodes_strings_and_6_does_not() -> None:
    bike = dataclasses.replace(make_bike(), label="Anna's <Bike> & \"Co\"")
    for profile, name in (("traccar-4.12", "Anna&#39;s &lt;Bike&gt; &amp; &#34;Co&#34;"),
                          ("traccar-6", "Anna's <Bike> & \"Co\"")):
        renderer = powunity_renderer(bike, {"profile": profile}, random.Random(1))
        messages = renderer.render(make_event("geofence_enter", bike, {"geofence": "Kids' school", "geofence_id": 1}))
        assert messages[0].payload["devices"][0]["name"] == name
        (webhook,) = [m.payload for m in messages if m.kind == "webhook"]
        assert webhook["device"]["name"] == name
        assert webhook["geofence"]["name"] == ("Kids&#39; school" if profile == "traccar-4.12" else "Kids' school")


# ---------------------------------------------------------------- derived events


def _drive(renderer: Any, device: Any, speeds: list[float], *, t0: float = T0, every: float = 10.0,
           odometer: float = 1_000.0) -> tuple[list[list[Message]], float]:
    out = []
    for i, kmh in enumerate(speeds):
        odometer += kmh / 3.6 * every
        out.append(renderer.render(make_event("position", device, t=t0 + every * i, lag=1.0, speed_kmh=kmh,
                                              moving=kmh > 0, odometer_m=odometer)))
    return out, odometer


def test_device_moving_points_at_the_first_moving_position_and_stopped_at_the_first_still_one() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    parked, odometer = _drive(renderer, device, [0.0, 0.0, 0.0])
    # 18 km/h = 50 m per 10 s report: 500 m past the first moving fix (Traccar's minimal trip) on the 11th
    moving, odometer = _drive(renderer, device, [18.0] * 12, t0=T0 + 30, odometer=odometer)
    firsts = [i for i, ms in enumerate(moving) if "deviceMoving" in event_types(ms)]
    assert firsts == [10]
    first_moving = moving[0][-1].payload["positions"][0]
    assert first_moving["attributes"]["motion"] is True and first_moving["speed"] > 0
    (webhook,) = [m.payload for m in moving[10] if m.kind == "webhook"]
    assert webhook["event"]["type"] == "deviceMoving"
    assert webhook["event"]["positionId"] == first_moving["id"] == webhook["position"]["id"]
    assert webhook["position"]["attributes"]["motion"] is True and webhook["position"]["speed"] == 9.72
    assert webhook["device"]["positionId"] == moving[10][-2].payload["positions"][0]["id"]  # the current one
    # standing still: deviceStopped after Traccar's 300 s minimal parking, pointing at the first still fix
    stopped, _ = _drive(renderer, device, [0.0] * 40, t0=T0 + 150, odometer=odometer)
    firsts = [i for i, ms in enumerate(stopped) if "deviceStopped" in event_types(ms)]
    assert firsts == [30]
    (webhook,) = [m.payload for m in stopped[30] if m.kind == "webhook"]
    first_still = stopped[0][-1].payload["positions"][0]
    assert webhook["event"]["positionId"] == first_still["id"]
    assert webhook["position"]["attributes"]["motion"] is False and webhook["position"]["speed"] == 0.0
    # parked again before it started moving: no deviceStopped without a trip, no events at all
    assert not [ms for ms in parked if event_types(ms)]


def test_a_short_roll_raises_no_motion_event() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    messages, _ = _drive(renderer, device, [0.0, 10.0, 10.0, 0.0, 0.0, 10.0, 0.0])  # 28 m hops, < 500 m / 300 s
    assert not [ms for ms in messages if event_types(ms)]


def test_geofence_ids_follow_the_fix_and_events_name_the_scenario_geofence() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    fence = Geofence("Home", "circle", LatLon(48.2082, 16.3738), 3000.0)
    renderer.render(make_event("position", device, t=T0, geofences=(2,)))
    exit_ = renderer.render(make_event("geofence_exit", device, {"geofence": "Home", "geofence_id": 2, "fence": fence},
                                       t=T0 + 10, geofences=()))
    assert exit_[0].payload["devices"][0]["geofenceIds"] == [2]  # the device frame precedes the position
    (webhook,) = [m.payload for m in exit_ if m.kind == "webhook"]
    assert webhook["device"]["geofenceIds"] == []
    assert webhook["geofence"] == {"id": 2, "attributes": {}, "calendarId": 0, "name": "Home", "description": None,
                                   "area": "CIRCLE (48.2082 16.3738, 3000.0)"}
    enter = renderer.render(make_event("geofence_enter", device, {"geofence": "Home", "geofence_id": 2,
                                                                  "fence": fence}, t=T0 + 20, geofences=(2,)))
    (webhook,) = [m.payload for m in enter if m.kind == "webhook"]
    assert webhook["device"]["geofenceIds"] == [2] and webhook["event"]["geofenceId"] == 2
    square = Geofence("Yard", "polygon", points=(LatLon(1.0, 2.0), LatLon(1.0, 3.0), LatLon(2.0, 3.0)))
    assert area_wkt(square) == "POLYGON ((1.0 2.0, 1.0 3.0, 2.0 3.0, 1.0 2.0))"


def test_status_unknown_after_the_status_timeout_then_offline_when_the_connection_closes() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"status_timeout_s": 60, "offline_after_s": 300}, random.Random(1))
    renderer.render(make_event("position", device, t=T0, lag=1.0))
    silence = renderer.render(make_event("offline", device, t=T0 + 5, lag=1.0))
    sockets = [m for m in silence if m.kind == "socket_frame"]
    assert [next(iter(m.payload)) for m in sockets] == ["events", "devices", "events", "devices"]  # 4.12 order
    assert [m.payload["devices"][0]["status"] for m in sockets if "devices" in m.payload] == ["unknown", "offline"]
    assert event_types(silence) == ["deviceUnknown", "deviceOffline"]
    assert [m.send_t for m in sockets] == pytest.approx([T0 + 61, T0 + 61, T0 + 301, T0 + 301])
    back = renderer.render(make_event("position", device, t=T0 + 900, lag=1.0))
    assert event_types(back) == ["deviceOnline"]
    # the default timeout (600 s) is later than PowUnity's 3 minutes: the connection closes first
    renderer = powunity_renderer(device, {}, random.Random(1))
    renderer.render(make_event("position", device, t=T0, lag=1.0))
    assert event_types(renderer.render(make_event("offline", device, t=T0 + 5, lag=1.0))) == ["deviceOffline"]


def test_distances_are_rounded_half_even_from_activation_and_hours_left_out_while_zero() -> None:
    assert round2(2.675) == 2.68 and round2(2.665) == 2.66 and round2(0.125) == 0.12 and round2(1e-5) == 0.0
    device = make_bike()
    renderer = powunity_renderer(device, {}, random.Random(1))
    first = renderer.render(make_event("position", device, t=T0, odometer_m=1_234_567.0, ignition=False))
    second = renderer.render(make_event("position", device, t=T0 + 10, odometer_m=1_234_569.125, ignition=True))
    third = renderer.render(make_event("position", device, t=T0 + 20, odometer_m=1_234_571.375, ignition=True))
    attrs = [ms[-1].payload["positions"][0]["attributes"] for ms in (first, second, third)]
    assert [a["distance"] for a in attrs] == [0.0, 2.12, 2.25]  # 2.125 rounds to the even 2.12
    assert [a["totalDistance"] for a in attrs] == [0.0, 2.12, 4.37]  # from activation, not the odometer
    assert "hours" not in attrs[0] and "hours" not in attrs[1]  # ignition was off before the second fix
    assert attrs[2]["hours"] == 10_000
    assert attrs[0]["status"] == 0xFFFFFBFF and attrs[2]["status"] == 0xFFFFFFFF  # h02 bit 10: ignition
    assert [a["index"] for a in attrs] == [1, 2, 3] and "sat" not in attrs[0]
    assert all(isinstance(a["batteryLevel"], int) for a in attrs)
    assert frames(third) == ["devices", "positions"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_rest_view_is_what_the_frames_showed(profile: str) -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"profile": profile}, random.Random(1))
    assert renderer.last_position is None
    fence = Geofence("Home", "circle", LatLon(48.2082, 16.3738), 3000.0)
    messages = renderer.render(make_event("geofence_enter", device, {"geofence": "Home", "geofence_id": 1,
                                                                     "fence": fence}, geofences=(1,)))
    (pushed,) = [m.payload["positions"][0] for m in messages if "positions" in m.payload]
    assert renderer.last_position == pushed
    view = renderer.device_view()
    assert list(view) == DEVICE_KEYS[profile] and view["positionId"] == pushed["id"]
    (webhook,) = [m.payload for m in messages if m.kind == "webhook"]
    assert view == webhook["device"]
    assert renderer.geofence_view(1, "Home") == webhook["geofence"]


def test_same_seed_same_bytes_under_either_profile() -> None:
    provider = PROVIDERS["powunity"]
    for profile in PROFILES:
        def body(seed: int, profile: str = profile) -> list[bytes]:
            return [provider.serialize(m.payload) for ms in render_all({"profile": profile}, seed) for m in ms]

        assert body(5) == body(5)


def test_without_status_events_the_status_still_changes() -> None:
    device = make_bike()
    renderer = powunity_renderer(device, {"status_events": False}, random.Random(1))
    renderer.render(make_event("position", device, t=T0, lag=1.0))
    silence = renderer.render(make_event("offline", device, t=T0 + 5, lag=1.0))
    assert frames(silence) == ["devices"] and silence[0].payload["devices"][0]["status"] == "offline"
    back = renderer.render(make_event("position", device, t=T0 + 900, lag=1.0))
    assert frames(back) == ["devices", "positions"] and back[0].payload["devices"][0]["status"] == "online"
    assert not [m for m in silence + back if m.kind == "webhook"]
