"""`fleetsim serve` as a real process for the command-line tests of every platform: started with its arguments,
its first stdout line (the "fleetsim serve on URL …" line) read, stopped by a real signal and timed, and never
left behind."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Served:
    process: asyncio.subprocess.Process
    #: the first line it printed on stdout
    line: str
    #: stdout after that line, and stderr, once it has stopped
    out: bytes = b""
    err: bytes = b""
    #: seconds from the signal to its exit
    took: float = field(default=float("nan"))

    async def stop(self, sig: signal.Signals = signal.SIGTERM, within_s: float = 10.0) -> None:
        started = time.monotonic()
        self.process.send_signal(sig)
        self.out, self.err = await asyncio.wait_for(self.process.communicate(), within_s)
        self.took = time.monotonic() - started

    def assert_stopped_cleanly(self, grace_s: float = 3.0) -> None:
        """Exit 0 within the promised grace, saying so on stderr (SIGTERM as Ctrl-C), and no traceback."""
        assert self.process.returncode == 0, self.err
        assert self.took < grace_s, self.took
        assert b"Traceback" not in self.err
        assert self.err.rstrip().endswith(b"fleetsim serve: stopped"), self.err


@contextlib.asynccontextmanager
async def serving(*args: str) -> AsyncIterator[Served]:
    """`fleetsim serve ARGS` running until the block ends (a process still running then is killed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "serve", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        yield Served(process, line)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
