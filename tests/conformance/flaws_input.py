"""Receivers with one input or transport flaw each (the reference receiver with one thing changed), and the
reference receiver served over https with a throwaway CA (trustme)."""

from __future__ import annotations

import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import trustme
from aiohttp import web

from simulator.delivery.sending import Sender, SenderFactory
from simulator.delivery.transport import HttpTransport
from simulator.providers.receiving import Rejected, enum_of
from simulator.servers.receiver import MAX_BODY_BYTES, RECEIVER, Endpoint, build_app
from simulator.servers.store import Store

from .flawed import Handler, _error_of, serve, settings

OVERSIZED_LIMIT = 4 << 20  # the flawed receiver's limit: four times the catalogue's 1 MiB


async def _redirect_slash(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sends `/smartgps/` to `/smartgps` with a 308, as many frameworks' slash normalisation does."""
    if len(request.path) > 1 and request.path.endswith("/"):
        raise web.HTTPPermanentRedirect(request.path.rstrip("/"))
    return await handler(request)


async def _schema_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A validation error escapes as a 500 (a pydantic ValidationError nobody caught)."""
    response = await handler(request)
    if response.status == 400 and _error_of(response).get("error") == "schema":
        return web.json_response({"error": "ValidationError"}, status=500)
    return response


def _inflate_all(packed: bytes) -> int:
    """How many bytes a gzip body inflates to, inflating all of it, without a bound (the flaw)."""
    return len(zlib.decompress(packed, 16 + zlib.MAX_WBITS))


async def _gzip_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inflates any gzip body to its end, without a bound, then fails on it."""
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        inflated = _inflate_all(await request.read())
        return web.json_response({"error": f"cannot handle {inflated} inflated bytes"}, status=500)
    return await handler(request)


async def _gzip_unbounded_401(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inflates any gzip body to its end, without a bound, and only then refuses it: a body past the size limit
    with 401, as a receiver that decodes first and checks the signature over the inflated bytes would (the bomb's
    signature covers its compressed bytes); a small one with the reference's 415. A 4xx, after 128 MiB."""
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        inflated = _inflate_all(await request.read())
        if inflated > MAX_BODY_BYTES:
            return web.json_response({"error": "invalid signature"}, status=401)
        return web.json_response({"error": "gzip not accepted"}, status=415, headers={"Accept-Encoding": "identity"})
    return await handler(request)


async def _text_plain_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Parses text/plain bodies as form fields and crashes on the JSON it finds."""
    if request.content_type == "text/plain":
        return web.json_response({"error": "UnicodeDecodeError"}, status=500)
    return await handler(request)


def _refuse_unknown(endpoint: Endpoint) -> Callable[[bytes, str], tuple[dict[str, Any], str | None]]:
    """The reference `check`, but an event type it does not know is a 400 instead of acknowledged."""
    check = endpoint.check

    def strict(body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        doc, kind = check(body, content_type)
        if kind is None:
            raise Rejected(400, "unknown_type", "unknown event type")
        return doc, kind

    return strict


Check = Callable[[bytes, str], tuple[dict[str, Any], str | None]]


def _refuse_unknown_condition(endpoint: Endpoint, status: int) -> Check:
    """The reference `check`, but a Samsara alert whose `alertConditionId` is not in seed 004's table is refused,
    as a receiver that maps the table to its own enum would (a KeyError escaping as a 500, or a validation
    error as a 400)."""
    check = endpoint.check
    table = enum_of("samsara/alert_v1.schema.json", "$defs", "AlertConditionId", "enum")

    def strict(body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        doc, kind = check(body, content_type)
        if kind == "alert_v1" and doc["event"].get("alertConditionId") not in table:
            raise Rejected(status, "unknown_condition", "unknown alertConditionId")
        return doc, kind

    return strict


MIDDLEWARES = {"redirect_slash": _redirect_slash, "schema_500": _schema_500, "gzip_500": _gzip_500,
               "gzip_unbounded_401": _gzip_unbounded_401, "text_plain_500": _text_plain_500}
FLAWS = (*MIDDLEWARES, "unknown_kind_400", "unknown_condition_400", "unknown_condition_500", "oversized_ok")


@contextlib.asynccontextmanager
async def flawed_input(flaw: str) -> AsyncIterator[str]:
    """The reference receiver with `flaw` (one of FLAWS)."""
    store = Store()
    app = build_app(settings(), store, max_body_bytes=OVERSIZED_LIMIT if flaw == "oversized_ok" else 1 << 20)
    if flaw == "unknown_kind_400":
        for endpoint in app[RECEIVER].endpoints.values():
            setattr(endpoint, "check", _refuse_unknown(endpoint))  # noqa: B010
    if flaw.startswith("unknown_condition_"):
        samsara = app[RECEIVER].endpoints["samsara"]
        setattr(samsara, "check", _refuse_unknown_condition(samsara, int(flaw[-3:])))  # noqa: B010
    middleware = MIDDLEWARES.get(flaw)
    if middleware is not None:
        app.middlewares.append(web.middleware(middleware))
    async with serve(app, store) as url:
        yield url


# --- https ------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def reference_over_tls(ca: trustme.CA) -> AsyncIterator[str]:
    """The reference receiver over https, with a certificate for 127.0.0.1 issued by `ca`."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    store = Store()
    runner = web.AppRunner(build_app(settings(), store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"https://{host}:{port}"
    finally:
        await runner.cleanup()
        await store.close()


def trusting(ca: trustme.CA) -> SenderFactory:
    """A sender factory whose client trusts `ca` (and verifies as always: chain, host name, TLS 1.2 or later)."""

    def factory(concurrency: int, verify: bool) -> contextlib.AbstractAsyncContextManager[Sender]:
        client = ssl.create_default_context()
        client.minimum_version = ssl.TLSVersion.TLSv1_2
        ca.configure_trust(client)
        return HttpTransport(concurrency=concurrency, ssl_context=client)

    return factory
