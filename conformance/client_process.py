"""The user's own program, started and stopped by `fleetsim check --client-command`, at the edge: shared by the
socket-client checks (conformance/socket_client/) and the API-client checks (conformance/api_client/).

The program runs in a session (process group) of its own, so stopping it also stops whatever it started:
SIGTERM to the group, then SIGKILL if it is still there after a grace. Splitting the command and filling in its
placeholders is here once too; each caller words the user's mistakes its own way (`ValueError` → `UsageError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
from collections.abc import Iterable, Mapping

__all__ = ["STOP_GRACE_S", "fill", "shell_words", "spawn", "stop_group", "unknown_placeholders"]

#: how long a stopped program has between SIGTERM and SIGKILL
STOP_GRACE_S = 3.0


def shell_words(command: str) -> list[str]:
    """`command` split as a shell would; ValueError (shlex's reason, or "is empty") when it cannot be run."""
    words = shlex.split(command)
    if not words:
        raise ValueError("is empty")
    return words


#: `{name}` in a command's words; `${name}` is a shell's own and left alone
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def unknown_placeholders(words: list[str], known: Iterable[str]) -> list[str]:
    """The `{name}`s in the words that are no placeholder (a typo such as `{URL}` for `{url}`), which would reach
    the program as literal text; sorted, each once."""
    return sorted({m.group(1) for word in words for m in _PLACEHOLDER.finditer(word)} - set(known))


def fill(words: list[str], values: Mapping[str, str]) -> list[str]:
    """Each `{name}` in the words replaced by `values[name]`."""
    for name, value in values.items():
        words = [word.replace("{" + name + "}", value) for word in words]
    return words


async def spawn(words: list[str], env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start `words` in a session of its own, stdin closed, stdout and stderr together on one pipe. OSError and
    ValueError (not found, not executable, a NUL in a word) are the caller's to word as the user's mistake."""
    return await asyncio.create_subprocess_exec(
        *words, env=dict(env), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)


async def stop_group(process: asyncio.subprocess.Process, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the process's group; SIGKILL after `grace_s`; waits at most `grace_s` more for the kill."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace_s)
