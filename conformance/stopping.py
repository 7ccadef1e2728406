"""How every `fleetsim check` mode runs its event loop: SIGTERM (a CI job's timeout) stops it as Ctrl-C does,
so the finally blocks of the run (the reference receiver, fleetsim's servers, the user's client process) stop
what they started, and the command ends "interrupted", exit 130, instead of being killed without a word."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_until_stopped"]

T = TypeVar("T")


def run_until_stopped(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main), with SIGTERM doing what Ctrl-C does: `main` is cancelled (its finally blocks stop the
    client and the server), then it is an interruption (exit 130)."""
    async def guarded() -> T:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await task
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
