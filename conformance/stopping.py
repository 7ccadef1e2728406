"""How every `fleetsim check` mode runs its event loop: SIGTERM (a CI job's timeout) stops it as Ctrl-C does,
so the finally blocks of the run (the reference receiver, fleetsim's servers, the user's client process) stop
what they started, and the command ends "interrupted", exit 130, instead of being killed without a word.

The handlers are plain `signal.signal` ones, not the loop's `add_signal_handler`: a receiver app checked
in-process (`--app`) can block the event loop (a sync call in an async handler), and a loop handler never runs
then. A plain handler runs in the main thread whatever the loop is doing; it asks the loop to cancel the check
and starts a watchdog that ends the process, exit 130, if the stop has not finished `WATCHDOG_S` later."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, Final, TypeVar

__all__ = ["WATCHDOG_S", "run_until_stopped"]

T = TypeVar("T")

#: how long a stop may take (the run's 2 s grace, a client process's 3 s stop, an app's lifespan shutdown)
#: before fleetsim gives up on it and exits without its reports
WATCHDOG_S: Final = 10.0
_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def run_until_stopped(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), with SIGTERM doing what Ctrl-C does: `main` is cancelled (its finally blocks stop the
    client and the server), then it is an interruption (exit 130). A second signal interrupts at once; a stop
    that has not ended WATCHDOG_S after the first signal ends the process."""
    stop = _Stop()

    async def guarded() -> T:
        task = asyncio.ensure_future(main)
        stop.arm(asyncio.get_running_loop(), task)
        return await task

    with stop.installed():
        try:
            return asyncio.run(guarded())
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None


class _Stop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[Any] | None = None
        self._signals = 0
        self._watchdog: threading.Timer | None = None

    def arm(self, loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any]) -> None:
        self._loop, self._task = loop, task

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous: dict[signal.Signals, Any] = {}
        try:
            for sig in _SIGNALS:
                previous[sig] = signal.signal(sig, self._on_signal)
        except ValueError:  # not the main thread: an embedding program's signals are its own
            pass
        try:
            yield
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        loop, task = self._loop, self._task
        if self._signals > 1 or loop is None or task is None or loop.is_closed():
            raise KeyboardInterrupt  # a second signal, or none of the loop left to stop gracefully
        loop.call_soon_threadsafe(task.cancel)
        self._watchdog = threading.Timer(WATCHDOG_S, _give_up)
        self._watchdog.daemon = True
        self._watchdog.start()


def _give_up() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"fleetsim: interrupted, but the check did not stop within {WATCHDOG_S:g} s of the signal "
                         "(something blocks fleetsim's event loop, such as an --app making a blocking call in an "
                         "async handler): exiting now, without reports\n")
        sys.stderr.flush()
    os._exit(130)
