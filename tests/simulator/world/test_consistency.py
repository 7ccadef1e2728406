"""Physical consistency of the simulated fleet, checked per device over a long run (30 h, every profile).

These are the properties a receiver (or a human looking at a map) would notice first if they broke.
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from simulator.scenario.loader import load_scenario
from simulator.world.events import WorldEvent
from simulator.world.geo import haversine_m, initial_bearing_deg
from simulator.world.profiles import get_profile
from simulator.world.sim import World

SCENARIO = Path(__file__).parents[2] / "fixtures" / "scenarios" / "valid" / "consistency.yaml"


@pytest.fixture(scope="module")
def run() -> tuple[World, dict[str, list[WorldEvent]]]:
    world = World(load_scenario(SCENARIO))
    per_device: dict[str, list[WorldEvent]] = defaultdict(list)
    for event in world.events():
        per_device[event.device.key].append(event)
    return world, per_device


def _theft_window(world: World, key: str) -> tuple[float, float]:
    s = world.scenario
    for inj in s.injections:
        if inj.event == "theft" and f"{inj.group}/{inj.index}" == key:
            return s.start + inj.at_s, s.end  # once stolen, the bike is no longer where its owner left it
    return math.inf, math.inf


def _device_order(events: list[WorldEvent]) -> list[WorldEvent]:
    return sorted(events, key=lambda e: (e.fix.t, e.seq))


def test_the_run_is_long_and_busy(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    world, per_device = run
    assert len(per_device) == sum(g.count for g in world.scenario.groups)
    kinds = {e.kind for events in per_device.values() for e in events}
    for expected in ("position", "speeding_start", "speeding_end", "harsh_brake", "geofence_enter",
                     "geofence_exit", "ignition_on", "ignition_off", "rfid", "face_check", "dms", "adas",
                     "offline", "online", "sensor", "temperature", "movement_alarm", "block", "unblock",
                     "fatigue", "idling"):
        assert expected in kinds, expected


def test_send_order_and_backfill(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    _, per_device = run
    for key, events in per_device.items():
        sends = [e.send_t for e in events]
        assert sends == sorted(sends), key
        last_live = -math.inf
        for e in events:
            assert e.send_t >= e.fix.t, (key, e.kind)
            if e.backfill:
                assert e.send_t - e.fix.t > 1.0  # held on the device, uploaded after the gap
            elif e.kind != "offline":
                # live reports arrive in device-time order up to network jitter (a couple of seconds);
                # only declared back-fill may be older than that
                assert e.fix.t >= last_live - 2.5, (key, e.kind)
                last_live = max(last_live, e.fix.t)
    backfilled = {key for key, events in per_device.items() if any(e.backfill for e in events)}
    assert {"vans/1", "cars/2"} <= backfilled


def test_odometer_only_grows_and_matches_distance(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    _, per_device = run
    for key, events in per_device.items():
        ordered = _device_order(events)
        odo = [e.fix.odometer_m for e in ordered]
        assert all(b >= a for a, b in pairwise(odo)), key
        positions = [e for e in ordered if e.kind == "position" and e.fix.moving]
        travelled = sum(haversine_m(a.fix.lat, a.fix.lon, b.fix.lat, b.fix.lon)
                        for a, b in pairwise(positions)
                        if b.fix.t - a.fix.t <= 15)
        counted = sum(b.fix.odometer_m - a.fix.odometer_m for a, b in pairwise(positions)
                      if b.fix.t - a.fix.t <= 15)
        if counted > 1000:
            # straight lines between fixes cut corners a little; GPS noise adds a little
            assert 0.85 * counted <= travelled <= 1.05 * counted + 50, (key, travelled, counted)


def test_no_movement_with_ignition_off(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    world, per_device = run
    for key, events in per_device.items():
        stolen_from = _theft_window(world, key)[0]
        parked_at = None
        for e in _device_order(events):
            if e.fix.t >= stolen_from:
                break
            if e.fix.ignition:
                parked_at = None
                continue
            assert e.fix.speed_kmh == 0.0, (key, e.kind)
            if parked_at is None:
                parked_at = e.fix
            else:  # only GPS noise: a few metres of scatter, never a trip
                assert haversine_m(parked_at.lat, parked_at.lon, e.fix.lat, e.fix.lon) < 40, (key, e.kind)


def test_speed_course_and_acceleration_agree_with_positions(
    run: tuple[World, dict[str, list[WorldEvent]]],
) -> None:
    _, per_device = run
    checked = 0
    for key, events in per_device.items():
        device = events[0].device
        profile = get_profile(device.profile)
        fixes = [e.fix for e in _device_order(events) if e.kind == "position"]
        for a, b in pairwise(fixes):
            dt = b.t - a.t
            if not (0 < dt <= 15) or not (a.moving and b.moving):
                continue
            checked += 1
            # reported speeds never jump by more than the vehicle can accelerate or brake
            dv = (b.speed_kmh - a.speed_kmh) / 3.6
            assert -profile.max_brake_mps2 * dt - 0.5 <= dv <= profile.max_accel_mps2 * dt + 0.5, (key, dv, dt)
            assert b.speed_kmh <= profile.max_speed_kmh + 0.5
            # the odometer advanced no more and no less than the speeds and the vehicle's limits allow
            va, vb = a.speed_kmh / 3.6, b.speed_kmh / 3.6
            advanced = b.odometer_m - a.odometer_m
            most = (max(va, vb) + 0.5 * profile.max_accel_mps2 * dt) * dt
            least = max(0.0, min(va, vb) - 0.5 * profile.max_brake_mps2 * dt) * dt
            assert least - 5 <= advanced <= most + 5, (key, advanced, least, most)
            # on a straight stretch the course is the bearing of travel
            distance = haversine_m(a.lat, a.lon, b.lat, b.lon)
            if a.course == b.course and distance > 80:
                bearing = initial_bearing_deg(a.lat, a.lon, b.lat, b.lon)
                diff = abs((bearing - a.course + 180) % 360 - 180)
                assert diff < 12, (key, bearing, a.course)
    assert checked > 2000


def test_events_follow_from_the_dynamics(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    world, per_device = run
    fences = {f.name: f for f in world.scenario.geofences}
    for key, events in per_device.items():
        profile = get_profile(events[0].device.profile)
        stolen_from = _theft_window(world, key)[0]
        for e in events:
            if e.fix.t >= stolen_from and e.kind != "movement_alarm":
                continue  # a thief rides without power: not the owner's dynamics
            if e.kind == "speeding_start":
                assert e.fix.speed_kmh > e.attrs["limit_kmh"], e
            elif e.kind == "speeding_end":
                assert e.attrs["max_kmh"] > e.attrs["limit_kmh"] and e.attrs["duration_s"] >= 1
            elif e.kind in ("harsh_brake", "harsh_accel", "harsh_turn") and not e.attrs.get("injected"):
                threshold = {"harsh_brake": profile.harsh_brake_mps2, "harsh_accel": profile.harsh_accel_mps2,
                             "harsh_turn": profile.harsh_lateral_mps2}[e.kind]
                assert e.attrs["g"] * 9.81 >= threshold - 0.05, (e.kind, e.attrs)
                assert e.fix.ignition
            elif e.kind in ("geofence_enter", "geofence_exit"):
                fence = fences[e.attrs["geofence"]]
                if fence.kind == "circle" and fence.center is not None:
                    away = haversine_m(e.fix.lat, e.fix.lon, fence.center.lat, fence.center.lon)
                    inside, outside = away <= fence.radius_m + 5, away >= fence.radius_m - 5
                    assert inside if e.kind == "geofence_enter" else outside
            elif e.kind in ("dms", "adas", "fatigue"):
                assert e.fix.moving and e.fix.ignition, e.kind
            elif e.kind == "movement_alarm":
                assert not e.fix.ignition
            elif e.kind == "temperature":
                # the alert's limit lies between the setpoint and the reading that crossed it, on its side
                low, high = sorted((e.attrs["setpoint_c"], e.attrs["temp_c"]))
                assert low <= e.attrs["threshold_c"] <= high, e.attrs  # the reading is rounded to 0.1 °C
                assert (e.attrs["threshold_c"] > e.attrs["setpoint_c"]) == (e.attrs["direction"] == "above")


def test_enter_and_exit_alternate_per_fence(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    _, per_device = run
    for key, events in per_device.items():
        state: dict[str, str] = {}
        for e in _device_order(events):
            if e.kind in ("geofence_enter", "geofence_exit"):
                name = e.attrs["geofence"]
                assert state.get(name) != e.kind, (key, name, e.kind)
                state[name] = e.kind


def test_shift_starts_with_identification(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    _, per_device = run
    for key in ("vans/1", "vans/2"):
        ordered = _device_order(per_device[key])
        first_ignition = next(i for i, e in enumerate(ordered) if e.kind == "ignition_on")
        before = {e.kind for e in ordered[:first_ignition]}
        assert {"rfid", "face_check"} <= before, key
        swipes = [e for e in ordered if e.kind == "rfid"]
        assert {s.attrs["status"] for s in swipes} == {"enter", "exit"}


def test_blocked_vehicle_stays_put(run: tuple[World, dict[str, list[WorldEvent]]]) -> None:
    world, per_device = run
    s = world.scenario
    block = s.start + 5 * 3600
    unblock = s.start + 9 * 3600
    events = _device_order(per_device["cars/1"])
    block_event = next(e for e in events if e.kind == "block")
    assert block_event.fix.t == pytest.approx(block, abs=1)
    # after the block the vehicle finishes at most its current leg, then no trip starts until unblocked
    starts = [e.fix.t for e in events if e.kind == "moving" and block < e.fix.t < unblock]
    assert len(starts) <= 1


def test_same_seed_same_world_other_seed_other_world() -> None:
    import dataclasses

    scenario = load_scenario(SCENARIO)
    short = dataclasses.replace(scenario, duration_s=3 * 3600)

    def head(s: object) -> list[tuple[str, str, float, float, float]]:
        world = World(s)  # type: ignore[arg-type]
        out = []
        for e, _ in zip(world.events(), range(3000), strict=False):
            out.append((e.device.key, e.kind, e.fix.t, e.fix.lat, e.fix.lon))
        return out

    assert head(short) == head(short)
    assert head(short) != head(dataclasses.replace(short, seed=100))
