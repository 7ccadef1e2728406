"""Per-request deadlines of both HTTP transports, one loop timer per slot of due times instead of one per request.

At thirty requests in flight and thousands a second, a timer per request was a measurable share of the sender's
CPU; requests falling due within the same `DEADLINE_SLOT_S` share one timer, fired at the slot's end, so a
deadline fires at most one slot late, never early. What expiry does is the request's own business (`expire`):
aiohttp's transport cancels the request's task, fleetsim's HTTP/1.1 transport resolves its waiter.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final, Generic, Protocol, TypeVar

__all__ = ["DEADLINE_SLOT_S", "Deadlines", "Expiring"]

#: deadlines falling due within the same slot of this many seconds share one loop timer (fired at the slot's end)
DEADLINE_SLOT_S: Final = 0.005


class Expiring(Protocol):
    """A request in flight as the deadlines see it: the slot it waits in, and what to do when it passes."""

    slot: set[Any] | None  # the slot's own set (of the transport's request type)

    def expire(self) -> None: ...


E = TypeVar("E", bound=Expiring)


class Deadlines(Generic[E]):
    """The deadlines of a transport's requests in flight, one loop timer per `DEADLINE_SLOT_S` slot of due times."""

    __slots__ = ("_loop", "_slots")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[int, set[E]] = {}

    def arm(self, request: E, deadline_s: float) -> None:
        key = math.ceil((self._loop.time() + deadline_s) / DEADLINE_SLOT_S)  # rounded up: never early
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = set()
            self._loop.call_at(key * DEADLINE_SLOT_S, self._expire, key)
        slot.add(request)
        request.slot = slot

    @staticmethod
    def disarm(request: Expiring) -> None:
        slot = request.slot
        if slot is not None:
            slot.discard(request)
            request.slot = None

    def _expire(self, key: int) -> None:
        for request in self._slots.pop(key, ()):
            request.slot = None
            request.expire()
