"""Scenario streams: every shipped scenario renders schema-valid, signed, deterministic traffic."""

from __future__ import annotations

import dataclasses
import gc
import heapq
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator import stream
from simulator.providers import PROVIDERS
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.signing import SIGNERS, CIHeaders
from simulator.stream import CHANNEL_LETTERS, Outgoing, scenario_messages, scenario_shard, scenario_stream
from simulator.validation import validate
from simulator.world.sim import World

SHIPPED = sorted(scenarios_dir().glob("*.yaml"))
PER_SCENARIO = 2500


def test_five_or_more_scenarios_are_shipped() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"demo-city", "mettax-dashcam-shift", "samsara-cold-chain", "powunity-ebike-theft",
            "smartgps-truck-fleet"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_renders_schema_valid_payloads(path: Path) -> None:
    scenario = load_scenario(path)
    kinds = set()
    for message in itertools.islice(scenario_messages(scenario), PER_SCENARIO):
        errors = validate(PROVIDERS[message.provider], message.kind, message.payload)
        assert not errors, (message.provider, message.kind, [str(e) for e in errors], message.payload)
        kinds.add((message.provider, message.kind))
    assert kinds, "no traffic at all"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_records_are_signed_and_in_send_order(path: Path) -> None:
    scenario = load_scenario(path)
    last = 0.0
    for out in itertools.islice(scenario_stream(scenario), 1500):
        assert out.send_t >= last
        last = out.send_t
        record = out.as_record()
        assert set(record) == {"seq", "event_id", "provider", "kind", "device", "send_at", "headers", "body"}
        assert re.fullmatch(rf"{scenario.name}-{scenario.seed}-\d{{4}}-[wf]\d{{6}}", record["event_id"])
        provider = PROVIDERS[out.provider]
        if out.channel != "webhook":
            continue
        signer = SIGNERS[provider.signing]
        secret = scenario.delivery.providers.get(out.provider, {}).get("secret")
        if secret is not None:
            verdict = signer.verify(out.body, CIHeaders(out.headers), [secret], now=int(out.send_t), tolerance=300)
            assert verdict.ok, (out.provider, verdict.reason)


def test_mixed_demo_city_covers_every_provider() -> None:
    scenario = load_scenario(scenarios_dir() / "demo-city.yaml")
    providers = {m.provider for m in scenario_messages(scenario)}
    assert providers == {"mettax", "smartgps", "samsara", "powunity"}


def test_same_seed_identical_bytes_different_seed_different_bytes() -> None:
    import dataclasses

    scenario = load_scenario(scenarios_dir() / "demo-city.yaml")

    def head(s: object) -> list[bytes]:
        return [json.dumps(o.as_record()).encode() for o in itertools.islice(scenario_stream(s), 2000)]  # type: ignore[arg-type]

    assert head(scenario) == head(scenario)
    assert head(scenario) != head(dataclasses.replace(scenario, seed=scenario.seed + 1))


DEMO = scenarios_dir() / "demo-city.yaml"


def test_event_ids_count_each_devices_messages_per_channel() -> None:
    scenario = load_scenario(DEMO)
    numbers = {d.key: d.number for d in World(scenario).devices}
    counts: Counter[tuple[str, str]] = Counter()
    records = list(itertools.islice(scenario_stream(scenario), 3000))
    assert [r.seq for r in records] == list(range(1, 3001))
    for r in records:
        counts[(r.device, r.channel)] += 1
        n = counts[(r.device, r.channel)]
        assert r.event_id == f"demo-city-7-{numbers[r.device]:04d}-{CHANNEL_LETTERS[r.channel]}{n:06d}"
    assert {c for _, c in counts} == {"webhook", "websocket"}
    assert len({r.event_id for r in records}) == len(records)


@pytest.mark.parametrize("channels", [None, frozenset({"webhook"}), frozenset({"websocket"})])
def test_a_devices_records_are_its_messages_as_the_encoder_encodes_them(channels: frozenset[str] | None) -> None:
    # device_records runs device_messages' loop itself and writes a frame's record itself (its hot path): it must
    # be device_messages' messages, each Encoder.encode'd with its channel's next event id, field by field
    scenario = load_scenario(DEMO)
    world, twin = World(scenario), World(scenario)
    encoder = stream.Encoder(scenario)
    seen: Counter[str] = Counter()
    for device, same in zip(world.devices, twin.devices, strict=True):
        settings = scenario.delivery.providers.get(device.provider, {})
        records = list(itertools.islice(stream.device_records(world, device, encoder, channels=channels), 400))
        messages = list(itertools.islice(stream.device_messages(twin, same, settings, channels=channels), 400))
        assert len(records) == len(messages)
        numbers: Counter[str] = Counter()
        for record, message in zip(records, messages, strict=True):
            channel = encoder.channel(message)
            numbers[channel] += 1
            expected = encoder.encode(0, message, stream.event_id(scenario, device.number, channel, numbers[channel]))
            assert dataclasses.astuple(record) == dataclasses.astuple(expected)
            seen[record.channel] += 1
    wanted = channels or frozenset({"webhook", "websocket"})
    assert set(seen) == wanted
    assert all(seen[channel] > 100 for channel in wanted)


def ids_and_bytes(records: list[Outgoing]) -> list[tuple[str, str, float, dict[str, str], bytes]]:
    return [(r.event_id, r.kind, r.send_t, r.headers, r.body) for r in records]


@pytest.mark.parametrize(("providers", "channels"), [({"smartgps"}, None), (None, {"webhook"}),
                                                     ({"powunity"}, {"websocket"}), ({"samsara", "mettax"}, None)])
def test_a_filtered_stream_is_the_full_streams_records_renumbered(providers: set[str] | None,
                                                                   channels: set[str] | None) -> None:
    scenario = load_scenario(DEMO)
    everything = list(scenario_stream(scenario))
    kept = [r for r in everything if (providers is None or r.provider in providers)
            and (channels is None or r.channel in channels)]
    filtered = list(scenario_stream(scenario, providers=providers, channels=channels))
    assert len(filtered) > 20
    assert ids_and_bytes(filtered) == ids_and_bytes(kept)  # same ids, same bytes, same order
    assert [r.seq for r in filtered] == list(range(1, len(filtered) + 1))  # numbered as emitted


def test_other_providers_devices_are_never_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    simulated: list[str] = []
    original = World.device_events

    def spy(self: World, device: object, kinds: object = None) -> object:
        simulated.append(device.provider)  # type: ignore[attr-defined]
        return original(self, device, kinds)  # type: ignore[arg-type]

    monkeypatch.setattr(World, "device_events", spy)
    assert list(itertools.islice(scenario_stream(load_scenario(DEMO), providers={"samsara"}), 5))
    assert simulated and set(simulated) == {"samsara"}


@pytest.mark.parametrize(("parts", "providers"), [(2, None), (3, None), (3, {"mettax", "powunity"})])
def test_shards_merged_by_their_key_are_the_one_process_stream(parts: int, providers: set[str] | None) -> None:
    scenario = load_scenario(DEMO)
    whole = list(scenario_stream(scenario, providers=providers))
    shards = [list(scenario_shard(scenario, part, parts, providers=providers)) for part in range(parts)]
    assert all(record.seq == 0 for shard in shards for *_, record in shard)  # the merge numbers them
    devices = [{record.device for *_, record in shard} for shard in shards]
    assert all(devices) and sum(map(len, devices)) == len(set().union(*devices))  # each device in one shard
    merged = [record for *_, record in heapq.merge(*shards, key=lambda item: (item[0], item[1]))]
    assert ids_and_bytes(merged) == ids_and_bytes(whole)


def test_a_shard_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="shard 2 of 2"):
        next(scenario_shard(load_scenario(DEMO), 2, 2))


def test_ids_do_not_depend_on_the_seed_alone() -> None:
    scenario = load_scenario(DEMO)
    other = dataclasses.replace(scenario, seed=8)
    assert next(scenario_stream(other)).event_id.startswith("demo-city-8-")


def test_the_readmes_example_record_is_the_first_record_of_demo_city() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    shown = next(line for line in readme.splitlines() if line.startswith('{"seq":1,'))
    first = next(scenario_stream(load_scenario(DEMO))).as_record()
    # the README abbreviates the body; every other field is as generated
    assert shown.startswith(json.dumps({k: v for k, v in first.items() if k != "body"},
                                       separators=(",", ":"))[:-1] + ',"body":')


def test_the_wanted_channels_reach_the_renderer_and_other_channels_are_never_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the stream tells each renderer the wanted channels (so PowUnity skips building frames); whatever a
    # renderer still yields of another channel is dropped by the stream, never numbered or encoded
    from simulator.providers.base import Provider

    told: list[frozenset[str] | None] = []
    original = Provider.renderer

    def renderer(self: Provider, device: Any, settings: Any, rng: Any, *,
                 channels: frozenset[str] | None = None) -> Any:
        told.append(channels)
        return original(self, device, settings, rng)  # a renderer that ignores the wish: renders everything

    monkeypatch.setattr(Provider, "renderer", renderer)
    records = list(itertools.islice(scenario_stream(load_scenario(DEMO), channels={"webhook"}), 50))
    assert {r.channel for r in records} == {"webhook"}
    assert told and set(told) == {frozenset({"webhook"})}
    told.clear()
    next(scenario_stream(load_scenario(DEMO)))
    assert told and set(told) == {None}


@dataclass
class _Item:
    send_t: float
    stream: int
    n: int


def _streams(seed: int, count: int) -> list[list[_Item]]:
    rng = random.Random(seed)
    out = []
    for s in range(count):
        t, items = rng.uniform(0, 50), []
        for n in range(rng.randrange(0, 300)):
            t += rng.choice([0.0, 0.0, 0.5, rng.expovariate(0.2), rng.uniform(0, 400)])  # ties within and across
            items.append(_Item(round(t), s, n))
        out.append(items)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("window", [1, 7, 2048])
def test_the_windowed_merge_is_the_heap_merge(seed: int, window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # whatever the windows' length, the order is heapq.merge's by send time: ties to the earlier stream
    monkeypatch.setattr(stream, "MERGE_WINDOW", window)
    streams = _streams(seed, 1 + seed * 7)
    expected = list(heapq.merge(*streams, key=lambda item: item.send_t))
    windows = list(stream.merged_windows([iter(s) for s in streams]))
    assert [item for w in windows for item in w] == expected
    assert all(w for w in windows)
    if window == 1 and len(expected) > 50:
        assert max(map(len, windows)) < len(expected) / 4  # windows adapt their span towards the target


def test_the_collector_is_paused_while_a_window_is_made_and_left_as_it_was() -> None:
    seen: list[bool] = []

    def device(n: int) -> Iterator[_Item]:
        for k in range(3):
            seen.append(gc.isenabled())
            yield _Item(float(k), n, k)

    assert gc.isenabled()
    assert len(list(stream.merge_by_send_time([device(0), device(1)]))) == 6
    assert seen[2:] and not any(seen[2:])  # the first items come before any window, with the collector as it was
    assert gc.isenabled()
    gc.disable()
    try:
        list(stream.merge_by_send_time([device(0)]))
        assert not gc.isenabled()  # a caller's choice stands
    finally:
        gc.enable()


def test_a_burst_after_a_quiet_spell_stays_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # a night of heartbeats stretches the span; then every device starts its shift at once: the window that
    # meets the burst must stay about MERGE_SPAN_RECORDS (at one message a second per stream), not hold it all
    monkeypatch.setattr(stream, "MERGE_SPAN_RECORDS", 500)
    streams = [[*(_Item(1000.0 * k + s, s, k) for k in range(60)),
                *(_Item(60_000.0 + k, s, 60 + k) for k in range(2000))] for s in range(50)]
    expected = list(heapq.merge(*streams, key=lambda item: item.send_t))
    windows = list(stream.merged_windows([iter(s) for s in streams]))
    assert [item for w in windows for item in w] == expected
    assert max(map(len, windows)) <= 2 * 500
    monkeypatch.setattr(stream, "MERGE_SPAN_RECORDS", 10**12)  # no bound: the burst lands in one huge window
    assert max(map(len, stream.merged_windows([iter(s) for s in streams]))) > 20 * 500
