"""Drive physics, sampled the way the world samples it, over many seeds and every vehicle profile."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.model import LatLon, RiskProfile
from simulator.world.geo import angle_diff_deg, haversine_m, initial_bearing_deg
from simulator.world.motion import (
    SPEEDING_MIN_S,
    SPEEDING_TOL_KMH,
    Drive,
    DriveState,
    DrivingStyle,
    plan_drive,
    turn_radius_m,
)
from simulator.world.profiles import PROFILES, G, VehicleProfile
from simulator.world.roads import RoadNetwork, Route

DT = 0.5
EPS = 1e-6


@cache
def network(seed: int) -> RoadNetwork:
    center = (LatLon(-23.5505, -46.6333), LatLon(59.9139, 10.7522), LatLon(41.8781, -87.6298))[seed % 3]
    return RoadNetwork(center, 3.0, random.Random(seed))


def a_route(seed: int, min_segments: int = 1) -> Route:
    net = network(seed % 3)
    rng = random.Random(seed)
    while True:
        r = net.route(net.random_node(rng), net.random_node(rng))
        if len(r.segments) >= min_segments:
            return r


def samples(drive: Drive) -> list[tuple[float, DriveState]]:
    drive.reset()
    out = []
    n = int(drive.duration_s / DT) + 2
    for i in range(n):
        t = min(i * DT, drive.duration_s)
        out.append((t, drive.state_at(t)))
    return out


def check_physics(drive: Drive, route: Route, p: VehicleProfile) -> None:
    drive.reset()
    ts = [min(i * DT, drive.duration_s) for i in range(int(drive.duration_s / DT) + 2)]
    states = [drive.state_at(t) for t in ts]
    a_max = max(p.max_accel_mps2, p.max_brake_mps2)
    integral = 0.0
    for k, (t, s) in enumerate(zip(ts, states, strict=True)):
        assert s == drive.state(t)  # the cursor and the stateless query agree
        assert 0.0 <= s.speed_mps <= p.max_speed_mps + EPS
        assert -p.max_brake_mps2 - EPS <= s.accel_mps2 <= p.max_accel_mps2 + EPS
        assert 0 <= s.course <= 359 and s.limit_kmh is not None and s.limit_kmh > 0
        seg = route.segments[s.segment]
        assert s.limit_kmh == seg.limit_kmh and s.course == round(seg.bearing_deg) % 360
        assert route.cum_m[s.segment] - EPS <= s.x_m <= route.cum_m[s.segment + 1] + EPS
        if k == 0:
            continue
        t0, s0 = ts[k - 1], states[k - 1]
        dt = t - t0
        assert abs(s.speed_mps - s0.speed_mps) <= a_max * dt + EPS  # continuity
        assert s.x_m >= s0.x_m - EPS  # never backwards
        integral += 0.5 * (s.speed_mps + s0.speed_mps) * dt
        moved = haversine_m(s0.lat, s0.lon, s.lat, s.lon)
        if s.segment == s0.segment and moved > 3.0:
            heading = initial_bearing_deg(s0.lat, s0.lon, s.lat, s.lon)
            assert abs(angle_diff_deg(heading, s.course)) <= 2.0
            implied = moved / dt
            # the two speeds' mean is the mean speed when no phase starts in between; across a change of
            # acceleration Δa the true mean can differ from it by up to Δa·dt/8
            kink = abs(s.accel_mps2 - s0.accel_mps2) * dt / 8
            assert abs(implied - 0.5 * (s.speed_mps + s0.speed_mps)) <= 0.05 * implied + kink
            assert moved == pytest.approx(s.x_m - s0.x_m, rel=0.001)
    assert integral == pytest.approx(drive.length_m, rel=0.01, abs=1.0)
    end = drive.state_at(drive.duration_s)
    assert end.speed_mps < 1e-6 and end.x_m == pytest.approx(route.length_m)
    assert haversine_m(end.lat, end.lon, route.end.lat, route.end.lon) < 0.5
    after = drive.state_at(drive.duration_s + 60)
    assert after.speed_mps == 0.0 and after.accel_mps2 == 0.0 and after.x_m == route.length_m
    assert (after.lat, after.lon) == (route.end.lat, route.end.lon)
    start = drive.state(0.0)
    assert start.speed_mps == 0.0 and start.x_m == 0.0
    assert (start.lat, start.lon) == pytest.approx((route.start.lat, route.start.lon))


def check_plan(drive: Drive, p: VehicleProfile) -> None:
    """The phases themselves: contiguous in time, continuous in speed and distance."""
    phases = drive.phases
    assert phases[0].t0 == 0.0 and phases[0].x0 == 0.0 and phases[0].v0 == 0.0
    for prev, ph in itertools.pairwise(phases):
        d = prev.t1 - prev.t0
        assert ph.t0 == prev.t1 and d > 0
        assert ph.v0 == pytest.approx(prev.v0 + prev.a * d, abs=1e-6)
        assert ph.x0 == pytest.approx(prev.x0 + prev.v0 * d + 0.5 * prev.a * d * d, abs=1e-6)
    last = phases[-1]
    d = last.t1 - last.t0
    assert last.v0 + last.a * d == pytest.approx(0.0, abs=1e-6)
    assert last.x0 + last.v0 * d + 0.5 * last.a * d * d == pytest.approx(drive.length_m, abs=1e-6)
    assert drive.duration_s == last.t1
    for t0, t1 in drive.stops:
        assert t1 > t0
        assert drive.state((t0 + t1) / 2).speed_mps == 0.0


def expected_harsh(drive: Drive, p: VehicleProfile) -> list[tuple[float, str]]:
    """Harsh events recomputed independently: runs of phases beyond the thresholds, and junctions passed
    (speed read back from the drive itself) with lateral acceleration beyond the threshold."""
    out: list[tuple[float, str]] = []
    prev = ""
    for ph in drive.phases:
        kind = "harsh_accel" if ph.a > p.harsh_accel_mps2 else "harsh_brake" if -ph.a > p.harsh_brake_mps2 else ""
        if kind and kind != prev:
            out.append((ph.t0, kind))
        prev = kind
    for j in range(1, len(drive.route.segments)):
        t = drive.segment_times[j]
        v = drive.state(t).speed_mps
        if v * v / turn_radius_m(drive.route.turn_angles[j - 1]) > p.harsh_lateral_mps2:
            out.append((t, "harsh_turn"))
    return sorted(out)


def check_harsh(drive: Drive, p: VehicleProfile) -> None:
    got = sorted((e.t, e.kind) for e in drive.harsh_events)
    want = expected_harsh(drive, p)
    assert [k for _, k in got] == [k for _, k in want]
    assert [t for t, _ in got] == pytest.approx([t for t, _ in want])
    limits = {"harsh_accel": (p.harsh_accel_mps2, p.max_accel_mps2),
              "harsh_brake": (p.harsh_brake_mps2, p.max_brake_mps2),
              "harsh_turn": (p.harsh_lateral_mps2, p.max_lateral_mps2)}
    for e in drive.harsh_events:
        lo, hi = limits[e.kind]
        assert lo < e.g * G <= hi + EPS
    # every sampled moment beyond a longitudinal threshold lies in a run of harsh phases whose start was reported
    reported = {(round(e.t, 6), e.kind) for e in drive.harsh_events}
    phases = drive.phases
    t1s = [ph.t1 for ph in phases]
    for t, s in samples(drive):
        for kind, sign, thr in (("harsh_accel", 1.0, p.harsh_accel_mps2), ("harsh_brake", -1.0, p.harsh_brake_mps2)):
            if sign * s.accel_mps2 > thr:
                i = bisect.bisect_right(t1s, t)
                assert phases[i].a == s.accel_mps2
                while i > 0 and sign * phases[i - 1].a > thr:
                    i -= 1
                assert (round(phases[i].t0, 6), kind) in reported


def check_speeding(drive: Drive) -> None:
    intervals = drive.speeding_intervals
    for iv in intervals:
        assert iv.t_end - iv.t_start > SPEEDING_MIN_S
        assert iv.max_kmh > iv.limit_kmh + SPEEDING_TOL_KMH
    for a, b in itertools.pairwise(intervals):
        assert a.t_end <= b.t_start
    run: list[float] = []
    run_limit = None

    def close_run() -> None:
        if run:
            assert run[-1] - run[0] < SPEEDING_MIN_S + DT  # an exceedance nobody reported was short
            run.clear()

    for t, s in samples(drive):
        kmh = s.speed_mps * 3.6
        limit = s.limit_kmh
        assert limit is not None
        inside = [iv for iv in intervals if iv.t_start + EPS < t < iv.t_end - EPS]
        if inside:
            iv = inside[0]
            assert iv.limit_kmh == limit
            assert limit + SPEEDING_TOL_KMH - EPS <= kmh <= iv.max_kmh + EPS
            close_run()
        elif kmh > limit + SPEEDING_TOL_KMH + 0.01 and not any(abs(t - iv.t_start) < DT or abs(t - iv.t_end) < DT
                                                                for iv in intervals):
            if run_limit != limit:
                close_run()
            run.append(t)
            run_limit = limit
        else:
            close_run()
    close_run()


profile_st = st.sampled_from(sorted(PROFILES))
style_st = st.builds(
    DrivingStyle,
    speeding_share=st.floats(0.0, 1.0),
    speeding_margin=st.floats(0.0, 0.4),
    harsh_share=st.floats(0.0, 1.0),
)


@given(st.integers(0, 2**32 - 1), profile_st, style_st)
@settings(max_examples=70, deadline=None)
def test_drive_physics_and_derived_events(seed: int, profile: str, style: DrivingStyle) -> None:
    p = PROFILES[profile]
    route = a_route(seed)
    drive = plan_drive(route, p, style, random.Random(seed))
    check_plan(drive, p)
    check_physics(drive, route, p)
    check_harsh(drive, p)
    check_speeding(drive)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_calm_driver_never_alarms_nor_speeds(profile: str) -> None:
    p = PROFILES[profile]
    calm = DrivingStyle(speeding_share=0.0, speeding_margin=0.3, harsh_share=0.0)
    for seed in range(8):
        route = a_route(seed, min_segments=5)
        drive = plan_drive(route, p, calm, random.Random(seed))
        assert drive.harsh_events == () and drive.speeding_intervals == ()
        for _, s in samples(drive):
            assert s.limit_kmh is not None and s.speed_mps * 3.6 <= s.limit_kmh + EPS
        for j in range(1, len(route.segments)):  # corners at comfortable lateral acceleration
            v = drive.junction_speeds[j]
            assert v * v / turn_radius_m(route.turn_angles[j - 1]) <= p.lateral_mps2 + EPS


@pytest.mark.parametrize("profile", ["car", "van", "truck", "bus"])
def test_reckless_driver_speeds_and_alarms(profile: str) -> None:
    p = PROFILES[profile]
    wild = DrivingStyle(speeding_share=1.0, speeding_margin=0.2, harsh_share=1.0)
    kinds: set[str] = set()
    for seed in range(6):
        drive = plan_drive(a_route(seed, min_segments=8), p, wild, random.Random(seed))
        assert drive.speeding_intervals  # every segment drawn as speeding
        assert drive.harsh_events
        kinds |= {e.kind for e in drive.harsh_events}
    assert kinds == {"harsh_accel", "harsh_brake", "harsh_turn"}


def test_e_bike_cannot_speed_past_its_limiter() -> None:
    p = PROFILES["e-bike"]
    wild = DrivingStyle(speeding_share=1.0, speeding_margin=0.5, harsh_share=0.0)
    for seed in range(5):
        drive = plan_drive(a_route(seed, 5), p, wild, random.Random(seed))
        assert drive.speeding_intervals == ()  # 25 km/h never beats a 30 km/h limit
        assert max(s.speed_mps for _, s in samples(drive)) <= 25 / 3.6 + EPS


def test_risk_profile_is_a_style_and_same_seed_same_drive() -> None:
    route = a_route(11, 6)
    a = plan_drive(route, PROFILES["van"], RiskProfile(), random.Random(5))
    b = plan_drive(route, PROFILES["van"], RiskProfile(), random.Random(5))
    c = plan_drive(route, PROFILES["van"], RiskProfile(), random.Random(6))
    assert a.phases == b.phases and a.harsh_events == b.harsh_events
    assert a.speeding_intervals == b.speeding_intervals
    assert a.phases != c.phases


def test_sharper_turns_are_slower() -> None:
    radii = [turn_radius_m(d) for d in (5, 30, 45, 90, 135, 180)]
    assert radii == sorted(radii, reverse=True)
    assert turn_radius_m(90) == pytest.approx(12.0)
    assert turn_radius_m(0) == math.inf and turn_radius_m(-90) == turn_radius_m(90)
    car = PROFILES["car"]
    assert 15 < math.sqrt(car.lateral_mps2 * turn_radius_m(90)) * 3.6 < 25  # a right-angle turn at ~20 km/h


def test_right_angle_turns_slow_the_vehicle() -> None:
    calm = DrivingStyle(0.0, 0.0, 0.0)
    seen = 0
    for seed in range(10):
        route = a_route(seed, 4)
        drive = plan_drive(route, PROFILES["car"], calm, random.Random(seed))
        for j in range(1, len(route.segments)):
            if abs(route.turn_angles[j - 1]) > 60:
                seen += 1
                assert drive.junction_speeds[j] * 3.6 < 30
    assert seen


def test_empty_route() -> None:
    net = network(0)
    route = net.route(3, 3)
    drive = plan_drive(route, PROFILES["car"], DrivingStyle(), random.Random(1))
    assert drive.duration_s == 0.0 and drive.length_m == 0.0 and drive.phases == ()
    for t in (-1.0, 0.0, 5.0):
        s = drive.state_at(t)
        assert (s.lat, s.lon, s.speed_mps, s.x_m) == (route.start.lat, route.start.lon, 0.0, 0.0)
        assert drive.state(t) == s
    assert drive.harsh_events == () and drive.speeding_intervals == () and drive.stops == ()


def test_state_at_tolerates_going_back_in_time() -> None:
    route = a_route(2, 5)
    drive = plan_drive(route, PROFILES["car"], DrivingStyle(), random.Random(2))
    mid = drive.duration_s / 2
    late = drive.state_at(mid + 30)
    assert drive.state_at(mid) == drive.state(mid)
    assert drive.state_at(-5).x_m == 0.0
    assert drive.state_at(mid + 30) == late


def test_stops_at_junctions_are_real_stops() -> None:
    found = 0
    for seed in range(20):
        route = a_route(seed, 6)
        drive = plan_drive(route, PROFILES["car"], DrivingStyle(), random.Random(seed))
        for t0, t1 in drive.stops:
            found += 1
            s0, s1 = drive.state(t0), drive.state(t1)
            assert s0.speed_mps < 1e-6 and s1.speed_mps < 1e-6 and s0.x_m == pytest.approx(s1.x_m)
            assert 1.0 <= t1 - t0 <= 45.0
    assert found
