"""`DeviceSim._build_fix` (the hot path, `rounded` written out six times) must build the very Fix that
`_build_fix_reference` (each value through `rounded`) builds: every field to the last bit, -0.0 included. A wrong
scale, a dropped fallback or a changed operation order shows here as a different repr, and in the whole streams
of the shipped scenarios below, which also compare `_push` (with `_send` written out) with `_push_reference`."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.rounding import _SCALES
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.world import vehicle
from simulator.world.events import Fix, WorldEvent
from simulator.world.profiles import PROFILES
from simulator.world.sim import World, device_rng
from simulator.world.vehicle import _NORMAL_MASK, DeviceSim

SCENARIOS = sorted(path.name for path in scenarios_dir().glob("*.yaml"))
_WORLD = World(load_scenario(scenarios_dir() / "demo-city.yaml"))


def a_sim() -> DeviceSim:
    w, device = _WORLD, _WORLD.devices[0]
    s = w.scenario
    group = next(g for g in s.groups if g.name == device.group)
    return DeviceSim(s, group, device, w.drivers[group.name], w.network, [], device_rng(s, device.key))


def as_repr(fix: Fix) -> str:
    return repr(dataclasses.astuple(fix))


def test_the_written_out_scales_are_rounded_s() -> None:
    assert (_SCALES[1], _SCALES[2], _SCALES[6]) == (10.0, 100.0, 1e6)


def near_ties(digits: int, lo: float, hi: float) -> st.SearchStrategy[float]:
    """Values on, or a few ulps off, a decimal half at `digits`: where the fast path must hand over to round()."""
    scale = 10**digits
    return st.tuples(st.integers(min_value=int(lo * scale), max_value=int(hi * scale)), st.integers(-3, 3)).map(
        lambda c: _ulps((c[0] + 0.5) / scale, c[1]))


def _ulps(x: float, n: int) -> float:
    for _ in range(abs(n)):
        x = math.nextafter(x, math.inf if n > 0 else -math.inf)
    return x


def coordinate(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.one_of(st.floats(min_value=lo, max_value=hi), near_ties(6, lo, hi),
                     st.floats(min_value=-1e-6, max_value=1e-6))


@settings(max_examples=3000, deadline=None)
@given(lat=coordinate(-89.0, 89.0), lon=coordinate(-180.0, 180.0),
       speed=st.one_of(st.floats(min_value=0.0, max_value=70.0), near_ties(1, 0.0, 250.0).map(lambda k: k / 3.6),
                       st.sampled_from([0.0, 0.01, 0.5])),
       altitude=st.one_of(st.floats(min_value=-500.0, max_value=9000.0), near_ties(1, -500.0, 9000.0),
                          st.floats(min_value=-0.1, max_value=0.1)),
       sats=st.integers(4, 16), r2=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
       noise_i=st.integers(0, _NORMAL_MASK), power=st.booleans(), ignition=st.booleans(),
       profile=st.sampled_from(sorted(PROFILES)), t=st.floats(min_value=1.6e9, max_value=1.9e9),
       noiseless=st.booleans())
def test_build_fix_is_the_reference(lat: float, lon: float, speed: float, altitude: float, sats: int, r2: float,
                                    noise_i: int, power: bool, ignition: bool, profile: str, t: float,
                                    noiseless: bool) -> None:
    # noiseless: the drawn values are rounded as they are (ties, tiny negatives to -0.0), not moved by GPS noise
    with mock.patch.object(vehicle, "_NORMALS", (0.0,) * (_NORMAL_MASK + 1) if noiseless else vehicle._NORMALS):
        same_fix(lat, lon, speed, altitude, sats, r2, noise_i, power, ignition, profile, t)


def same_fix(lat: float, lon: float, speed: float, altitude: float, sats: int, r2: float, noise_i: int,
             power: bool, ignition: bool, profile: str, t: float) -> None:
    sim = a_sim()
    sim.profile = PROFILES[profile]
    s = sim.state
    s.lat, s.lon, s.speed_mps, s.altitude_m, s.satellites = lat, lon, speed, altitude, sats
    s.power, s.ignition = power, ignition
    sim._noise_i = noise_i
    assert as_repr(sim._build_fix(t, r2)) == as_repr(sim._build_fix_reference(t, r2))


def fingerprints(events: Iterator[WorldEvent], n: int) -> list[str]:
    return [repr((e.kind, dataclasses.astuple(e.fix), e.send_t, e.seq, e.attrs)) for e in itertools.islice(events, n)]


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("method", ["_build_fix", "_push"])
def test_shipped_streams_are_the_reference_s(name: str, method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hand-written hot method against its `_reference`: the first 20,000 events of every shipped scenario,
    all kinds (every fix built, every event pushed)."""
    scenario = load_scenario(scenarios_dir() / name)
    fast = fingerprints(World(scenario).events(), 20_000)
    reference: Callable[..., Any] = getattr(DeviceSim, f"{method}_reference")
    monkeypatch.setattr(DeviceSim, method, reference)
    assert fingerprints(World(scenario).events(), 20_000) == fast
