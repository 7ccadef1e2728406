"""Running the reference receiver in this event loop, on any port: for `fleetsim receiver`, `fleetsim run`
without --target, the demo, tests, and a user's own code (`simulator.start_receiver`)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .listening import listen
from .protocol_log import protocol_logger
from .receiver import BODY_TIMEOUT_S, MAX_BODY_BYTES, TOLERANCE_S, build_app
from .store import Store
from .timeouts import HEADER_TIMEOUT_S, MAX_CONNECTIONS, ConnectionGuard

__all__ = ["start_receiver", "stop_receiver"]


#: aiohttp's own protocol log for the receiver's connections (the handler never raises: it answers 4xx itself)
_PROTOCOL_LOG = protocol_logger("fleetsim.receiver.http")


async def start_receiver(
    settings: Mapping[str, Mapping[str, Any]], store: Store, host: str = "127.0.0.1", port: int = 0, *,
    max_body_bytes: int = MAX_BODY_BYTES, tolerance_s: int = TOLERANCE_S, header_timeout_s: float = HEADER_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S, max_connections: int | None = MAX_CONNECTIONS,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, str]:
    """Start the receiver in this event loop; (runner, base URL such as "http://127.0.0.1:54321", or https:
    when `ssl_context` is given: simulator/servers/tls.py makes one).

    A request head must arrive within `header_timeout_s` of the connection opening or of the previous response
    (else 408 and close; an idle connection is closed), a body within `body_timeout_s` of its head; at most
    `max_connections` (None: no limit) are open at once. The site in `runner.sites` has the `guard`."""
    guard = ConnectionGuard(header_timeout_s, max_connections)  # checks the values before anything starts
    app = build_app(settings, store, max_body_bytes=max_body_bytes, tolerance_s=tolerance_s,
                    body_timeout_s=body_timeout_s)
    # no access log (rejections are logged by the receiver, without header values); bodies are not inflated
    # by the server: the receiver decodes gzip itself, never past max_body_bytes (LIM-04; build_app sets this too).
    # keepalive_timeout: the guard closes idle connections at the header timeout; aiohttp's own idle timer
    # (default about an hour) is kept as a backstop at twice that, in case the guard's tracking ever fails
    runner = web.AppRunner(app, access_log=None, auto_decompress=False, shutdown_timeout=5.0,
                           keepalive_timeout=2 * header_timeout_s, logger=_PROTOCOL_LOG)
    await runner.setup()
    return runner, await listen(runner, host, port, guard, ssl_context=ssl_context)


async def stop_receiver(runner: web.AppRunner) -> None:
    """Stop listening, let requests and background processing finish, and release the port."""
    await runner.cleanup()

