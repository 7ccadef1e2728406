"""How fleetsim starts one activation of the integrator's code, and the integrator's process.

- `UrlTrigger`: POST the activation body (docs/api-client-checks.md) to the integrator's own endpoint, as seed
  000's `POST /api/integrations/smartgps/activate`; a 2xx is success.
- `ScriptTrigger`: run the integrator's command once per activation; exit status 0 is success.
- `ClientProcess`: the integrator's command started once and kept running (its server, behind --activate-url).

The command is split like a shell would (shlex), never run through one; `{url}`, `{client_id}`,
`{client_secret}`, `{imei}` and `{plate}` in its words are replaced, and the same values are in the environment
as FLEETSIM_SMARTGPS_URL, _CLIENT_ID, _CLIENT_SECRET, _IMEI, _PLATE. The secret is never printed: what the
process writes is shown with it masked. Every process is started in a session of its own and stopped, with all
it started, by SIGTERM and then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from simulator.cli.common import shown
from simulator.delivery.redaction import MASK
from simulator.errors import UsageError

from ..client_process import fill, shell_words, spawn, stop_group, unknown_placeholders

__all__ = ["ClientProcess", "Endpoint", "ScriptTrigger", "UrlTrigger", "command_words", "wait_reachable"]

#: bytes of a process's output kept to explain a failure
OUTPUT_KEPT = 4_000
PLACEHOLDERS = ("url", "client_id", "client_secret", "imei", "plate")


@dataclass(frozen=True)
class Endpoint:
    """What the integrator's code needs to reach fleetsim's SmartGPS."""

    url: str
    client_id: str
    client_secret: str

    def values(self, activation: Mapping[str, str] | None = None) -> dict[str, str]:
        values = {"url": self.url, "client_id": self.client_id, "client_secret": self.client_secret}
        values.update(activation or {})
        return values


def command_words(command: str) -> list[str]:
    """The command split as a shell would, checked now (exit 2 before anything starts)."""
    if not command.strip():
        raise UsageError("check: --client-command is empty: give the command that runs your code")
    try:
        words = shell_words(command)
    except ValueError as exc:
        raise UsageError(f"check: --client-command {shown(command)}: {exc}") from None
    if any("\x00" in w for w in words):
        raise UsageError(f"check: --client-command {shown(command)}: contains a NUL character")
    unknown = unknown_placeholders(words, PLACEHOLDERS)
    if unknown:
        raise UsageError(f"check: --client-command {shown(command)}: unknown placeholder "
                         f"{', '.join('{' + name + '}' for name in unknown)} (known: "
                         f"{', '.join('{' + name + '}' for name in PLACEHOLDERS)})")
    program = words[0]
    found = shutil.which(program) if "/" not in program else \
        program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    if found is None:
        why = "no such program on PATH" if "/" not in program else "not an executable file"
        raise UsageError(f"check: cannot start --client-command {shown(program)}: {why}")
    return words


def _environment(values: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"FLEETSIM_SMARTGPS_{name.upper()}": value for name, value in values.items()})
    return env


async def _spawn(words: list[str], values: Mapping[str, str]) -> asyncio.subprocess.Process:
    try:
        return await spawn(fill(words, {k: values[k] for k in PLACEHOLDERS if k in values}), _environment(values))
    except (OSError, ValueError) as exc:  # not found, not executable, a surrogate in an argument...
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"check: cannot start --client-command {shown(words[0])}: {why}") from None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process's whole session, SIGKILL after the grace."""
    await stop_group(process)


class _Output:
    """The tail of what a process wrote, with the secret masked."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.data = b""

    async def collect(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            self.data = (self.data + chunk)[-OUTPUT_KEPT:]

    def last_line(self) -> str:
        text = self.data.decode("utf-8", "replace")
        if self.secret:
            text = text.replace(self.secret, MASK)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            return ""
        last = "".join(c if c.isprintable() else "?" for c in lines[-1])
        return last if len(last) <= 200 else last[:200] + "..."


class ClientProcess:
    """The integrator's long-running code (its server), started once with the endpoint's values."""

    def __init__(self, command: str, endpoint: Endpoint) -> None:
        self.words = command_words(command)
        self.endpoint = endpoint
        self.process: asyncio.subprocess.Process | None = None
        self.output = _Output(endpoint.client_secret)
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await _spawn(self.words, self.endpoint.values())
        self._reader = asyncio.create_task(self.output.collect(self.process.stdout))

    def exited(self) -> str | None:
        if self.process is None or self.process.returncode is None:
            return None
        tail = self.output.last_line()
        return f"exited with status {self.process.returncode}" + (f" ({tail})" if tail else "")

    async def stop(self) -> None:
        if self.process is not None:
            await _stop(self.process)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def wait_reachable(url: str, deadline_s: float, process: ClientProcess | None = None) -> None:
    """Return once something accepts TCP connections at the URL's host and port; exit 2 ("cannot reach ...")
    when nothing does within `deadline_s` (or the process meant to serve it exits)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    why = "no answer"
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), max(0.1, end - loop.time()))
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        except (TimeoutError, OSError, UnicodeError, ValueError) as exc:
            if isinstance(exc, TimeoutError):
                why = "no answer in time"
            elif isinstance(exc, OSError):
                why = exc.strerror or str(exc)
            else:
                why = "not a valid host"
        if process is not None and (gone := process.exited()):
            raise UsageError(f"check: cannot reach --activate-url {shown(url)}: the client command {gone}")
        if process is None or loop.time() >= end:
            raise UsageError(f"check: cannot reach --activate-url {shown(url)}: {why}")
        await asyncio.sleep(0.1)


class UrlTrigger:
    """One activation = one POST of the activation body to the integrator's endpoint."""

    def __init__(self, url: str, timeout_s: float, session: aiohttp.ClientSession) -> None:
        self.url, self.timeout_s, self.session = url, timeout_s, session

    async def activate(self, body: Mapping[str, Any]) -> tuple[bool, str]:
        try:
            async with self.session.post(self.url, json=dict(body),
                                         timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                await response.read()
                return 200 <= response.status < 300, f"answered {response.status}"
        except TimeoutError:
            return False, f"no answer within {self.timeout_s:g} s"
        except aiohttp.ClientConnectorCertificateError:
            return False, ("its TLS certificate is not trusted (a local CA? give --ca-bundle FILE, the CA's PEM "
                           "file)")
        except aiohttp.ClientError as exc:
            return False, f"request failed: {type(exc).__name__}: {shown(str(exc), 120)}"


class ScriptTrigger:
    """One activation = one run of the integrator's command, with the activation's IMEI and plate."""

    def __init__(self, command: str, endpoint: Endpoint, timeout_s: float) -> None:
        self.words = command_words(command)
        self.endpoint, self.timeout_s = endpoint, timeout_s

    async def activate(self, body: Mapping[str, Any]) -> tuple[bool, str]:
        values = self.endpoint.values({"imei": str(body["imei"]), "plate": str(body["plate"])})
        process = await _spawn(self.words, values)
        output = _Output(self.endpoint.client_secret)
        reader = asyncio.create_task(output.collect(process.stdout))
        try:
            await asyncio.wait_for(process.wait(), self.timeout_s)
        except TimeoutError:
            await _stop(process)
            return False, f"still running after {self.timeout_s:g} s (stopped)"
        finally:
            if process.returncode is None:
                await _stop(process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, 1.0)
        tail = output.last_line()
        return process.returncode == 0, f"exit status {process.returncode}" + (f": {tail}" if tail else "")
