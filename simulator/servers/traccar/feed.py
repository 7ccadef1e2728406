"""The player: the scenario's socket frames, taken into the live world and pushed, at the scenario's rate.

Scenario time maps onto the wall clock from when serving starts: a frame due `send_t - start` scenario seconds
after the scenario's start is played that many seconds divided by the rate's factor after the server started
(realtime 1, xN N; `max` plays as fast as the loop allows, yielding to the clients between frames). The frames
and their times are the scenario's own: same seed, same bytes, whenever it is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ...scenario.model import Rate, Scenario
from ...stream import Outgoing, scenario_stream
from ..pacing import factor, paced
from .fanout import Hub
from .live import LiveWorld


def socket_frames(scenario: Scenario, provider: str) -> Iterator[Outgoing]:
    """The scenario's frames for the socket: `provider`'s websocket-channel messages (the stream asks the
    provider which kinds those are)."""
    return scenario_stream(scenario, providers={provider}, channels={"websocket"})


def web_events(setting: object) -> frozenset[str] | None:
    """The `web_notifications` setting as the event types pushed (None: all; the default)."""
    if isinstance(setting, (list, tuple, set, frozenset)):
        return frozenset(str(t) for t in setting)
    return frozenset() if setting == "none" else None


def frame_device(frame: dict[str, Any]) -> int | None:
    """The device a frame is about (its one device, position or event: AsyncSocket writes one object per frame);
    None for a frame about no device, which goes to every socket."""
    for key, field in (("devices", "id"), ("positions", "deviceId"), ("events", "deviceId")):
        items = frame.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            device_id = items[0].get(field)
            return device_id if isinstance(device_id, int) else None
    return None


class Player:
    def __init__(self, scenario: Scenario, provider: str, world: LiveWorld, hub: Hub, *, rate: Rate | None = None,
                 clock: Callable[[], float] = time.monotonic, web_events: frozenset[str] | None = None) -> None:
        self.scenario = scenario
        self.provider = provider
        self.world = world
        self.hub = hub
        self.factor = factor(rate or scenario.delivery.rate)
        self.clock = clock
        #: the event types with a web notification (None: all): others are stored but never pushed
        self.web_events = web_events
        self.played = 0
        self.finished = False

    async def run(self) -> None:
        async for item in paced(socket_frames(self.scenario, self.provider), lambda i: i.send_t,
                                self.scenario.start, self.factor, self.clock):
            self.play(item.body)
        self.finished = True

    def play(self, body: bytes) -> None:
        frame = orjson.loads(body)
        if isinstance(frame, dict) and self.world.apply(frame) and self._pushed(frame):
            self.hub.publish(body.decode("utf-8"), frame_device(frame))
        self.played += 1

    def _pushed(self, frame: dict[str, Any]) -> bool:
        """An event reaches the socket only through a web notification of its type (NotificationManager ->
        NotificatorWeb, provider-facts §1.2, §1.8); devices and positions always."""
        events = frame.get("events")
        if self.web_events is None or not isinstance(events, list) or not events:
            return True
        return any(isinstance(e, dict) and e.get("type") in self.web_events for e in events)
