"""Renderers: world events in, provider messages out. Pure: each device's renderer gets its own seeded RNG
and keeps its own small state (id counters, last status), so the same seed renders the same bytes.

One renderer instance serves one device for the whole run. `render` may return several messages (a MettaX
alarm rides on a GPS packet; a face check is two messages in either order), none (a provider that does not
report that event), or messages sent later than the event (an alarm file uploaded after its alarm).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
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
    def render(self, event: WorldEvent) -> list[Message]: ...


#: settings are the scenario's delivery.providers.<name> mapping (payload_version, org_id, ...)
RendererFactory = Callable[[Device, Mapping[str, Any], random.Random], Renderer]
