"""Scenario → the exact traffic: world events rendered per provider, enveloped, signed, in send order.

Pure and lazy. `scenario_messages` yields provider Messages ordered by send time; `encode` turns one into
an `Outgoing` record (exact body bytes and headers). Signing here uses the message's scheduled send time as
the timestamp, so `fleetsim generate --scenario` output is reproducible; delivery re-signs at the real
send time so receivers see fresh timestamps.

Event ids are numbered per device and channel (`event_id`), so each device's records are finished inside
that device's own stream (`device_records`): what is filtered out is never simulated (another provider's
devices) or encoded (another channel's messages), and a worker process that makes a share of the devices
(`scenario_shard`) finishes every record but its `seq`, the position in the stream actually emitted, which
only the final merge knows.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import operator
import random
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson

from . import render as _render  # noqa: F401  (registers the renderers)
from .providers import PROVIDERS, Provider
from .render.base import Message
from .scenario.model import Scenario
from .signing import SIGNERS, Secret, Signer
from .world.fleet import Device
from .world.sim import World

#: the headers whose values an `Outgoing`'s repr shows: standard ones that never carry a credential
_SHOWN_HEADERS = frozenset({"content-type", "content-encoding", "content-length", "user-agent"})


@dataclass(slots=True, repr=False)
class Outgoing:
    """One message exactly as it goes on the wire (HTTP POST body, or a WebSocket text frame).

    Its repr hides the values of all headers but a few standard ones (`_SHOWN_HEADERS`): a record carries the
    credentials it is sent with (PowUnity's PSK in `Authorization`), and a failing `assert` in a user's test
    (the pytest plugin's `fleetsim_stream`) prints the record's repr into the test log."""

    seq: int  # position (from 1) in the stream actually emitted, after the provider and channel filters
    event_id: str  # fleetsim's id for accounting: (scenario, seed, device, channel, n), see `event_id`
    provider: str
    kind: str
    channel: str  # webhook | websocket
    device: str
    send_t: float
    headers: dict[str, str]
    body: bytes
    source: str  # the world event kind behind it

    def __repr__(self) -> str:
        headers = {name: value if name.lower() in _SHOWN_HEADERS else "<redacted>"
                   for name, value in self.headers.items()}
        return (f"Outgoing(seq={self.seq!r}, event_id={self.event_id!r}, provider={self.provider!r}, "
                f"kind={self.kind!r}, channel={self.channel!r}, device={self.device!r}, send_t={self.send_t!r}, "
                f"headers={headers!r}, body={self.body!r}, source={self.source!r})")

    def as_record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "provider": self.provider,
            "kind": self.kind,
            "device": self.device,
            "send_at": iso_ms(self.send_t),
            "headers": self.headers,
            "body": self.body.decode("utf-8"),
        }


def record_tail(record: Outgoing) -> bytes:
    """A record's NDJSON line (`fleetsim generate --scenario`) from its second field on, newline included: all
    of it but `{"seq":N,`, which only the final merge knows when the stream is made in shards (`record_tails`
    of one record: the workers make a window's tails at once)."""
    return record_tails([record])[0]


_dumps = orjson.dumps
_APPEND_NEWLINE = orjson.OPT_APPEND_NEWLINE


def record_tail_reference(record: Outgoing) -> bytes:
    """The straightforward `record_tail`: `as_record` dumped, its `{"seq":N,` cut off."""
    fields = record.as_record()
    del fields["seq"]
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)[1:]


def record_tails(records: list[Outgoing]) -> list[bytes]:
    """`record_tail` of each of `records` (a shard's window, `generate --workers`).

    Hot path (once per record): `as_record` without `seq`, built in one loop rather than copied and cut per record
    (tests compare it with `record_tail_reference`). One orjson call over a dict beat writing the fields into a
    byte template (an orjson call per string, even with the fixed ones cached per device)."""
    dumps, option = _dumps, _APPEND_NEWLINE
    return [dumps({"event_id": record.event_id, "provider": record.provider, "kind": record.kind,
                   "device": record.device, "send_at": sent, "headers": record.headers,
                   "body": record.body.decode("utf-8")}, option=option)[1:]
            for record, sent in zip(records, send_ats(records), strict=True)]


def record_line(record: Outgoing) -> bytes:
    """One NDJSON line of `fleetsim generate --scenario`, newline included: `as_record` as compact JSON
    (`record_lines` of one record: the command numbers and writes a window at once)."""
    return record_lines([record], record.seq)[0]


def record_lines(records: list[Outgoing], first: int) -> list[bytes]:
    """`record_line` of each of `records`, numbered `first`, `first + 1`, ... (their `seq` fields are ignored
    and left as they are): the lines of `fleetsim generate --scenario`, a window of `scenario_windows` at once.

    Hot path (once per record): `as_record`'s dict built in one loop, without a call, a `seq` assignment and a
    generator step per record (tests compare it with `as_record`)."""
    dumps, option = _dumps, _APPEND_NEWLINE
    return [dumps({"seq": seq, "event_id": record.event_id, "provider": record.provider, "kind": record.kind,
                   "device": record.device, "send_at": sent, "headers": record.headers,
                   "body": record.body.decode("utf-8")}, option=option)
            for seq, record, sent in zip(itertools.count(first), records, send_ats(records))]


def iso_ms(t: float) -> str:
    """`t` as ISO 8601 UTC to the millisecond (2026-03-03T06:00:01.250Z), the same characters as
    `datetime.fromtimestamp(t, UTC)` truncated to milliseconds (`iso_ms_reference`).

    Arithmetic and table lookups, the date cached per day, instead of a datetime and strftime per call (7.8 µs).
    Microseconds round half-even from the fraction as `fromtimestamp` rounds them, carrying into the next second.
    The output's records take their texts a window at once (`send_ats`, which reuses a repeated instant's text and
    calls this once per new second)."""
    frac, whole = math.modf(t)
    us = round(frac * 1e6)
    sec = int(whole)
    if us >= 1_000_000:
        sec, us = sec + 1, us - 1_000_000
    elif us < 0:
        sec, us = sec - 1, us + 1_000_000
    day, second_of_day = divmod(sec, 86_400)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) >= 1024:  # a scenario spans a few days; keep the table small whatever the input
            _DAYS.clear()
        date = _DAYS[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")
    return date + _CLOCK[second_of_day] + _MILLIS[us // 1000]


def send_ats(records: list[Outgoing]) -> list[str]:
    """`iso_ms` of each record's send time: the `send_at` fields of a window of records (`record_lines`,
    `record_tails`).

    Hot path (once per record): a window is sorted by send time, and a record mostly shares its instant with the
    record before it (PowUnity's devices and positions frames: 37 % of bench-mixed's records) or at least its
    second (58 %). The instant's text is reused whole; within the second, the date and clock are kept and only
    the milliseconds are looked up; a new second (or a microsecond count that carries into the next one) is
    `iso_ms`'s. Made a window at once, without a call per record: 2.5k instructions a record against 4.5k for
    `iso_ms` called per record (cachegrind, bench-mixed's send times; tests compare with `iso_ms`)."""
    out: list[str] = []
    append = out.append
    modf, millis, iso, nan = math.modf, _MILLIS, iso_ms, math.nan
    last_t = last_whole = nan  # nan equals nothing
    text = prefix = ""
    for record in records:
        t = record.send_t
        if t != last_t:
            frac, whole = modf(t)
            us = round(frac * 1e6)  # as iso_ms rounds it
            if whole == last_whole and 0 <= us < 1_000_000:
                text = prefix + millis[us // 1000]
            else:
                text = iso(t)
                prefix = text[:-4]  # "YYYY-MM-DDTHH:MM:SS."
                last_whole = whole if 0 <= us < 1_000_000 else nan  # the prefix is whole's second
            last_t = t
        append(text)
    return out


def iso_ms_reference(t: float) -> str:
    """The straightforward formatter `iso_ms` must match (tests compare them)."""
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_DAYS: dict[int, str] = {}  # day number since the epoch -> "YYYY-MM-DDT" (pure: a cache of a pure function)
_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
#: "HH:MM:SS." per second of the day, built from two-digit strings at import: a fifth of the time of formatting
#: each second, which every process that generates (each worker too) paid at start-up
_CLOCK = tuple([f"{h}:{m}:{s}." for h in _TWO_DIGITS[:24] for m in _TWO_DIGITS for s in _TWO_DIGITS])
_MILLIS = tuple(f"{ms:03d}Z" for ms in range(1000))


#: the letter of each channel in an event id: w for webhooks, f for WebSocket frames
CHANNEL_LETTERS = {"webhook": "w", "websocket": "f"}


def event_id(scenario: Scenario, device_number: int, channel: str, n: int) -> str:
    """The id of the `n`-th message (from 1) of device `device_number` on `channel`: `demo-city-7-0003-w000012`.

    Numbered per device and channel, never across the stream, so a record's id does not depend on which other
    devices or channels are simulated, filtered out or made by another worker process."""
    return f"{event_id_prefix(scenario, device_number, channel)}{n:06d}"


def event_id_prefix(scenario: Scenario, device_number: int, channel: str) -> str:
    """`event_id` but its number: the same for all of a device's messages on a channel (built once per device)."""
    return f"{scenario.name}-{scenario.seed}-{device_number:04d}-{CHANNEL_LETTERS[channel]}"


class _Timed(Protocol):
    send_t: float


_T = TypeVar("_T", bound=_Timed)


def device_messages(world: World, device: Device, settings: Mapping[str, Any], *,
                    channels: frozenset[str] | None = None) -> Iterator[Message]:
    """One device's messages in send order (only those of `channels`, if given). Renderers may schedule a
    message later than its event (an alarm file uploaded a minute after the alarm); those wait in a small heap
    until they are due. A message due at its event's send time (most: every frame, every MettaX packet) goes
    out at once: what the heap still holds then is due later, and later events' messages are due no earlier.
    The world makes only the events the renderer reads (`Renderer.reads`): the others cost their draws, not
    their building (most of a Samsara or SmartGPS device's events are positions it never renders)."""
    rng = random.Random(f"fleetsim:{world.scenario.name}:{world.scenario.seed}:{device.key}:render")
    provider = PROVIDERS[device.provider]
    # a renderer told the wanted channels skips the work of the others (render.base.RendererFactory)
    renderer = provider.renderer(device, settings, rng, channels=channels)
    kinds = provider.kinds
    held: list[tuple[float, int, Message]] = []
    n = 0
    for event in world.device_events(device, renderer.reads):
        # device events arrive in send order and every message is sent no earlier than its event
        while held and held[0][0] <= event.send_t:
            yield heapq.heappop(held)[2]
        now = event.send_t
        for message in renderer.render(event):
            if channels is not None and kinds[message.kind].channel not in channels:
                continue  # never held, numbered or encoded
            if message.send_t <= now:
                yield message
                continue
            n += 1
            heapq.heappush(held, (message.send_t, n, message))
    while held:
        yield heapq.heappop(held)[2]


def device_records(world: World, device: Device, encoder: Encoder, *,
                   channels: frozenset[str] | None = None) -> Iterator[Outgoing]:
    """One device's records in send order, each finished (body, headers, `event_id`) but for its `seq` (0 here:
    the position in the emitted stream is the merge's to give): `device_messages`, each message encoded.

    Hot path (once per record): `device_messages`' loop written out here rather than run as a generator under
    this one (a generator step less per record), and a WebSocket frame (PowUnity's, three records in four of
    bench-mixed) is `Encoder.encode`'s frame written out, its provider's lookups done once per device (tests
    compare the records with `device_messages` encoded). An event id is `event_id`'s text built as prefix +
    `"%06d" % n`: an f-string's `{n:06d}` parses its format spec on every call (~2.9k instructions against ~1.9k)."""
    scenario = world.scenario
    rng = random.Random(f"fleetsim:{scenario.name}:{scenario.seed}:{device.key}:render")  # `device_messages`' rng
    settings = scenario.delivery.providers.get(device.provider, {})
    renderer = PROVIDERS[device.provider].renderer(device, settings, rng, channels=channels)
    codec = encoder.codecs[device.provider]  # a device has one provider
    channel_of, serialize, encode = codec.channels, codec.serialize, encoder.encode
    frame_prefix = event_id_prefix(scenario, device.number, "websocket")
    webhook_prefix = event_id_prefix(scenario, device.number, "webhook")
    frames = webhooks = 0  # each channel's messages so far: the number in its event ids
    held: list[tuple[float, int, Message]] = []  # messages due after their event (`device_messages`)
    n = 0
    for event in world.device_events(device, renderer.reads):
        now = event.send_t
        while held and held[0][0] <= now:
            message = heapq.heappop(held)[2]
            if channel_of[message.kind] == "websocket":
                frames += 1
                record_id = frame_prefix + "%06d" % frames  # noqa: UP031 (see the docstring)
                yield Outgoing(0, record_id, message.provider, message.kind, "websocket",
                               message.device, message.send_t, {}, serialize(message.payload), message.source)
            else:
                webhooks += 1
                record_id = webhook_prefix + "%06d" % webhooks  # noqa: UP031 (see the docstring)
                yield encode(0, message, record_id)
        for message in renderer.render(event):
            kind = message.kind
            channel = channel_of[kind]
            if channels is not None and channel not in channels:
                continue  # never held, numbered or encoded
            if message.send_t > now:
                n += 1
                heapq.heappush(held, (message.send_t, n, message))
            elif channel == "websocket":  # no event id in the body, no signature: `encode`'s frame
                frames += 1
                record_id = frame_prefix + "%06d" % frames  # noqa: UP031 (see the docstring)
                yield Outgoing(0, record_id, message.provider, kind, channel, message.device,
                               message.send_t, {}, serialize(message.payload), message.source)
            else:
                webhooks += 1
                record_id = webhook_prefix + "%06d" % webhooks  # noqa: UP031 (see the docstring)
                yield encode(0, message, record_id)
    while held:
        message = heapq.heappop(held)[2]
        if channel_of[message.kind] == "websocket":
            frames += 1
            record_id = frame_prefix + "%06d" % frames  # noqa: UP031 (see the docstring)
            yield Outgoing(0, record_id, message.provider, message.kind, "websocket",
                           message.device, message.send_t, {}, serialize(message.payload), message.source)
        else:
            webhooks += 1
            record_id = webhook_prefix + "%06d" % webhooks  # noqa: UP031 (see the docstring)
            yield encode(0, message, record_id)


def scenario_messages(scenario: Scenario, world: World | None = None) -> Iterator[Message]:
    world = world or World(scenario)
    settings = scenario.delivery.providers
    streams = [device_messages(world, device, settings.get(device.provider, {})) for device in world.devices]
    yield from merge_by_send_time(streams)


def merge_by_send_time(streams: list[Iterator[_T]]) -> Iterator[_T]:
    """Each stream in send order → one stream in send order; ties go to the earlier stream (the device
    listed first), as `heapq.merge(key=send_t)` orders them."""
    for window in merged_windows(streams):
        yield from window


#: about this many records per window of `merged_windows`: a few MB of records held, whatever the fleet's size
MERGE_WINDOW = 2048
#: a window's span of send time is at most this many records at one message a second per stream: when a quiet
#: night has stretched the span and every device starts its shift at once, a window still stays a few times
#: MERGE_WINDOW (an unbounded span held 200k records, 500 MB, at the first morning of a long scenario)
MERGE_SPAN_RECORDS = 16384
_SEND_T = operator.attrgetter("send_t")


def merged_windows(streams: list[Iterator[_T]]) -> Iterator[list[_T]]:
    """`merge_by_send_time` in consecutive lists: every stream's items sent in [start, end), one stream after the
    other in their order, then sorted by send time. The sort is stable, so ties stay in stream order: the same
    order as a heap merge of the streams, item by item.

    Hot path (once per message): each stream runs for a window's worth of send time at once (`end` adapts so a
    window holds about MERGE_WINDOW items) and one C sort with float keys orders the window, instead of a heap
    step per message. The cyclic garbage collector is paused while a window is made (and left as it was before
    each window is handed over): making one allocates tens of thousands of containers that reference counting
    frees or the window keeps, and the collections they set off — scanning every young object, and in full ones
    the whole world and every module loaded — took a sixth of `generate`'s time and found nothing to free.
    Nothing is lost: the collector runs as usual between windows."""
    nexts = [stream.__next__ for stream in streams]
    heads: list[_T | None] = [next(stream, None) for stream in streams]
    live = [number for number, head in enumerate(heads) if head is not None]
    longest = MERGE_SPAN_RECORDS / max(1, len(streams))
    span = min(60.0, longest)  # seconds of send time per window, adapted below
    while live:
        start = min(heads[number].send_t for number in live)  # type: ignore[union-attr]
        end = start + span
        window: list[_T] = []
        append = window.append
        still: list[int] = []
        collecting = gc.isenabled()
        gc.disable()
        try:
            for number in live:
                head = heads[number]
                assert head is not None
                following = nexts[number]
                try:
                    while head.send_t < end:
                        append(head)
                        head = following()
                except StopIteration:
                    heads[number] = None
                    continue
                heads[number] = head
                still.append(number)
        finally:
            if collecting:
                gc.enable()
        live = still
        window.sort(key=_SEND_T)
        yield window
        # the next window's length of send time, aiming at MERGE_WINDOW items: at most 4x longer or shorter at once,
        # never longer than `longest`, never so short that start + span == start
        factor = MERGE_WINDOW / len(window)
        span = max(min(span * min(4.0, max(0.25, factor)), longest), 1e-3)


@dataclass
class _ProviderCodec:
    provider: Provider
    signer: Signer
    secrets: list[Secret]
    settings: Mapping[str, Any]
    channels: dict[str, str]  # kind -> channel (the provider's KindSpec's), looked up once per record
    serialize: Callable[[Any], bytes]  # the provider's serialize, bound once


def _codec(scenario: Scenario, name: str) -> _ProviderCodec:
    provider = PROVIDERS[name]
    settings = scenario.delivery.providers.get(name, {})
    signer = SIGNERS[provider.signing]
    secret = settings.get("secret")  # the loader parsed it with this provider's signer (secret or psk)
    secrets = [secret] if isinstance(secret, Secret) else []
    channels = {kind: spec.channel for kind, spec in provider.kinds.items()}
    return _ProviderCodec(provider, signer, secrets, settings, channels, provider.serialize)


class Encoder:
    """Envelope + signature for each provider of a scenario, built once."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.codecs = {name: _codec(scenario, name) for name in scenario.providers()}

    def channel(self, message: Message) -> str:
        return self.codecs[message.provider].channels[message.kind]

    def frame_body(self, message: Message) -> bytes:
        """A WebSocket frame's text: it carries no event id and no signature."""
        return self.codecs[message.provider].serialize(message.payload)

    def encode(self, seq: int, message: Message, event_id: str, *, sign_at: float | None = None) -> Outgoing:
        codec = self.codecs[message.provider]
        provider = codec.provider
        channel = codec.channels[message.kind]
        if channel == "websocket":  # `frame_body`, its lookups done once here (once per record, most records)
            return Outgoing(seq, event_id, message.provider, message.kind, channel, message.device,
                            message.send_t, {}, codec.serialize(message.payload), message.source)
        env = provider.envelope(message.kind, message.payload, message_id=event_id, settings=codec.settings)
        headers = env.headers
        if codec.secrets:  # unsigned (or unconfigured) providers send the envelope's headers only
            timestamp = int(message.send_t if sign_at is None else sign_at)
            headers = {**headers, **codec.signer.sign(env.body, codec.secrets, timestamp=timestamp,
                                                      message_id=event_id)}
        return Outgoing(seq, event_id, message.provider, message.kind, channel, message.device,
                        message.send_t, headers, env.body, message.source)


def scenario_stream(
    scenario: Scenario, *, providers: Collection[str] | None = None, channels: Collection[str] | None = None
) -> Iterator[Outgoing]:
    """Every message of the scenario as it goes on the wire, optionally only some providers' or channels'.

    Other providers' devices are never simulated, other channels' messages never encoded; `seq` numbers the
    records emitted, and each record's `event_id` is the same whatever is filtered out. It is `scenario_shard`'s
    one shard numbered, read from the same windows without the shard's merge key."""
    _, windows = scenario_shard_windows(scenario, 0, 1, providers=providers, channels=channels)
    seq = 0
    for window in windows:
        for record in window:
            seq += 1
            record.seq = seq
            yield record


def scenario_windows(
    scenario: Scenario, *, providers: Collection[str] | None = None, channels: Collection[str] | None = None
) -> Iterator[list[Outgoing]]:
    """`scenario_stream` in consecutive lists (`merged_windows`' windows), every record's `seq` still 0: for a
    caller that numbers a window at once (`record_lines`)."""
    return scenario_shard_windows(scenario, 0, 1, providers=providers, channels=channels)[1]


def scenario_shard(
    scenario: Scenario, part: int, parts: int, *, providers: Collection[str] | None = None,
    channels: Collection[str] | None = None,
) -> Iterator[tuple[float, int, Outgoing]]:
    """Shard `part` of `parts` (from 0) of `scenario_stream`: the wanted devices `part`, `part + parts`, ... in
    their order, each record with its merge key (send time, device number) and `seq` 0. Merging the `parts`
    shards by that key (ties within one device keep their order) gives exactly `scenario_stream`'s order,
    which then numbers `seq` 1, 2, ..."""
    number, windows = scenario_shard_windows(scenario, part, parts, providers=providers, channels=channels)
    for window in windows:
        for record in window:
            yield record.send_t, number[record.device], record


def scenario_shard_windows(
    scenario: Scenario, part: int, parts: int, *, providers: Collection[str] | None = None,
    channels: Collection[str] | None = None, owner: Callable[[int], int] | None = None,
) -> tuple[dict[str, int], Iterator[list[Outgoing]]]:
    """`scenario_shard` in consecutive lists (`merged_windows`' windows) of bare records, and the device numbers
    that are their merge keys (device key -> number): for a caller that takes a window at once. `owner`: the
    part that makes the wanted device at each position (default: every `parts`-th device, from `part`)."""
    if not 0 <= part < parts:
        raise ValueError(f"shard {part} of {parts}")
    world = World(scenario)
    encoder = Encoder(scenario)
    only = None if channels is None else frozenset(channels)
    wanted = [d for d in world.devices if providers is None or d.provider in providers]
    mine = wanted[part::parts] if owner is None else [d for i, d in enumerate(wanted) if owner(i) == part]
    number = {device.key: device.number for device in mine}
    streams = [device_records(world, device, encoder, channels=only) for device in mine]
    return number, merged_windows(streams)
