"""Receivers that break exactly-once under load, for the correctness summary's tests: the reference receiver
(reused through tests/conformance/flawed.py's `build_app`, `serve` and `settings`) with its background
processing changed. Which events are hit is counted, not drawn: the 1st, the 21st, the 41st... new event the
receiver takes, so the share is exact however few events a short run on a loaded machine sends (a draw per
event key, as before, gave 2.5 % for "5 %" when only forty events went out).

- drops: acknowledges every event, but never applies one in twenty (the 5 % a lossy queue loses);
- twice: applies one event in ten twice (a retry of the processing that does not look first);
- late: acknowledges one event in ten at once but records it 0.3 s later (a write-behind queue), so newer
  events of its device overtake it;
- busy: answers one request in ten 503 (an overloaded receiver shedding load).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from simulator.servers.receiver import RECEIVER, Receiver, build_app
from simulator.servers.store import Store
from tests.conformance.flawed import serve, settings

#: one event in DROP_EVERY is dropped, one in TWICE_EVERY applied twice, one in LATE_EVERY recorded late
DROP_EVERY, TWICE_EVERY, LATE_EVERY, BUSY_EVERY = 20, 10, 10, 10
LATE_S = 0.3


def hits(events: int, every: int) -> int:
    """How many of the first `events` events a flaw of one in `every` hits: the 1st, the (every+1)th... so a
    run that sent anything at all has at least one."""
    return -(-events // every)


class _Every:
    """True for the 1st, the (every+1)th... call: the receiver's one event loop calls it, so no lock."""

    def __init__(self, every: int) -> None:
        self.every, self.seen = every, 0

    def __call__(self) -> bool:
        self.seen += 1
        return self.seen % self.every == 1 % self.every


def _flaw(receiver: Receiver, flaw: str) -> None:
    schedule = receiver.schedule
    drop, twice = _Every(DROP_EVERY), _Every(TWICE_EVERY)

    def flawed(provider: str, key: str, kind: str, doc: dict[str, Any]) -> None:
        if flaw == "drops" and drop():
            return  # acknowledged, claimed, never applied
        schedule(provider, key, kind, doc)
        if flaw == "twice" and twice():
            # the second application goes through the store directly (the receiver's own process() dedupes)
            task = asyncio.ensure_future(receiver.store.apply(provider, key))
            receiver.tasks.add(task)
            task.add_done_callback(receiver.tasks.discard)

    setattr(receiver, "schedule", flawed)  # noqa: B010
    if flaw == "late":
        _late(receiver.store)


def _late(store: Store) -> None:
    claim = store.claim
    late = _Every(LATE_EVERY)

    async def later(provider: str, key: str, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(LATE_S)
        await claim(provider, key, *args, **kwargs)

    async def flawed(provider: str, event_key: str, *args: Any, **kwargs: Any) -> bool:
        if not late():
            return await claim(provider, event_key, *args, **kwargs)
        task = asyncio.ensure_future(later(provider, event_key, *args, **kwargs))
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)
        return True  # acknowledged now, recorded later

    setattr(store, "claim", flawed)  # noqa: B010


_PENDING: set[asyncio.Future[None]] = set()


def _busy() -> Any:
    busy = _Every(BUSY_EVERY)

    @web.middleware
    async def shed(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
        if busy():
            return web.Response(status=503, text="busy")
        return await handler(request)

    return shed


@contextlib.contextmanager
def flawed_receiver(flaw: str) -> Iterator[str]:
    """The flawed receiver on a free port, served from a thread of its own; its base URL."""
    def make() -> tuple[web.Application, Callable[[], Awaitable[None]]]:
        store = Store()
        app = build_app(settings(), store)
        _flaw(app[RECEIVER], flaw)
        if flaw == "busy":
            app.middlewares.append(_busy())
        return app, store.close

    with served_from_a_thread(make) as url:
        yield url


@contextlib.contextmanager
def served_from_a_thread(
        make: Callable[[], tuple[web.Application, Callable[[], Awaitable[None]] | None]]) -> Iterator[str]:
    """The app `make` builds (in the thread's own event loop) served on a free port until the block ends, then
    its `close` awaited; its base URL. Locust runs in this process, so the receiver needs a loop of its own."""
    ready: list[str] = []
    started, stop = threading.Event(), threading.Event()

    async def main() -> None:
        app, close = make()
        async with serve(app) as url:
            ready.append(url)
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)
        if close is not None:
            await close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield ready[0]
    finally:
        stop.set()
        thread.join(10)
