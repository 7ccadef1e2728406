"""One socket-client session, start to verdict: the director's server, the client (a launched command, a
coroutine a test passes, or whoever connects by themselves), the phases the selected checks need, and the checks
over the recording, as a `ProviderRun` like any provider's, so the same terminal table and reports show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from simulator.delivery.redaction import Redactor
from simulator.providers import PROVIDERS
from simulator.servers.traccar.accounts import DEMO_TOKEN

from ..registry import Check, Context
from ..run import ProviderRun
from . import SOCKET_PROVIDER
from .director import Director, SocketOptions, demo_credentials
from .launcher import Launched
from .recording import PHASES

#: a client run in this event loop (tests): given the server's URL and the credentials
InProcessClient = Callable[[str, Mapping[str, str]], Coroutine[Any, Any, None]]


async def run_socket_client(checks: Iterable[Check], options: SocketOptions | None = None, *,
                            command: str | None = None, client: InProcessClient | None = None,
                            host: str = "127.0.0.1", port: int = 0,
                            announce: Callable[[str], None] | None = None,
                            progress: Callable[[str], None] | None = None) -> ProviderRun:
    """Grade a socket client with `checks` (client checks; others are left out). The client is `command`
    (launched, and stopped when grading ends), `client` (a coroutine run here), or, with neither, whoever
    connects to the URL `announce` hears of."""
    selected = [c for c in checks if c.client]
    options = options or SocketOptions()
    director = Director(options, host=host, port=port)
    started = time.monotonic()
    url = await director.start()
    credentials = demo_credentials()
    launched: Launched | None = None
    task: asyncio.Task[None] | None = None
    try:
        if command is not None:
            launched = await Launched.start(command, {"url": url, **credentials}, director.client_ended)
        elif client is not None:
            task = asyncio.create_task(client(url, credentials), name="fleetsim-socket-client")
            task.add_done_callback(lambda t: _ended(director, t))
        elif announce is not None:
            announce(f"waiting {options.connect_timeout_s:g} s for your socket client: {url}/api/socket, log in "
                     f"at {url}/api/session as {credentials['email']} / {credentials['password']} (fleetsim's "
                     "demo account)")
        if progress is not None:
            progress(f"{SOCKET_PROVIDER}: playing the session")
        recording = await director.run(_phase_names(selected))
    finally:
        if launched is not None:
            await launched.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await director.stop()
    context = Context(PROVIDERS["powunity"], (), options.phase_timeout_s, client=recording)
    # a result may quote the client's last output, and a client may print its session cookie or token: every
    # session the server handed out, and the demo account's token, are scrubbed from what is reported (the
    # demo password, four letters printed to the user above, is public)
    scrub = Redactor([DEMO_TOKEN.encode(), *(s.encode() for s in director.state.accounts.opened)])
    results = tuple(dataclasses.replace(c.run(context), provider=SOCKET_PROVIDER) for c in selected)
    results = tuple(r.scrubbed(scrub.text) for r in results)
    return ProviderRun(SOCKET_PROVIDER, url, results, (), time.monotonic() - started)


def _phase_names(checks: list[Check]) -> list[str]:
    by_check = {check_id: name for name, check_id in PHASES.items()}
    return [by_check[c.id] for c in checks if c.id in by_check]


def _ended(director: Director, task: asyncio.Task[None]) -> None:
    """An in-process client that ended by itself (an exception, or it returned) is a client that exited."""
    if task.cancelled():
        return
    error = task.exception()
    director.client_ended(1 if error else 0, f"{type(error).__name__}: {error}" if error else "")
