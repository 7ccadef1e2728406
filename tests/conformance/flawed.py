"""Receivers with one deliberate flaw each, built from the reference receiver so that only that flaw differs,
and the settings every conformance test uses (the demo secrets, plus one for the Standard Webhooks profile)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import MappingProxyType
from typing import Any

import orjson
from aiohttp import web

from simulator.providers.receiving import Rejected
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.receiver import RECEIVER, Endpoint, build_app
from simulator.servers.store import Store
from simulator.signing import SIGNERS, CIHeaders

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def settings() -> MappingProxyType[str, Any]:
    providers = dict(load_scenario(scenarios_dir() / "demo-city.yaml").delivery.providers)
    providers["standard_webhooks"] = {"secret": SIGNERS["standard-webhooks"].parse_secret(SW_SECRET)}
    return MappingProxyType(providers)


@contextlib.contextmanager
def on_a_thread(server: contextlib.AbstractAsyncContextManager[str]) -> Iterator[str]:
    """Run an async receiver context on its own event loop in a thread, for tests of the CLI (which runs its own
    loop), and yield its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@contextlib.asynccontextmanager
async def serve(app: web.Application, store: Store | None = None) -> AsyncIterator[str]:
    """`app` on a free loopback port; `store` (the app's, if given) is closed after it, whatever happens."""
    try:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            yield f"http://{host}:{port}"
        finally:
            await runner.cleanup()
    finally:
        if store is not None:
            await store.close()


@contextlib.asynccontextmanager
async def flawed(flaw: str) -> AsyncIterator[str]:
    """The reference receiver with `flaw`: no_verify, stale_ok, duplicate_500, malformed_500 or slow."""
    store = Store()
    app = build_app(settings(), store)
    for endpoint in app[RECEIVER].endpoints.values():
        if flaw == "no_verify":
            setattr(endpoint, "authenticate", lambda body, headers: None)  # noqa: B010
        elif flaw == "stale_ok":
            setattr(endpoint, "authenticate", _lenient(endpoint))  # noqa: B010
    middleware = {"duplicate_500": _duplicate_500, "malformed_500": _malformed_500, "slow": _slow}.get(flaw)
    if middleware is not None:
        app.middlewares.append(web.middleware(middleware))
    async with serve(app, store) as url:
        yield url


def _lenient(endpoint: Endpoint) -> Callable[[bytes, CIHeaders], None]:
    """Verifies signatures, but also takes timestamps up to 15 minutes old (and still refuses future ones)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        for now in (int(time.time()), int(time.time()) - 600):
            if endpoint.signer.verify(body, headers, endpoint.secrets, now=now, tolerance=endpoint.tolerance_s).ok:
                return
        raise Rejected(401, "auth_failed", "authentication failed")

    return authenticate


def _error_of(response: web.StreamResponse) -> Any:
    body = response.body if isinstance(response, web.Response) else None
    return orjson.loads(body) if isinstance(body, bytes) and body else {}


async def _duplicate_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if _error_of(response).get("status") == "duplicate":
        return web.json_response({"error": "duplicate key value violates unique constraint"}, status=500)
    return response


async def _malformed_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if response.status == 400 and _error_of(response).get("error") in ("malformed_json", "too_deep"):
        return web.json_response({"error": "JSONDecodeError"}, status=500)
    return response


#: a delay that fails TIM-01 (p99 over half the 1.9 x SLOW_S timeout) and leaves 0.9 x SLOW_S for the rest of a
#: request on a loaded machine running the suite with -n 2 (0.25 s once left too little: a timeout failed other checks)
SLOW_S = 0.5


async def _slow(request: web.Request, handler: Handler) -> web.StreamResponse:
    await asyncio.sleep(SLOW_S)
    return await handler(request)
