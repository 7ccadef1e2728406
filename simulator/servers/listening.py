"""Where every fleetsim server starts listening: the reference receiver and each of `fleetsim serve`'s APIs.

One place opens the socket, so every server gets the same connection deadlines (simulator.servers.timeouts,
catalogue LIM-06) and the same one-line error for an address it cannot listen on."""

from __future__ import annotations

import os
import socket
import ssl

from aiohttp import web

from ..errors import UsageError
from .timeouts import HEADER_TIMEOUT_S, MAX_CONNECTIONS, ConnectionGuard, GuardedSite

__all__ = ["api_guard", "listen"]


async def listen(runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard, *,
                 ssl_context: ssl.SSLContext | None = None) -> str:
    """Start `runner` (set up, its app's outermost middleware `timeouts.track_requests`) on host:port behind
    `guard`; the base URL, such as "http://127.0.0.1:54321" (https with `ssl_context`). An address that cannot
    be listened on is a UsageError, the runner cleaned up first."""
    site = GuardedSite(runner, host, port, guard, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as exc:  # address in use, unknown host, permission denied...
        await runner.cleanup()
        why = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno else os.strerror(exc.errno)
        raise UsageError(f"cannot listen on {_clip(host)}:{port}: {why or exc}") from None
    except (UnicodeError, ValueError):  # a host name no resolver can encode (too long, bidi or surrogate characters)
        await runner.cleanup()
        raise UsageError(f"cannot listen on {_clip(host)}:{port}: not a valid host name or address") from None
    bound = runner.addresses[0]
    address = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return f"{'https' if ssl_context else 'http'}://{address}:{bound[1]}"


def _clip(host: str) -> str:
    return host if len(host) <= 60 and host.isprintable() else f"{host[:60]!r}... ({len(host)} characters)"


def api_guard() -> ConnectionGuard:
    """The deadlines of one of `fleetsim serve`'s APIs: a request head within HEADER_TIMEOUT_S of the connection
    opening (or of the previous response), its body within as long again, at most MAX_CONNECTIONS open (LIM-06).
    Their requests are a login form, a token request, a few hundred bytes of JSON: sent at once by any client."""
    return ConnectionGuard(HEADER_TIMEOUT_S, MAX_CONNECTIONS, body_timeout_s=HEADER_TIMEOUT_S)
