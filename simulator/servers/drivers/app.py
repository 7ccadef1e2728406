"""The drivers control API of seed 002 as an aiohttp application, and starting and stopping it on a port.

Every answer is JSON in the seed's shapes: `{"data": …}` bodies, `{"error": "Not found"}` for an unknown driver
or route, `{"error": "Unauthenticated."}` (401) without a known bearer token, `{"error": "This action is
unauthorized."}` (403, Laravel's words) when the token lacks DRIVERS_MANAGE on the endpoints whose "Permissões
necessárias" table names it, and Laravel's 422 for a failed validation. The send-test-event deliveries go out
through a `Sender` (the delivery engine's aiohttp transport, TLS verified, or trusting the CA given).
"""

from __future__ import annotations

import hmac
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from ...delivery.sending import Sender
from ...delivery.transport import HttpTransport
from ...errors import UsageError
from ..bodies import UnreadableBody, read_body
from ..listening import api_guard, listen
from ..protocol_log import protocol_logger
from ..timeouts import ConnectionGuard, track_requests
from .catalogue import Driver, drivers
from .listing import BadQuery, paginate, parse_query
from .openapi import openapi_document
from .rules import Errors, laravel_422
from .tenant import Tenant
from .test_event import send_test_event

__all__ = ["DEMO_TOKENS", "DRIVERS", "DRIVERS_MANAGE", "DriversServer", "DriversState", "build_app",
           "start_drivers_server", "stop_drivers_server"]

DRIVERS_MANAGE = "DRIVERS_MANAGE"
#: the demo tenant's tokens (printed in the banner): one that may manage drivers, one that may only read them
DEMO_TOKENS: dict[str, frozenset[str]] = {
    "fleetsim-demo-drivers-manage": frozenset({DRIVERS_MANAGE}),
    "fleetsim-demo-drivers-read": frozenset(),
}
_MAX_BODY = 64 * 1024


@dataclass
class DriversState:
    tenant: Tenant
    tokens: Mapping[str, frozenset[str]]
    sender: Sender
    #: the test event's deadline; None: the driver's provider's own delivery timeout
    test_timeout_s: float | None = None
    keep_query: bool = False
    now: Callable[[], float] = time.time
    sent: dict[str, int] = field(default_factory=dict)


DRIVERS = web.AppKey("drivers", DriversState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(value), content_type="application/json")


def _error(text: str, status: int) -> web.Response:
    return _json({"error": text}, status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404 / 405 / 413 in the seed's error shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404:
            return _error("Not found", 404)
        response = _error(exc.reason, exc.status)
        if "Allow" in exc.headers:  # a 405 says which methods the resource takes (RFC 9110 §15.5.6), as Laravel does
            response.headers["Allow"] = exc.headers["Allow"]
        return response


def _permissions(request: web.Request) -> frozenset[str] | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode("utf-8", "surrogateescape")
    for known, permissions in request.app[DRIVERS].tokens.items():
        if hmac.compare_digest(known.encode("utf-8"), given):
            return permissions
    return None


def _guarded(handler: Callable[[web.Request, Driver | None], Awaitable[web.Response]], *,
             manage: bool = False, by_id: bool = False) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        permissions = _permissions(request)
        if permissions is None:
            return _error("Unauthenticated.", 401)
        if manage and DRIVERS_MANAGE not in permissions:
            return _error("This action is unauthorized.", 403)
        driver = None
        if by_id:
            driver = request.app[DRIVERS].tenant.by_id.get(request.match_info["id"].lower())
            if driver is None:
                return _error("Not found", 404)
        return await handler(request, driver)
    return guarded


def _path(request: web.Request) -> str:
    return str(request.url.with_query(None))


async def _list(request: web.Request, _: Driver | None) -> web.Response:
    state = request.app[DRIVERS]
    query = {k: v for k, v in request.query.items()}
    try:
        page = parse_query(query)
    except BadQuery as exc:
        return _json(exc.body, exc.status)
    records = [{**state.tenant.driver_body(d), "status": d.status} for d in state.tenant.drivers]
    return _json(paginate(records, page, path=_path(request), query=query, keep_query=state.keep_query))


async def _names(request: web.Request, _: Driver | None) -> web.Response:
    chosen = sorted(request.app[DRIVERS].tenant.drivers, key=lambda d: d.name.casefold())
    return _json({"data": [{"name": d.name, "slug": d.slug} for d in chosen]})


async def _show(request: web.Request, driver: Driver | None) -> web.Response:
    assert driver is not None
    return _json({"data": request.app[DRIVERS].tenant.driver_body(driver)})


async def _settings(request: web.Request, driver: Driver | None) -> web.Response:
    assert driver is not None
    body = request.app[DRIVERS].tenant.settings_body(driver)
    return _error("Not found", 404) if body is None else _json(body)


async def _object_body(request: web.Request) -> dict[str, Any]:
    """The JSON object sent, or {} for anything else (Laravel reads an unparsable body as no input); a body that
    cannot even be decoded (gzip that is not) is a 400."""
    try:
        raw = await read_body(request)
    except UnreadableBody as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def _put_settings(request: web.Request, driver: Driver | None) -> web.Response:
    assert driver is not None
    state = request.app[DRIVERS]
    outcome = state.tenant.update(driver, await _object_body(request), state.now())
    if isinstance(outcome, Errors):
        return _json(laravel_422(outcome), 422)
    return _json(state.tenant.settings_body(driver))


async def _send_test_event(request: web.Request, driver: Driver | None) -> web.Response:
    assert driver is not None
    state = request.app[DRIVERS]
    body = await _object_body(request)
    errors = Errors()
    for key in ("webhook_url", "event_name"):
        if key not in body or body[key] in (None, ""):
            errors.add(key, "required")
        elif not isinstance(body[key], str):
            errors.add(key, "string")
    if "event_name" not in errors.fields and body["event_name"] not in driver.supported_events:
        errors.add("event_name", "in")
    if errors:
        return _json(laravel_422(errors), 422)
    event = str(body["event_name"])
    index = state.sent.get(f"{driver.id}:{event}", 0)
    state.sent[f"{driver.id}:{event}"] = index + 1
    timeout_s = state.test_timeout_s or driver.provider.delivery.timeout_s
    grade = await send_test_event(state.sender, state.tenant, driver, str(body["webhook_url"]), event,
                                  timeout_s=timeout_s, index=index, now=state.now)
    return _json(grade.body(), 200 if grade.success else 400)


async def _openapi(request: web.Request) -> web.Response:
    return _json(openapi_document())


def build_app(tenant: Tenant, sender: Sender, *, tokens: Mapping[str, frozenset[str]] | None = None,
              test_timeout_s: float | None = None, keep_query: bool = False,
              now: Callable[[], float] = time.time) -> web.Application:
    # track_requests outermost: the connection deadlines (LIM-06)
    app = web.Application(client_max_size=_MAX_BODY, middlewares=[track_requests, _errors])
    app[DRIVERS] = DriversState(tenant, DEMO_TOKENS if tokens is None else tokens, sender, test_timeout_s,
                                keep_query, now)
    add = app.router
    add.add_get("/openapi.json", _openapi, allow_head=False)
    add.add_get("/drivers", _guarded(_list), allow_head=False)
    add.add_get("/drivers/names", _guarded(_names), allow_head=False)
    add.add_get("/drivers/{id}", _guarded(_show, by_id=True), allow_head=False)
    add.add_get("/drivers/{id}/settings", _guarded(_settings, manage=True, by_id=True), allow_head=False)
    add.add_put("/drivers/{id}/settings", _guarded(_put_settings, manage=True, by_id=True))
    add.add_post("/drivers/{id}/send-test-event", _guarded(_send_test_event, manage=True, by_id=True))
    return app


def tenant_for(settings: Mapping[str, Mapping[str, Any]], installed: set[str],
               oauth: frozenset[str] = frozenset()) -> Tenant:
    """The demo tenant: fleetsim's drivers, those of `installed` configured with `settings`."""
    return Tenant(drivers(oauth), settings, installed)


@dataclass
class DriversServer:
    runner: web.AppRunner
    url: str
    transport: HttpTransport

    @property
    def state(self) -> DriversState:
        return self.runner.app[DRIVERS]


async def start_drivers_server(
    settings: Mapping[str, Mapping[str, Any]], installed: set[str], *, host: str = "127.0.0.1", port: int = 0,
    ssl_context: ssl.SSLContext | None = None, tokens: Mapping[str, frozenset[str]] | None = None,
    test_timeout_s: float | None = None, keep_query: bool = False, now: Callable[[], float] = time.time,
    oauth: frozenset[str] = frozenset(), server_ssl: ssl.SSLContext | None = None,
    guard: ConnectionGuard | None = None,
) -> DriversServer:
    """Serve the drivers API. `settings` are the providers' (a scenario's, with a settings file laid over);
    `installed` the drivers the scenario uses; `oauth` the drivers that take the seed's OAuth settings;
    `ssl_context` is what the test events trust (default: the system's
    CAs, certificates verified); `server_ssl`, when given, serves the API itself over https (`fleetsim serve
    --tls`); `guard`, the connections' deadlines (default `listening.api_guard()`)."""
    transport = HttpTransport(concurrency=8, ssl_context=ssl_context)
    await transport.__aenter__()
    app = build_app(tenant_for(settings, installed, oauth), transport, tokens=tokens, test_timeout_s=test_timeout_s,
                    keep_query=keep_query, now=now)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0,
                           logger=protocol_logger("fleetsim.serve.drivers.http"))
    await runner.setup()
    try:
        url = await listen(runner, host, port, guard or api_guard(), ssl_context=server_ssl)
    except UsageError:
        await transport.aclose()
        raise
    return DriversServer(runner, url, transport)


async def stop_drivers_server(server: DriversServer) -> None:
    await server.runner.cleanup()
    await server.transport.aclose()
