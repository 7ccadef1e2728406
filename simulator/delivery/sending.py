"""The seam between the delivery engine and whatever carries its requests.

`H1Transport` (h1.py: HTTP/1.1 over asyncio Protocols, real sockets) is the sender of every `fleetsim run`, replay
check and probe that goes through `http_sender`/`trusting_sender`; `HttpTransport` (transport.py: aiohttp) keeps
the same contract and is what `FLEETSIM_TRANSPORT=aiohttp` selects instead (docs/transport.md). The conformance
harness also delivers to Python receivers in-process (`fleetsim check --app`), through httpx's ASGI/WSGI
transports: anything that has this shape can stand in, and answers with the same `Response` and the same outcome
classes, never an exception for the receiver's or the network's trouble.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Final, Protocol

from ..errors import UsageError
from .h1 import H1Transport
from .response import KEEP_CAP, Response

__all__ = ["TRANSPORT_ENV", "Sender", "SenderFactory", "http_sender", "transport_choice", "trusting_sender"]

#: the environment variable that picks the HTTP client: "h1" (the default) or "aiohttp"
TRANSPORT_ENV: Final = "FLEETSIM_TRANSPORT"


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                   method: str = "POST", keep: int = KEEP_CAP) -> Response: ...


#: builds a sender for `concurrency` parallel requests; `verify` is whether TLS certificates are checked
SenderFactory = Callable[[int, bool], AbstractAsyncContextManager[Sender]]


def transport_choice() -> str:
    """The HTTP client FLEETSIM_TRANSPORT asks for, "h1" (the default) or "aiohttp"; any other value is a
    UsageError."""
    choice = os.environ.get(TRANSPORT_ENV, "h1").strip().lower() or "h1"
    if choice not in ("h1", "aiohttp"):
        raise UsageError(f"{TRANSPORT_ENV}={os.environ[TRANSPORT_ENV]!r}: expected 'h1' or 'aiohttp'")
    return choice


def _transport(concurrency: int, *, verify: bool = True,
               ssl_context: ssl.SSLContext | None = None) -> AbstractAsyncContextManager[Sender]:
    if transport_choice() == "h1":
        return H1Transport(concurrency=concurrency, verify=verify, ssl_context=ssl_context)
    from .transport import HttpTransport  # the escape hatch: a receiver only aiohttp's client gets along with

    return HttpTransport(concurrency=concurrency, verify=verify, ssl_context=ssl_context)


def http_sender(concurrency: int, verify: bool) -> AbstractAsyncContextManager[Sender]:
    return _transport(concurrency, verify=verify)


def trusting_sender(context: ssl.SSLContext | None) -> SenderFactory:
    """`http_sender`, verifying with `context` (`trust_context(--ca-bundle)`); None: `http_sender` itself.
    Verification is switched off only where the factory is asked to (`verify` False: --insecure).
    FLEETSIM_TRANSPORT is checked here, when a command sets up its sending, not at its first request."""
    transport_choice()
    if context is None:
        return http_sender

    def factory(concurrency: int, verify: bool) -> AbstractAsyncContextManager[Sender]:
        return _transport(concurrency, ssl_context=context) if verify else http_sender(concurrency, verify)

    return factory
