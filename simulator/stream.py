"""Scenario → the exact traffic: world events rendered per provider, enveloped, signed, in send order.

Pure and lazy. `scenario_messages` yields provider Messages ordered by send time; `encode` turns one into
an `Outgoing` record (exact body bytes and headers). Signing here uses the message's scheduled send time as
the timestamp, so `fleetsim generate --scenario` output is reproducible; delivery re-signs at the real
send time so receivers see fresh timestamps.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import render as _render  # noqa: F401  (registers the renderers)
from .providers import PROVIDERS, Provider
from .render.base import Message
from .scenario.model import Scenario
from .signing import SIGNERS, Secret, Signer
from .world.fleet import Device
from .world.sim import World


@dataclass(slots=True)
class Outgoing:
    """One message exactly as it goes on the wire (HTTP POST body, or a WebSocket text frame)."""

    seq: int  # position in the scenario's full stream (stable whatever is filtered out)
    event_id: str  # fleetsim's id for accounting: (scenario, seed, seq)
    provider: str
    kind: str
    channel: str  # webhook | websocket
    device: str
    send_t: float
    headers: dict[str, str]
    body: bytes
    source: str  # the world event kind behind it

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


def iso_ms(t: float) -> str:
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _device_messages(world: World, device: Device, settings: Mapping[str, Any]) -> Iterator[Message]:
    """One device's messages in send order. Renderers may schedule a message later than its event (an
    alarm file uploaded a minute after the alarm); those wait in a small heap until they are due."""
    rng = random.Random(f"fleetsim:{world.scenario.name}:{world.scenario.seed}:{device.key}:render")
    renderer = PROVIDERS[device.provider].renderer(device, settings, rng)
    held: list[tuple[float, int, Message]] = []
    n = 0
    for event in world.device_events(device):
        # device events arrive in send order and every message is sent no earlier than its event
        while held and held[0][0] <= event.send_t:
            yield heapq.heappop(held)[2]
        for message in renderer.render(event):
            n += 1
            heapq.heappush(held, (message.send_t, n, message))
    while held:
        yield heapq.heappop(held)[2]


def scenario_messages(scenario: Scenario, world: World | None = None) -> Iterator[Message]:
    world = world or World(scenario)
    settings = scenario.delivery.providers
    streams = []
    for number, device in enumerate(world.devices):
        stream = _device_messages(world, device, settings.get(device.provider, {}))
        streams.append((m.send_t, number, m) for m in stream)
    for _, _, message in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        yield message


@dataclass
class _ProviderCodec:
    provider: Provider
    signer: Signer
    secrets: list[Secret]
    settings: Mapping[str, Any]


def _codec(scenario: Scenario, name: str) -> _ProviderCodec:
    provider = PROVIDERS[name]
    settings = scenario.delivery.providers.get(name, {})
    signer = SIGNERS[provider.signing]
    secret = settings.get("secret")  # the loader parsed it with this provider's signer (secret or psk)
    secrets = [secret] if isinstance(secret, Secret) else []
    return _ProviderCodec(provider, signer, secrets, settings)


class Encoder:
    """Envelope + signature for each provider of a scenario, built once."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.codecs = {name: _codec(scenario, name) for name in scenario.providers()}
        self.prefix = f"{scenario.name}-{scenario.seed}-"

    def encode(self, seq: int, message: Message, *, sign_at: float | None = None) -> Outgoing:
        codec = self.codecs[message.provider]
        provider = codec.provider
        event_id = f"{self.prefix}{seq:08d}"
        channel = provider.kinds[message.kind].channel
        if channel == "websocket":
            return Outgoing(seq, event_id, message.provider, message.kind, channel, message.device,
                            message.send_t, {}, provider.serialize(message.payload), message.source)
        env = provider.envelope(message.kind, message.payload, message_id=event_id, settings=codec.settings)
        headers = env.headers
        if codec.secrets:  # unsigned (or unconfigured) providers send the envelope's headers only
            timestamp = int(message.send_t if sign_at is None else sign_at)
            headers = {**headers, **codec.signer.sign(env.body, codec.secrets, timestamp=timestamp,
                                                      message_id=event_id)}
        return Outgoing(seq, event_id, message.provider, message.kind, channel, message.device,
                        message.send_t, headers, env.body, message.source)


def scenario_stream(
    scenario: Scenario, *, providers: set[str] | None = None, channels: set[str] | None = None
) -> Iterator[Outgoing]:
    """Every message of the scenario as it goes on the wire, optionally only some providers' or channels'.

    Filtered messages are never encoded, but they keep their place in the numbering (`seq`, `event_id`)."""
    encoder = Encoder(scenario)
    for seq, message in enumerate(scenario_messages(scenario), 1):
        if providers is not None and message.provider not in providers:
            continue
        if channels is not None and PROVIDERS[message.provider].kinds[message.kind].channel not in channels:
            continue
        yield encoder.encode(seq, message)
