"""Renderers: world events in, provider messages out. Pure: each device's renderer gets its own seeded RNG
and keeps its own small state (id counters, last status), so the same seed renders the same bytes.

One renderer instance serves one device for the whole run. `render` may return several messages (a MettaX
alarm rides on a GPS packet; a face check is two messages in either order), none (a provider that does not
report that event), or messages sent later than the event (an alarm file uploaded after its alarm).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..world.events import WorldEvent
from ..world.fleet import Device


@dataclass(slots=True)
class Message:
    provider: str
    kind: str  # a kind of that provider (see `fleetsim providers`)
    device: str  # Device.key
    send_t: float  # UTC epoch seconds when the platform pushes it (>= the event's device time)
    payload: Any  # the provider payload (dict), before envelope and serialization
    source: str  # the WorldEvent kind that produced it


class Renderer(Protocol):
    @property
    def reads(self) -> frozenset[str] | None:
        """The world event kinds (world.events.KINDS) whose events `render` reads, None = all: given only
        those (`World.device_events(device, kinds=...)`), it renders exactly what it renders given every event.
        A kind it turns into no message still counts when it reads it (Samsara notes a trip's start from
        `moving`), and so does every kind whose event changes what it keeps (PowUnity's motion and ignition
        follow its positions): say None when in doubt. `device_messages` asks the world for these kinds only,
        and a kind left out is never built (tests/simulator/world/test_quiet_events.py renders both ways)."""
        ...

    def render(self, event: WorldEvent) -> list[Message]: ...


class RendererFactory(Protocol):
    """A provider package's `RENDERER`. `settings` is the scenario's delivery.providers.<name> mapping
    (payload_version, org_id, ...). `channels` (None = all) names the channels the caller will keep: the
    renderer yields exactly those of its messages, byte-identical and in the same order as with None, and
    does as little work as it can for the others (a webhook run never builds PowUnity's socket frames)."""

    def __call__(self, device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                 channels: frozenset[str] | None = None) -> Renderer: ...


def wants(channels: frozenset[str] | None, channel: str) -> bool:
    """Whether a renderer asked for `channels` (None = all) must produce `channel`'s messages."""
    return channels is None or channel in channels


class NoMessages:
    """The renderer of a device none of whose channels is wanted: it renders nothing and keeps no state (a
    webhook-only provider asked for WebSocket frames)."""

    __slots__ = ()

    @property
    def reads(self) -> frozenset[str]:
        return frozenset()  # a property, not a class attribute: mypyc compiles no default of a non-literal value

    def render(self, event: WorldEvent) -> list[Message]:
        return []


NO_MESSAGES = NoMessages()
