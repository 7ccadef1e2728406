"""The seam between the delivery engine and whatever carries its requests.

`HttpTransport` (aiohttp over real sockets) is the sender of every `fleetsim run`. The conformance harness also
delivers to Python receivers in-process (`fleetsim check --app`), through httpx's ASGI/WSGI transports: anything
that has this shape can stand in, and answers with the same `Response` and the same outcome classes, never an
exception for the receiver's or the network's trouble.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from .transport import KEEP_CAP, HttpTransport, Response

__all__ = ["Sender", "SenderFactory", "http_sender", "trusting_sender"]


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                   method: str = "POST", keep: int = KEEP_CAP) -> Response: ...


#: builds a sender for `concurrency` parallel requests; `verify` is whether TLS certificates are checked
SenderFactory = Callable[[int, bool], AbstractAsyncContextManager[Sender]]


def http_sender(concurrency: int, verify: bool) -> AbstractAsyncContextManager[Sender]:
    return HttpTransport(concurrency=concurrency, verify=verify)


def trusting_sender(context: ssl.SSLContext | None) -> SenderFactory:
    """`http_sender`, verifying with `context` (`trust_context(--ca-bundle)`); None: `http_sender` itself.
    Verification is switched off only where the factory is asked to (`verify` False: --insecure)."""
    if context is None:
        return http_sender

    def factory(concurrency: int, verify: bool) -> AbstractAsyncContextManager[Sender]:
        return HttpTransport(concurrency=concurrency, ssl_context=context) if verify else http_sender(
            concurrency, verify)

    return factory
