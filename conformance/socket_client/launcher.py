"""Starting and stopping the user's client command (`--client-command`), at the edge.

The command is split like a shell line (no shell runs it); `{url}`, `{email}` and `{password}` are replaced in
each word, and FLEETSIM_TRACCAR_URL / _EMAIL / _PASSWORD are set in its environment. It runs in a process group
of its own; its output (stdout and stderr together) is read as it comes and only the last lines are kept, to
report why it ended when it ends early. Stopping it: SIGTERM to its group, SIGKILL after a grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable, Mapping

from simulator.cli.common import shown
from simulator.errors import UsageError

from ..client_process import fill, shell_words, spawn, stop_group, unknown_placeholders

#: lines of the client's output kept, and characters of each
TAIL_LINES = 20
LINE_LIMIT = 300
ENV = {"url": "FLEETSIM_TRACCAR_URL", "email": "FLEETSIM_TRACCAR_EMAIL", "password": "FLEETSIM_TRACCAR_PASSWORD"}


def command_words(command: str, values: Mapping[str, str]) -> list[str]:
    """The command's words with the placeholders filled in; a UsageError when it cannot be split or is empty."""
    if not command.strip():
        raise UsageError("cannot start client: --client-command is empty")
    try:
        words = shell_words(command)
    except ValueError as exc:
        raise UsageError(f"cannot start client: {shown(command)}: {exc}") from None
    unknown = unknown_placeholders(words, ENV)
    if unknown:
        raise UsageError(f"cannot start client: {shown(command)}: unknown placeholder "
                         f"{', '.join('{' + name + '}' for name in unknown)} (known: {{url}}, {{email}}, {{password}})")
    return fill(words, values)


class Launched:
    """A running client command."""

    def __init__(self, process: asyncio.subprocess.Process, on_exit: Callable[[int | None, str], None]) -> None:
        self.process = process
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._on_exit = on_exit
        self._stopping = False
        self._reader = asyncio.create_task(self._read(), name="fleetsim-client-output")

    @classmethod
    async def start(cls, command: str, values: Mapping[str, str],
                    on_exit: Callable[[int | None, str], None]) -> Launched:
        words = command_words(command, values)
        env = {**os.environ, **{ENV[k]: v for k, v in values.items() if k in ENV}}
        try:
            process = await spawn(words, env)
        except OSError as exc:  # not found, not executable, a directory...
            raise UsageError(f"cannot start client: {shown(words[0])}: {exc.strerror or exc}") from None
        except ValueError as exc:  # a NUL byte in a word
            raise UsageError(f"cannot start client: {shown(command)}: {exc}") from None
        return cls(process, on_exit)

    async def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the stream's limit: keep reading
                continue
            if not line:
                break
            self.tail.append(line.decode("utf-8", "replace").rstrip()[:LINE_LIMIT])
        code = await self.process.wait()
        if not self._stopping:
            self._on_exit(code, "\n".join(self.tail))

    async def stop(self) -> None:
        """SIGTERM to the client's process group; SIGKILL if it is still there after the grace."""
        self._stopping = True
        await stop_group(self.process)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
