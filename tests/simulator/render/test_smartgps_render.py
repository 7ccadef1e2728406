"""SmartGPS renderer: one signed-webhook event per reportable world event, none for positions."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Any

import pytest

from simulator.providers import PROVIDERS
from simulator.providers.smartgps.render import SmartGPSRenderer
from simulator.render.base import Message
from simulator.validation import validate
from simulator.world.events import KINDS, Fix, WorldEvent
from simulator.world.fleet import Device, make_device, make_driver

T0 = 1_772_533_920.6  # 2026-03-03T10:32:00Z, the seed sample's time

#: (kind, attrs, expected event or None) for every world event kind (dms/adas once per behaviour)
EVENTS: list[tuple[str, dict[str, Any], str | None]] = [
    ("position", {}, None),
    ("status", {}, None),
    ("ignition_on", {}, "IGNITION_ON"),
    ("ignition_off", {}, "IGNITION_OFF"),
    ("moving", {}, None),
    ("stopped", {}, None),
    ("speeding_start", {"limit_kmh": 80.0, "speed_kmh": 95.3}, "SPEEDING"),
    ("speeding_end", {"limit_kmh": 80.0, "max_kmh": 104.0, "duration_s": 42.0}, None),
    ("harsh_brake", {"g": 0.52}, "HARSH_BRAKE"),
    ("harsh_accel", {"g": 0.41}, "HARSH_ACCEL"),
    ("harsh_turn", {"g": 0.47}, "HARSH_TURN"),
    ("collision", {"g": 3.1}, "ACCIDENT"),
    ("geofence_enter", {"geofence": "Depot Norte", "geofence_id": 1}, "GEOFENCE_ENTER"),
    ("geofence_exit", {"geofence": "Depot Norte", "geofence_id": 1}, "GEOFENCE_EXIT"),
    ("idling", {"duration_s": 600.0}, None),
    ("fatigue", {"driving_s": 14_400.0}, "FATIGUE"),
    ("rfid", {"status": "enter", "card": "7C3F88A9", "matched": True}, None),
    ("face_check", {"matched": True, "similarity": 8712, "result": 0, "face_id": "15"}, None),
    ("driver_change", {"previous": "Ana Souza"}, "DRIVER_CHANGE"),
    ("dms", {"behavior": "phone"}, "PHONE_USE"),
    ("dms", {"behavior": "smoking"}, "SMOKING"),
    ("dms", {"behavior": "distraction"}, "DISTRACTION"),
    ("dms", {"behavior": "seat_belt"}, "SEAT_BELT"),
    ("adas", {"behavior": "lane_departure"}, None),
    ("adas", {"behavior": "forward_collision"}, None),
    ("sos", {}, "SOS"),
    ("tamper", {}, "TAMPER"),
    ("power_cut", {}, "POWER_CUT"),
    ("power_restored", {}, None),
    ("block", {}, "BLOCKED"),
    ("unblock", {}, None),
    ("offline", {}, "OFFLINE"),
    ("online", {"gap_s": 1800.0}, None),
    ("sensor", {"temp_c": -18.5}, None),
    ("temperature", {"temp_c": -9.0, "setpoint_c": -18.0, "direction": "above", "duration_s": 900.0}, None),
    ("armed", {}, None),
    ("disarmed", {}, None),
    ("movement_alarm", {}, None),
    ("low_battery", {"battery_pct": 12}, None),
]
SEVERITY = {"SOS": "CRITICAL", "ACCIDENT": "CRITICAL", "POWER_CUT": "CRITICAL", "TAMPER": "CRITICAL",
            "BLOCKED": "CRITICAL", "IGNITION_ON": "INFO", "IGNITION_OFF": "INFO", "GEOFENCE_ENTER": "INFO",
            "GEOFENCE_EXIT": "INFO", "DRIVER_CHANGE": "INFO", "OFFLINE": "INFO"}
SAMPLE_ORDER = ["event", "severity", "objectId", "plate", "speed", "limit", "lat", "lng", "timestamp"]


def device(seed: int = 1) -> Device:
    return make_device(random.Random(seed), group="vans", index=seed, number=seed, provider="smartgps",
                       profile="van", features=frozenset({"dms"}), tz_offset_s=-3 * 3600)


def event(dev: Device, kind: str, attrs: dict[str, Any], *, t: float = T0, backfill: bool = False) -> WorldEvent:
    fix = Fix(t=t, lat=-19.916712345, lon=-43.933301, speed_kmh=72.6, course=10, altitude_m=850.0, satellites=11,
              hdop=0.8, valid=True, ignition=True, moving=True, odometer_m=5000.0, gsm_signal=20, ext_voltage=13.8,
              battery_pct=100, limit_kmh=60.0)
    return WorldEvent(kind, dev, fix, t + (900.0 if backfill else 1.0), 0, make_driver(random.Random(2), 2),
                      backfill, dict(attrs))


def render_all(seed: int = 1, backfill: bool = False) -> list[list[Message]]:
    dev = device(seed)
    r = PROVIDERS["smartgps"].renderer(dev, {}, random.Random(seed))
    return [r.render(event(dev, k, a, t=T0 + i, backfill=backfill)) for i, (k, a, _) in enumerate(EVENTS)]


def test_registered_and_covers_every_kind() -> None:
    # the provider hands out its own renderer: the stream asks the provider, never a table keyed by name
    assert isinstance(PROVIDERS["smartgps"].renderer(device(), {}, random.Random(1)), SmartGPSRenderer)
    assert {k for k, _, _ in EVENTS} == KINDS


@pytest.mark.parametrize("backfill", [False, True])
def test_mapping_and_schema(backfill: bool) -> None:
    provider = PROVIDERS["smartgps"]
    dev = device()
    names = set()
    for (kind, _, expected), msgs in zip(EVENTS, render_all(backfill=backfill), strict=True):
        assert [m.payload["event"] for m in msgs] == ([expected] if expected else []), kind
        for m in msgs:
            assert (m.provider, m.kind, m.device, m.source) == ("smartgps", "event", dev.key, kind)
            assert validate(provider, "event", m.payload) == [], m.payload
            assert m.payload["severity"] == SEVERITY.get(m.payload["event"], "WARNING")
            assert m.payload["objectId"] == dev.vendor_ids["object_id"] and m.payload["plate"] == dev.plate
            assert list(m.payload) == [k for k in SAMPLE_ORDER if k in m.payload]
            assert m.send_t >= T0
            names.add(m.payload["event"])
    assert names == {e for _, _, e in EVENTS if e}
    assert len(names) == 20  # every event type of seed 000


def test_speeding_looks_like_the_sample() -> None:
    dev = device()
    msg = PROVIDERS["smartgps"].renderer(dev, {}, random.Random(1)).render(
        event(dev, "speeding_start", {"limit_kmh": 80.0, "speed_kmh": 95.3}))[0]
    object_id = dev.vendor_ids["object_id"]
    assert msg.payload == {"event": "SPEEDING", "severity": "WARNING", "objectId": object_id, "plate": dev.plate,
                           "speed": 95, "limit": 80, "lat": -19.916712, "lng": -43.933301,
                           "timestamp": "2026-03-03T10:32:00Z"}


def test_other_events_carry_speed_but_no_limit() -> None:
    dev = device()
    renderer = PROVIDERS["smartgps"].renderer(dev, {}, random.Random(1))
    p = renderer.render(event(dev, "harsh_brake", {"g": 0.5}))[0].payload
    assert p["speed"] == 73 and isinstance(p["speed"], int) and "limit" not in p


def test_backfilled_events_keep_their_device_time() -> None:
    for msgs in render_all(backfill=True):
        for m in msgs:
            ts = datetime.fromisoformat(m.payload["timestamp"].replace("Z", "+00:00")).timestamp()
            assert m.send_t - ts >= 899


def test_same_seed_same_payloads() -> None:
    def run(seed: int) -> list[Any]:
        return [(m.send_t, list(m.payload.items())) for msgs in render_all(seed) for m in msgs]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_positions_render_nothing_fast() -> None:
    dev = device()
    r = PROVIDERS["smartgps"].renderer(dev, {}, random.Random(1))
    ev = dataclasses.replace(event(dev, "position", {}))
    assert all(r.render(ev) == [] for _ in range(20_000))
