"""PowUnity's hot-path writers give what their plain versions give: `_position` (a copy of the renderer's template
per profile, `jd` and `_time` written out) against `_position_reference`, `_device` (a copy of the device's
template) against `_device_reference`, `_time` (its minute's text kept) against `_time_reference`. A renderer
that uses the plain writers renders the same events side by side with the shipped one, under every setting
variant and both Traccar profiles; messages, their bytes and the REST view must
agree event by event."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.javajson import dumps
from simulator.providers.powunity.render import PowUnityRenderer
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.world.events import WorldEvent
from simulator.world.fleet import Device
from simulator.world.sim import World

from ..providers.test_render_channels import POWUNITY_VARIANTS
from .test_powunity_render import EVENTS, T0, make_bike, make_event


class PlainPowUnityRenderer(PowUnityRenderer):
    """The renderer with the plain writers the fast ones replace."""

    __slots__ = ()

    def _position(self, facts: Any) -> dict[str, Any]:
        return self._position_reference(facts)

    def _device(self, position_id: int) -> dict[str, Any]:
        return self._device_reference(position_id)

    def _time(self, ms: int) -> str:
        return self._time_reference(ms)


def assert_same(device: Device, settings: Mapping[str, Any], events: Iterable[WorldEvent]) -> int:
    fast = PowUnityRenderer(device, settings, random.Random(5))
    plain = PlainPowUnityRenderer(device, settings, random.Random(5))
    assert fast._shape is not None  # both shipped profiles take the fast displays
    count = 0
    for event in events:
        got, expected = fast.render(event), plain.render(event)
        assert got == expected, event
        assert [dumps(m.payload) for m in got] == [dumps(m.payload) for m in expected], event
        assert [type(v) for m in got for v in _doubles(m.payload)] == \
               [type(v) for m in expected for v in _doubles(m.payload)], event
        assert fast.device_view() == plain.device_view()
        assert fast.last_position == plain.last_position
        count += len(got)
    return count


def _doubles(value: Any) -> Iterable[float]:
    """Every float in a document, in order (JavaDouble or float: == cannot tell them apart)."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _doubles(item)
    elif isinstance(value, list):
        for item in value:
            yield from _doubles(item)


def synthetic(device: Device) -> list[WorldEvent]:
    """Every world kind, each followed by an older fix, near the equator and the prime meridian (coordinates
    below 1e-3, which Java writes 5.0E-4) and with odometers past 1e7 m (5.0E7)."""
    events = []
    for i, (kind, attrs, _) in enumerate(EVENTS):
        t = T0 + 400 * i
        events.append(make_event(kind, device, attrs, t=t, seq=2 * i, odometer_m=9_999_000.0 + 900.123 * i,
                                 speed_kmh=(i % 3) * 9.0, ignition=i % 4 != 0, geofences=(1,) * (i % 2),
                                 lat=0.0004 * (i % 3) - 0.0004, lon=(-1) ** i * 0.00071))
        events.append(make_event("sos" if i % 2 else "tamper", device, t=t - 200, seq=2 * i + 1, lag=220.0,
                                 odometer_m=12_000.0, speed_kmh=0.0))
    return events


@pytest.mark.parametrize("variant", POWUNITY_VARIANTS)
def test_fast_writers_match_the_plain_ones_on_every_world_kind(variant: str) -> None:
    device = make_bike()
    assert assert_same(device, {"initially_armed": True, **POWUNITY_VARIANTS[variant]}, synthetic(device)) > 0


@pytest.mark.parametrize("variant", ["as-shipped", "traccar-6", "armed-traccar-6-quiet"])
def test_fast_writers_match_the_plain_ones_over_the_theft_scenario(variant: str) -> None:
    scenario = load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml")
    world = World(scenario)
    overrides = POWUNITY_VARIANTS[variant]
    for device in world.devices[:4]:
        settings = {**scenario.delivery.providers.get("powunity", {}), **overrides}
        assert assert_same(device, settings, itertools.islice(world.device_events(device), 600)) > 0


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), odometer=st.floats(0, 1e9), speed=st.floats(0, 200),
       profile=st.sampled_from(["traccar-4.12", "traccar-6"]))
def test_fast_position_matches_the_plain_one_on_any_fix(lat: float, lon: float, odometer: float, speed: float,
                                                        profile: str) -> None:
    device = make_bike()
    events = [make_event("position", device, t=T0 + 10 * i, seq=i, lat=lat, lon=lon, speed_kmh=speed,
                         odometer_m=odometer * i) for i in range(3)]
    assert assert_same(device, {"profile": profile}, events) > 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**12, 4 * 10**12), st.integers(1772528340000, 1772528520000)),
                min_size=1, max_size=12))
def test_time_keeps_its_minute_and_matches_the_plain_one(times: list[int]) -> None:
    """Times in and out of the cached minute, in any order (a fix older than the last one included)."""
    renderer = PowUnityRenderer(make_bike(), {}, random.Random(1))
    for ms in times:
        assert renderer._time(ms) == renderer._time_reference(ms), ms


_edges = st.sampled_from([0.0, -0.0, 1e-3, -1e-3, 0.000999, -0.000999, 1e7, -1e7, 9999999.99, -9999999.99,
                          5e-324, float("inf"), float("-inf"), 12.5, -23.5])
_doubles_in = st.one_of(_edges, st.floats(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(distance=_doubles_in, total=_doubles_in, lat=_doubles_in.filter(lambda x: abs(x) < 1e300),
       lon=_doubles_in.filter(lambda x: abs(x) < 1e300), speed=_doubles_in, alarm=st.sampled_from([None, "sos"]),
       hours=st.sampled_from([0, 3600_000]), profile=st.sampled_from(["traccar-4.12", "traccar-6"]),
       geofences=st.sampled_from([(), (1,), (2, 3)]), server_ms=st.integers(0, 4 * 10**12),
       fix_lag=st.integers(0, 200_000))
def test_fast_position_wraps_the_doubles_java_writes_differently_as_jd_does(
        distance: float, total: float, lat: float, lon: float, speed: float, alarm: str | None, hours: int,
        profile: str, geofences: tuple[int, ...], server_ms: int, fix_lag: int) -> None:
    """`_position`'s written-out `jd` tests against `jd` itself, at and around the bounds, signed zeros and
    infinities included (lat and lon finite after scaling by 1e6)."""
    renderer = PowUnityRenderer(make_bike(), {"profile": profile}, random.Random(1))
    facts = (16385, 1, 80, True, True, alarm, True, distance, total, True, hours, server_ms, server_ms - fix_lag,
             True, lat, lon, speed, 90, geofences)
    fast, plain = renderer._position(facts), renderer._position_reference(facts)
    assert fast == plain
    assert list(fast) == list(plain) and list(fast["attributes"]) == list(plain["attributes"])
    assert [(type(v), repr(v)) for v in _doubles(fast)] == [(type(v), repr(v)) for v in _doubles(plain)]
