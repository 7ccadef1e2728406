"""`Drive.__init__` works a segment's line out once for all its phases and makes the rows, harsh events,
speeding intervals and stops in one pass over the phases: each must be exactly the per-phase reference's."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.world.motion import (
    SPEEDING_MIN_S,
    SPEEDING_TOL_KMH,
    Drive,
    DrivingStyle,
    HarshEvent,
    SpeedingInterval,
    plan_drive,
    plan_drive_reference,
)
from simulator.world.profiles import PROFILES, G
from simulator.world.sim import World

from .test_motion import a_route


def _reference_rows(drive: Drive) -> list[tuple[object, ...]]:
    route = drive.route
    segs = route.segments
    rows: list[tuple[object, ...]] = []
    for p, k in zip(drive.phases, drive.phase_segments, strict=True):
        sg = segs[k]
        inv = 1.0 / sg.length_m if sg.length_m > 0 else 0.0
        lat_b = (sg.end.lat - sg.start.lat) * inv
        lon_b = (sg.end.lon - sg.start.lon) * inv
        x_k = route.cum_m[k]
        rows.append((p.t0, p.t1, p.x0, p.v0, p.a, sg.start.lat - lat_b * x_k, lat_b,
                     sg.start.lon - lon_b * x_k, lon_b, round(sg.bearing_deg) % 360, sg.limit_kmh, k))
    return rows


def _reference_harsh(drive: Drive) -> tuple[HarshEvent, ...]:
    prof = drive.profile
    out: list[HarshEvent] = []
    run_kind, run_t, run_peak = "", 0.0, 0.0
    for p in drive.phases:
        kind = "harsh_accel" if p.a > prof.harsh_accel_mps2 else "harsh_brake" if -p.a > prof.harsh_brake_mps2 else ""
        if kind != run_kind:
            if run_kind:
                out.append(HarshEvent(run_t, run_kind, run_peak / G))
            run_kind, run_t, run_peak = kind, p.t0, 0.0
        run_peak = max(run_peak, abs(p.a))
    if run_kind:
        out.append(HarshEvent(run_t, run_kind, run_peak / G))
    for j in range(1, len(drive.route.segments)):
        lateral = drive.junction_speeds[j] ** 2 / drive.junction_radii[j]
        if lateral > prof.harsh_lateral_mps2:
            out.append(HarshEvent(drive.segment_times[j], "harsh_turn", lateral / G))
    out.sort(key=lambda e: e.t)
    return tuple(out)


def _reference_speeding(drive: Drive) -> tuple[SpeedingInterval, ...]:
    raw: list[list[float]] = []
    for p, k in zip(drive.phases, drive.phase_segments, strict=True):
        limit = drive.route.segments[k].limit_kmh
        thr = (limit + SPEEDING_TOL_KMH) / 3.6
        v1 = p.v0 + p.a * (p.t1 - p.t0)
        if p.v0 > thr and v1 > thr:
            ts, te = p.t0, p.t1
        elif p.v0 > thr:
            ts, te = p.t0, p.t0 + (p.v0 - thr) / -p.a
        elif v1 > thr:
            ts, te = p.t0 + (thr - p.v0) / p.a, p.t1
        else:
            continue
        vmax = max(p.v0, v1)
        if raw and raw[-1][2] == limit and ts - raw[-1][1] <= 1e-6:
            raw[-1][1] = te
            raw[-1][3] = max(raw[-1][3], vmax)
        else:
            raw.append([ts, te, limit, vmax])
    return tuple(SpeedingInterval(ts, te, lim, vmax * 3.6) for ts, te, lim, vmax in raw if te - ts > SPEEDING_MIN_S)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_rows_and_derived_lists_match_the_reference(profile: str) -> None:
    style = DrivingStyle(speeding_share=0.3, speeding_margin=0.2, harsh_share=0.3)
    for seed in range(40):
        drive = plan_drive(a_route(seed), PROFILES[profile], style, random.Random(seed))
        assert drive.rows[:-1] == _reference_rows(drive)
        assert drive.harsh_events == _reference_harsh(drive)
        assert drive.speeding_intervals == _reference_speeding(drive)
        assert drive.stops == tuple((p.t0, p.t1) for p in drive.phases if p.a == 0.0 and p.v0 == 0.0)


def _plan(drive: Drive) -> tuple[object, ...]:
    return (drive.phases, drive.phase_segments, drive.junction_speeds, drive.segment_times, drive.junction_radii,
            drive.rows, drive.harsh_events, drive.speeding_intervals, drive.stops, drive.duration_s)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), profile=st.sampled_from(sorted(PROFILES)),
       share=st.sampled_from([0.0, 0.05, 0.3, 1.0]), margin=st.sampled_from([0.0, 0.15, 0.5]))
def test_plan_drive_is_its_reference_draw_for_draw(seed: int, profile: str, share: float, margin: float) -> None:
    """`plan_drive` writes `_segment_phases` and `turn_radius_m` out: the same drive, and the rng left where
    the reference leaves it (every later draw of the device depends on it)."""
    route = a_route(seed % 500)
    style = DrivingStyle(speeding_share=share, speeding_margin=margin, harsh_share=share)
    fast_rng, plain_rng = random.Random(seed), random.Random(seed)
    assert _plan(plan_drive(route, PROFILES[profile], style, fast_rng)) == _plan(
        plan_drive_reference(route, PROFILES[profile], style, plain_rng))
    assert fast_rng.getstate() == plain_rng.getstate()


@pytest.mark.parametrize("name", ["bench-mixed.yaml", "demo-city.yaml", "smartgps-truck-fleet.yaml"])
def test_plan_drive_is_its_reference_on_the_routes_of_shipped_scenarios(name: str) -> None:
    world = World(load_scenario(scenarios_dir() / name))
    net, rng = world.network, random.Random(name)
    for group in world.scenario.groups:
        for _ in range(25):
            route = net.route(net.random_node(rng), net.random_node(rng))
            seed = rng.getrandbits(32)
            fast_rng, plain_rng = random.Random(seed), random.Random(seed)
            profile = PROFILES[group.profile]
            assert _plan(plan_drive(route, profile, group.risk, fast_rng)) == _plan(
                plan_drive_reference(route, profile, group.risk, plain_rng))
            assert fast_rng.getstate() == plain_rng.getstate()
