"""The player: the scenario's world events for SmartGPS's devices, taken into the live fleet at the scenario's
rate, their webhooks handed to the sender. Scenario time maps onto the wall clock as in the Traccar server's
player (simulator/servers/traccar/feed.py): same seed, same track, whenever it is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...scenario.model import Rate
from ..pacing import factor, paced
from .live import LiveFleet
from .webhooks import Webhooks


class Player:
    def __init__(self, fleet: LiveFleet, webhooks: Webhooks, *, rate: Rate | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fleet = fleet
        self.webhooks = webhooks
        self.factor = factor(rate or fleet.scenario.delivery.rate)
        self.clock = clock
        self.played = 0
        self.finished = False

    async def run(self) -> None:
        async for event in paced(self.fleet.events(), lambda e: e.send_t, self.fleet.scenario.start, self.factor,
                                 self.clock):
            self.fleet.take(event)
            self.played += 1
            self.flush()
        self.finished = True

    def flush(self) -> None:
        """Hand every event the fleet recorded since the last flush to the webhook sender (the REST handlers
        flush too: a BLOCK or a new geofence can emit at once)."""
        outbox = self.fleet.outbox
        while outbox:
            self.webhooks.push(outbox.pop(0))
