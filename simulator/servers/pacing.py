"""Scenario time onto the wall clock, for the players of `fleetsim serve`'s platforms (Traccar's socket frames,
SmartGPS's world events): an item due `send_t - start` scenario seconds after the scenario's start is played that
many seconds divided by the rate's factor after playing began. Under `max` nothing waits, and the loop is still
yielded to every `burst` items so that serving never starves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

from ..scenario.model import Rate

__all__ = ["factor", "paced"]

T = TypeVar("T")
#: items played between two yields to the event loop under `max`
BURST = 64


def factor(rate: Rate) -> float | None:
    """Scenario seconds per wall second; None: as fast as possible."""
    return None if rate.mode == "max" else (1.0 if rate.mode == "realtime" else rate.factor)


async def paced(items: Iterable[T], send_t: Callable[[T], float], start: float, rate_factor: float | None,
                clock: Callable[[], float], burst: int = BURST) -> AsyncIterator[T]:
    """`items` (in send order), each when it is due."""
    started = clock()
    since_yield = 0
    for item in items:
        if rate_factor is not None:
            wait = started + (send_t(item) - start) / rate_factor - clock()
            if wait > 0:
                await asyncio.sleep(wait)
                since_yield = 0
        since_yield += 1
        if since_yield >= burst:
            await asyncio.sleep(0)
            since_yield = 0
        yield item
