"""A renderer asked for some channels (`channels=`, render.base.RendererFactory) yields exactly the messages of
those channels it yields when asked for all: same kinds, send times, payloads (and their serialized bytes),
sources and order. A webhook run asks for {"webhook"} (PowUnity then builds no socket frame), `fleetsim serve`
for {"websocket"}.

Each shipped scenario is rendered three times side by side, event by event (full, webhooks only, frames only),
from the same world events and render seed; a difference in any event's messages fails. PowUnity is also
rendered under every setting that changes which webhooks it sends and under both Traccar profiles."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.providers import PROVIDERS
from simulator.providers.powunity.render import PowUnityRenderer
from simulator.render.base import NO_MESSAGES, Message
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.world.fleet import make_device
from simulator.world.sim import World

from ..render.test_powunity_render import EVENTS, T0, make_bike, make_event

WEBHOOKS = frozenset({"webhook"})
FRAMES = frozenset({"websocket"})
SCENARIOS = sorted(scenarios_dir().glob("*.yaml"))
#: bounds that keep a scenario quick (bench-mixed has 200 devices over a day) yet reach alarms, motion changes
#: and silences: the theft scenario's bikes are rendered whole (about 640 events each; bikes/2 is stolen)
DEVICES_PER_GROUP = 2
EVENTS_PER_DEVICE = 800
#: the PowUnity settings that change which webhooks are sent, and the Traccar profiles
POWUNITY_VARIANTS: dict[str, dict[str, Any]] = {
    "as-shipped": {},
    "all-types": {"webhook_types": None},
    "traccar-6": {"profile": "traccar-6", "webhook_types": None},
    "not-b2b": {"b2b": False, "webhook_types": None},
    "types-list": {"webhook_types": ["alarm", "deviceMoving", "geofenceExit", "deviceOffline"]},
    "types-string": {"webhook_types": "deviceOnline, deviceStopped,ignitionOn"},
    "no-status-events": {"status_events": False, "webhook_types": None},
    "armed": {"initially_armed": True, "webhook_types": None},
    "armed-traccar-6-quiet": {"profile": "traccar-6", "initially_armed": True, "status_events": False,
                              "webhook_types": None},
    "unknown-first": {"status_timeout_s": 60, "offline_after_s": 300, "webhook_types": None},
}


def channel(message: Message) -> str:
    return PROVIDERS[message.provider].kinds[message.kind].channel


def assert_same_as_full(full: list[Message], part: list[Message], wanted: frozenset[str], where: str) -> None:
    expected = [m for m in full if channel(m) in wanted]
    assert part == expected, where
    serialize = PROVIDERS[full[0].provider].serialize if full else None
    if serialize is not None:  # the bytes too: javajson writes a double as Jackson does, == cannot see that
        assert [serialize(m.payload) for m in part] == [serialize(m.payload) for m in expected], where


def side_by_side(provider: str, device: Any, settings: Mapping[str, Any], seed: str,
                 events: Iterator[Any]) -> Counter[str]:
    """Render `events` with channels None, {"webhook"} and {"websocket"} at once (each renderer its own rng of
    the same seed); every event's messages must agree. Counts what the full renderer sent, per channel and
    per webhook event type."""
    full, webhooks, frames = (PROVIDERS[provider].renderer(device, settings, random.Random(seed), channels=c)
                              for c in (None, WEBHOOKS, FRAMES))
    seen: Counter[str] = Counter()
    for event in events:
        everything = full.render(event)
        where = f"{device.key} {event.kind} at {event.send_t}"
        assert_same_as_full(everything, webhooks.render(event), WEBHOOKS, where)
        assert_same_as_full(everything, frames.render(event), FRAMES, where)
        for message in everything:
            seen[channel(message)] += 1
            if message.kind == "webhook" and message.provider == "powunity":
                seen[message.payload["event"]["type"]] += 1
    return seen


def render_scenario(scenario: Scenario, overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                    only: str | None = None) -> Counter[str]:
    """The first devices of each group (of provider `only`, if given), side by side."""
    world = World(scenario)
    seen: Counter[str] = Counter()
    for _, group in itertools.groupby(world.devices, key=lambda d: d.group):
        for device in itertools.islice(group, DEVICES_PER_GROUP):
            if only is not None and device.provider != only:
                break
            settings = {**scenario.delivery.providers.get(device.provider, {}),
                        **(overrides or {}).get(device.provider, {})}
            seed = f"fleetsim:{scenario.name}:{scenario.seed}:{device.key}:render"  # as the stream seeds it
            events = itertools.islice(world.device_events(device), EVENTS_PER_DEVICE)
            seen += side_by_side(device.provider, device, settings, seed, events)
    return seen


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_renders_the_same_messages_per_channel(path: Path) -> None:
    seen = render_scenario(load_scenario(path))
    assert seen["webhook"] > 0  # every shipped scenario sends webhooks: the comparison is never empty


#: the scenarios with bikes, but bench-mixed (its bikes are demo-city's, 20 times over; it runs as shipped above)
POWUNITY_SCENARIOS = [p for p in SCENARIOS if p.stem != "bench-mixed"
                      and any(g.provider == "powunity" for g in load_scenario(p).groups)]


@pytest.mark.parametrize("variant", POWUNITY_VARIANTS)
@pytest.mark.parametrize("path", POWUNITY_SCENARIOS, ids=lambda p: p.stem)
def test_powunity_webhooks_and_frames_alone_under_every_setting(path: Path, variant: str) -> None:
    seen = render_scenario(load_scenario(path), {"powunity": POWUNITY_VARIANTS[variant]}, only="powunity")
    assert seen["websocket"] > seen["webhook"] >= 0 and seen["websocket"] > 0


def test_the_theft_scenario_reaches_every_kind_of_webhook() -> None:
    # the side-by-side comparison above means something only if it meets alarms, motion changes, silences and
    # geofences: the theft scenario, armed, renders every one of them
    theft = load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml")
    seen = render_scenario(theft, {"powunity": POWUNITY_VARIANTS["armed"]}, only="powunity")
    assert {"alarm", "deviceMoving", "deviceStopped", "deviceOnline", "deviceOffline", "ignitionOn",
            "ignitionOff", "geofenceExit"} <= set(seen), seen


def test_every_world_kind_out_of_order_fixes_and_silences() -> None:
    """The synthetic sequence of every world kind (armed, disarmed, alarms, offline, online), each followed by an
    older fix (stored, not pushed, its alarm still sent), and a long silence that settles a motion change."""
    for name, variant in POWUNITY_VARIANTS.items():
        device = make_bike()
        events = []
        for i, (kind, attrs, _) in enumerate(EVENTS):
            t = T0 + 400 * i
            events.append(make_event(kind, device, attrs, t=t, seq=2 * i, odometer_m=12_345.5 + 900 * i,
                                     speed_kmh=(i % 3) * 9.0, ignition=i % 4 != 0, geofences=(1,) * (i % 2)))
            events.append(make_event("sos" if i % 2 else "tamper", device, t=t - 200, seq=2 * i + 1, lag=220.0,
                                     odometer_m=12_000.0, speed_kmh=0.0))
        seen = side_by_side("powunity", device, {"initially_armed": True, **variant}, f"synthetic:{name}", iter(events))
        assert seen["webhook"] > 0 or name.startswith("types"), name


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_any_seed_renders_the_same_messages_per_channel(seed: int) -> None:
    theft = dataclasses.replace(load_scenario(scenarios_dir() / "powunity-ebike-theft.yaml"), seed=seed)
    render_scenario(theft, {"powunity": {"initially_armed": bool(seed % 2), "webhook_types": None}})


def test_no_wanted_channel_renders_nothing() -> None:
    for name, provider in PROVIDERS.items():
        device = make_device(random.Random(3), group="g", index=1, number=1, provider=name, profile="car",
                             features=frozenset(), tz_offset_s=0)
        if provider.channels == WEBHOOKS:  # webhook-only: a frames run gets a renderer that does no work
            assert provider.renderer(device, {}, random.Random(1), channels=FRAMES) is NO_MESSAGES, name
        assert provider.renderer(device, {}, random.Random(1), channels=frozenset({"api"})).render(
            make_event("sos", device)) == [], name


def test_powunity_without_frames_keeps_the_rest_view() -> None:
    # the REST view (device_view, last_position) reads the same state, whether the frames were built or not
    device = make_bike()
    full, webhooks = (PROVIDERS["powunity"].renderer(device, {}, random.Random(1), channels=c)
                      for c in (None, WEBHOOKS))
    assert isinstance(webhooks, PowUnityRenderer) and isinstance(full, PowUnityRenderer)
    for i in range(3):
        event = make_event("position", device, t=T0 + 10 * i, odometer_m=100.0 + 7 * i)
        full.render(event)
        assert webhooks.render(event) == []
    assert webhooks.last_position == full.last_position is not None
    assert webhooks.device_view() == full.device_view()
