"""Quiet events: `World.device_events(device, kinds)` yields exactly the device's events of those kinds, each the
very event it yields among all of them (kind, fix to the last bit, send time, seq, attrs, backfill, driver), and
a renderer given only the kinds it declares (`Renderer.reads`) renders what it renders given every event.

The world skips building the events of other kinds but must still make their state changes and rng draws in the
same order; a missed draw or a wrong declaration (a renderer that starts reading `status` without saying so)
changes a later event or message, which these comparisons see."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.providers import PROVIDERS
from simulator.render.base import NO_MESSAGES, Message
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.stream import device_messages
from simulator.world.events import KINDS, WorldEvent
from simulator.world.fleet import Device
from simulator.world.sim import World
from simulator.world.vehicle import DeviceSim

SCENARIOS = sorted(path.name for path in scenarios_dir().glob("*.yaml"))
#: bench-mixed has 200 devices over a day: a few of each group, whole length, keep it quick; the others whole
DEVICES_PER_GROUP = {"bench-mixed.yaml": 3}
#: the kinds the quiet-event renderers read, asked of every device (a Samsara set of a MettaX van, ...)
SUBSETS = {
    "samsara": frozenset({"speeding_start", "speeding_end", "harsh_brake", "harsh_accel", "harsh_turn", "collision",
                          "geofence_enter", "geofence_exit", "idling", "temperature", "power_cut", "tamper",
                          "low_battery", "sos", "moving"}),
    "positions-only": frozenset({"position"}),
    "no-positions": KINDS - {"position"},
    "sensor-not-temperature": frozenset({"sensor", "status"}),
    "temperature-not-sensor": frozenset({"temperature", "fatigue", "offline", "online"}),
}

_WORLDS: dict[str, World] = {}


def world(name: str) -> World:
    if name not in _WORLDS:
        _WORLDS[name] = World(load_scenario(scenarios_dir() / name))
    return _WORLDS[name]


def devices(name: str) -> list[Device]:
    w = world(name)
    per_group = DEVICES_PER_GROUP.get(name)
    if per_group is None:
        return w.devices
    return [d for d in w.devices if d.index <= per_group]


def fingerprint(event: WorldEvent) -> tuple[Any, ...]:
    """Every field of an event; floats by repr, which tells -0.0 from 0.0 (== does not)."""
    return (event.kind, repr(dataclasses.astuple(event.fix)), repr(event.send_t), event.seq, event.device.key,
            event.driver, event.backfill, repr(event.attrs))


def prints(events: Iterator[WorldEvent]) -> list[tuple[Any, ...]]:
    return [fingerprint(e) for e in events]


def assert_quiet_equals_restricted(w: World, device: Device, kinds: Collection[str], everything: list[Any]) -> None:
    wanted = frozenset(kinds)
    expected = [p for p in everything if p[0] in wanted]
    assert prints(w.device_events(device, wanted)) == expected, f"{device.key} kinds={sorted(wanted)}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_quiet_events_are_the_full_streams_restricted_to_the_kinds(name: str) -> None:
    w = world(name)
    for device in devices(name):
        everything = prints(w.device_events(device))
        assert everything
        assert {p[0] for p in everything} <= KINDS  # None means KINDS: no kind outside it may exist
        renderer = PROVIDERS[device.provider].renderer(device, {}, random.Random(1))
        declared = [renderer.reads] if renderer.reads is not None else []
        for kinds in [*declared, *SUBSETS.values()]:
            assert_quiet_equals_restricted(w, device, kinds, everything)


def test_no_kind_simulates_nothing() -> None:
    w = world("demo-city.yaml")
    assert list(w.device_events(w.devices[0], frozenset())) == []
    assert NO_MESSAGES.reads == frozenset()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=st.integers(min_value=0, max_value=10_000), kinds=st.sets(st.sampled_from(sorted(KINDS))))
def test_any_set_of_kinds_gives_the_restricted_stream(number: int, kinds: set[str]) -> None:
    w = world("demo-city.yaml")
    device = w.devices[number % len(w.devices)]
    assert_quiet_equals_restricted(w, device, kinds, prints(w.device_events(device)))


def rendered(scenario: Scenario, device: Device, settings_: Mapping[str, Any],
             events: Iterator[WorldEvent]) -> list[tuple[Message, bytes]]:
    """Every message `events` render to, in render order, with its serialized payload (javajson writes a double
    as Jackson does: == on payloads cannot see that), from the render seed the stream uses."""
    provider = PROVIDERS[device.provider]
    seed = f"fleetsim:{scenario.name}:{scenario.seed}:{device.key}:render"
    renderer = provider.renderer(device, settings_, random.Random(seed))
    return [(m, provider.serialize(m.payload)) for e in events for m in renderer.render(e)]


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_renderer_given_only_the_kinds_it_reads_renders_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    w = world(name)
    picked = devices(name)
    asked: list[Collection[str] | None] = []
    for device in picked:
        settings_ = w.scenario.delivery.providers.get(device.provider, {})
        reads = PROVIDERS[device.provider].renderer(device, settings_, random.Random(1)).reads
        full = rendered(w.scenario, device, settings_, w.device_events(device))
        assert rendered(w.scenario, device, settings_, w.device_events(device, reads)) == full, device.key
    # the stream asks the world for the declared kinds only, and its messages are those of every event
    quiet = {d.key: list(device_messages(w, d, w.scenario.delivery.providers.get(d.provider, {}))) for d in picked}
    original = World.device_events

    def every_event(device: Device, kinds: Collection[str] | None = None) -> Iterator[WorldEvent]:
        asked.append(kinds)
        return original(w, device)

    monkeypatch.setattr(w, "device_events", every_event)
    for device in picked:
        assert quiet[device.key] == list(device_messages(w, device, w.scenario.delivery.providers.get(
            device.provider, {}))), device.key
    assert any(kinds is not None for kinds in asked) == any(d.provider in ("samsara", "smartgps") for d in picked)


def test_every_samsara_setting_declares_what_it_reads() -> None:
    """Samsara reads other kinds under other settings (2.0's sos and speeding_start, movement alerts' moving):
    rendered side by side over the demo's Samsara devices for each."""
    w = world("demo-city.yaml")
    for device in (d for d in w.devices if d.provider == "samsara"):
        for variant in ({"payload_version": 1}, {"payload_version": 2}, {"payload_version": 1, "movement_alerts": True},
                        {"payload_version": 2, "movement_alerts": True}):
            reads = PROVIDERS["samsara"].renderer(device, variant, random.Random(1)).reads
            assert reads is not None and "moving" in reads
            full = rendered(w.scenario, device, variant, w.device_events(device))
            assert rendered(w.scenario, device, variant, w.device_events(device, reads)) == full, variant


def test_the_filter_costs_nothing_when_every_kind_is_wanted() -> None:
    """kinds=KINDS is every event, as None is."""
    w = world("demo-city.yaml")
    for device in itertools.islice(w.devices, 4):
        assert prints(w.device_events(device, KINDS)) == prints(w.device_events(device))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_provider_declares_what_it_reads_over_every_feature(provider: str) -> None:
    """The demo's fleet (dashcams with DMS and ADAS, RFID and face checks, reefers, e-bikes, geofences) with every
    group on one provider: a kind a renderer reads but does not declare changes its messages here, even where no
    shipped scenario gives that provider such a device (SmartGPS reads `dms`)."""
    demo = world("demo-city.yaml").scenario
    scenario = dataclasses.replace(demo, groups=tuple(dataclasses.replace(g, provider=provider) for g in demo.groups))
    w = World(scenario)
    settings_ = demo.delivery.providers.get(provider, {})
    for device in w.devices:
        reads = PROVIDERS[provider].renderer(device, settings_, random.Random(1)).reads
        full = rendered(scenario, device, settings_, w.device_events(device))
        assert rendered(scenario, device, settings_, w.device_events(device, reads)) == full, device.key


@pytest.mark.parametrize("name", SCENARIOS)
def test_runs_of_quiet_reports_cost_what_the_loop_makes_them_cost(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`DeviceSim._quiet_reports` makes a run of quiet reports in one call: every event after them (its fix to the
    last bit, send time, seq) must be the one the report-by-report loop gives (`QUIET_RUNS = False`)."""
    w = world(name)
    runs = 0
    original = DeviceSim._quiet_reports

    def counted(self: DeviceSim, *args: Any) -> tuple[int, float, float, int]:
        nonlocal runs
        runs += 1
        return original(self, *args)

    monkeypatch.setattr(DeviceSim, "_quiet_reports", counted)
    for device in devices(name):
        for kinds in (SUBSETS["samsara"], SUBSETS["no-positions"], SUBSETS["temperature-not-sensor"]):
            fast = prints(w.device_events(device, kinds))
            monkeypatch.setattr(DeviceSim, "QUIET_RUNS", False)
            assert prints(w.device_events(device, kinds)) == fast, f"{device.key} kinds={sorted(kinds)}"
            monkeypatch.setattr(DeviceSim, "QUIET_RUNS", True)
    # the comparison means something wherever positions can be quiet: no geofence to check on every report
    assert (runs > 0) == (not w.scenario.geofences)

