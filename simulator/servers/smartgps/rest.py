"""The REST half of seed 000: POST /auth/token, GET /account/me and the trackers (registerTracker, assign,
unassign, BLOCK / UNBLOCK). objects.py has objects, geofences, drivers and events. Shapes are [I] (provider-facts
§4.1): seed 000 lists the endpoints, not their bodies.

Every request passes one middleware: the rate limit (429 with Retry-After), the bearer token (401), the one
error shape for whatever goes wrong, and the call log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..bodies import UnreadableBody, read_form
from .context import SERVER, Call, ServerState
from .errors import ApiError, conflict, error_response, invalid, not_found
from .state import Tracker
from .validate import IMEI, json_object, only, text

__all__ = ["add_routes", "middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: calls kept in the log (the oldest are forgotten first)
CALL_LIMIT = 100_000
#: answered without a token
PUBLIC = frozenset({"/auth/token", "/openapi.json"})
#: request keys the middleware leaves for the handlers and the call log
CLIENT: web.RequestKey[str | None] = web.RequestKey("smartgps_client", str)
TOKEN: web.RequestKey[int | None] = web.RequestKey("smartgps_token", int)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[SERVER]
    request[CLIENT], request[TOKEN] = None, None
    try:
        response = await _guarded(request, handler, state)
    except ApiError as error:
        response = error_response(error)
    except web.HTTPException as exc:  # no such route, method not allowed: the same JSON shape
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status, "bad_request")
        response = error_response(ApiError(exc.status, code, exc.reason, headers={
            k: v for k, v in exc.headers.items() if k.lower() == "allow"}))
    retry_after = response.headers.get("Retry-After") if response.status == 429 else None
    dropped = (request.method, request.path) in state.drop and 200 <= response.status < 300
    state.calls.append(Call(request.method, request.path, tuple(request.query.items()), response.status,
                            state.wall(), request[CLIENT], request[TOKEN],
                            int(retry_after) if retry_after and retry_after.isdigit() else None, dropped))
    if len(state.calls) > CALL_LIMIT:  # a load test must not grow memory without bound: forget the oldest tenth
        del state.calls[:CALL_LIMIT // 10]
    state.player.flush()  # a BLOCK or a new geofence may have emitted webhooks
    if dropped and request.transport is not None:
        state.drop.discard((request.method, request.path))
        request.transport.abort()  # the client sees the connection reset with no answer
        raise asyncio.CancelledError  # aiohttp stops handling this request: nothing is written
    return response


async def _guarded(request: web.Request, handler: Handler, state: ServerState) -> web.StreamResponse:
    now = state.clock()
    issued = None
    if request.path not in PUBLIC:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        issued = state.clients.bearer(token.strip(), now) if scheme.lower() == "bearer" else None
        if issued is not None:
            request[CLIENT], request[TOKEN] = issued.client_id, issued.serial
    who = issued.client_id if issued is not None else f"address:{request.remote}"
    wait = state.limiter.hit(who, now)
    if wait is not None:
        raise ApiError(429, "rate_limited", f"too many requests: at most {state.limiter.limit} per second; retry "
                       f"after {wait} s", headers={"Retry-After": str(wait)})
    if request.path not in PUBLIC and issued is None:
        raise ApiError(401, "invalid_token", "a valid bearer token is required (POST /auth/token); it may have "
                       "expired", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return await handler(request)


# -- authentication --------------------------------------------------------------------------------------------

async def token(request: web.Request) -> web.StreamResponse:
    """OAuth2 client credentials: form-encoded as RFC 6749 has it, or JSON; the client's id and secret in the
    body or in HTTP Basic."""
    state = request.app[SERVER]
    fields: dict[str, Any]
    if request.content_type == "application/json":
        fields = await json_object(request)
    else:
        try:
            fields = dict(await read_form(request))
        except UnreadableBody as exc:  # RFC 6749 §5.2: a request that cannot be read is invalid_request
            raise ApiError(400, "invalid_request", str(exc)) from None
    client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
    scheme, _, basic = request.headers.get("Authorization", "").strip().partition(" ")
    by_basic = scheme.lower() == "basic"
    if by_basic:
        try:
            client_id, _, client_secret = base64.b64decode(basic.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            client_id = client_secret = None
        # RFC 6749 §2.3: one authentication method per request. A client_id in the body beside Basic is what
        # some clients add, and harmless while it names the same client; a secret in both, or two ids, is not
        if "client_secret" in fields:
            raise ApiError(400, "invalid_request", "client credentials in both the Authorization header and the "
                           "body: use one method")
        if "client_id" in fields and fields["client_id"] != client_id:
            raise ApiError(400, "invalid_request", "the body's client_id is not the Authorization header's client")
    grant = fields.get("grant_type")
    if grant is None:
        raise ApiError(400, "invalid_request", "grant_type is required (client_credentials)")
    if grant != "client_credentials":
        raise ApiError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    request[CLIENT] = client_id if isinstance(client_id, str) else None
    if not (isinstance(client_id, str) and isinstance(client_secret, str)
            and state.clients.check(client_id, client_secret)):
        # RFC 6749 §5.2: a client that authenticated with a scheme is told that scheme in WWW-Authenticate
        raise ApiError(401, "invalid_client", "unknown client or wrong secret",
                       headers={"WWW-Authenticate": 'Basic realm="smartgps"'} if by_basic else None)
    issued = state.clients.issue(state.clock())
    request[TOKEN] = issued.serial
    return web.json_response({"access_token": issued.token, "token_type": "Bearer",
                              "expires_in": state.clients.ttl_s},
                             headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def account_me(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    store = state.fleet.store
    return web.json_response({"id": "ACC-000001", "name": state.fleet.scenario.name,
                              "clientId": state.clients.client_id, "status": "ACTIVE",
                              "trackers": len(store.trackers), "objects": len(store.objects)})


# -- trackers --------------------------------------------------------------------------------------------------

def _tracker(request: web.Request) -> Tracker:
    ident = request.match_info["id"]
    tracker = request.app[SERVER].fleet.store.trackers.get(ident)
    if tracker is None:
        raise not_found("tracker", ident)
    return tracker


def listing(items: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"data": items, "total": len(items)})


#: a tracker's statuses (schemas/smartgps_api/common.schema.json): a filter outside them is a mistake, 422 as
#: for an object's event severity, not an empty list that reads as "no such tracker"
TRACKER_STATUSES = ("ACTIVE", "INACTIVE")


async def trackers_list(request: web.Request) -> web.StreamResponse:
    query = request.query
    if query.get("status") is not None and query["status"] not in TRACKER_STATUSES:
        raise invalid("status", f"one of {', '.join(TRACKER_STATUSES)}")
    found = [t for t in request.app[SERVER].fleet.store.trackers.values()
             if query.get("imei") in (None, t.imei) and query.get("status") in (None, t.status)
             and query.get("groupId") in (None, t.group_id)]
    return listing([t.json() for t in found])


async def trackers_create(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    body = await json_object(request)
    only(body, {"imei", "model", "groupId"})
    imei = text(body, "imei", required=True, pattern=IMEI, expected="15 digits")
    assert imei is not None
    model = text(body, "model") or "unknown"
    group = text(body, "groupId")
    store = state.fleet.store
    if store.tracker_by_imei(imei) is not None:
        raise conflict(f"a tracker with IMEI {imei} is already registered")
    tracker = Tracker(store.next_id("TRK"), imei, model, "INACTIVE", group, device=state.fleet.device_for(imei),
                      created_at=_now(state))
    store.trackers[tracker.id] = tracker
    return web.json_response(tracker.json(), status=201)


async def tracker_show(request: web.Request) -> web.StreamResponse:
    return web.json_response(_tracker(request).json())


async def tracker_patch(request: web.Request) -> web.StreamResponse:
    tracker = _tracker(request)
    body = await json_object(request)
    only(body, {"model", "groupId"})
    model, group = text(body, "model"), text(body, "groupId")
    if model is not None:
        tracker.model = model
    if "groupId" in body:
        tracker.group_id = group
    return web.json_response(tracker.json())


async def tracker_delete(request: web.Request) -> web.StreamResponse:
    tracker = _tracker(request)
    if tracker.object_id is not None:
        raise conflict(f"tracker {tracker.id} is assigned to {tracker.object_id}: unassign it first")
    del request.app[SERVER].fleet.store.trackers[tracker.id]
    return web.Response(status=204)


async def tracker_assign(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    tracker = _tracker(request)
    body = await json_object(request)
    only(body, {"objectId"})
    object_id = text(body, "objectId", required=True, expected="an object id (POST /objects)")
    assert object_id is not None
    vehicle = state.fleet.store.objects.get(object_id)
    if vehicle is None:
        raise not_found("object", object_id)
    if tracker.object_id is not None:
        raise conflict(f"tracker {tracker.id} is already assigned to {tracker.object_id}")
    if vehicle.tracker_id is not None:
        raise conflict(f"object {vehicle.id} already has tracker {vehicle.tracker_id}")
    tracker.object_id, tracker.status, vehicle.tracker_id = vehicle.id, "ACTIVE", tracker.id
    state.fleet.assigned(tracker)
    return web.json_response(tracker.json())


async def tracker_unassign(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    tracker = _tracker(request)
    if tracker.object_id is None:
        raise conflict(f"tracker {tracker.id} is not assigned")
    vehicle = state.fleet.store.objects.get(tracker.object_id)
    if vehicle is not None:
        vehicle.tracker_id = None
    tracker.object_id, tracker.status = None, "INACTIVE"
    return web.json_response(tracker.json())


async def tracker_command(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    tracker = _tracker(request)
    body = await json_object(request)
    only(body, {"type"})
    kind = text(body, "type", required=True, expected="BLOCK or UNBLOCK", choices=("BLOCK", "UNBLOCK"))
    if tracker.object_id is None:
        raise conflict(f"tracker {tracker.id} is not assigned to an object: nothing to {kind}")
    command: dict[str, Any] = {"id": state.fleet.store.next_id("CMD"), "trackerId": tracker.id, "type": kind,
                               "status": "PENDING", "createdAt": _now(state), "executedAt": None}
    state.fleet.store.commands(tracker.id).append(command)
    status = state.fleet.block(tracker) if kind == "BLOCK" else state.fleet.unblock(tracker)
    if status == "EXECUTED" and command["status"] == "PENDING":
        command["status"], command["executedAt"] = "EXECUTED", _now(state)
    return web.json_response(command, status=202)


def _now(state: ServerState) -> str:
    from .live import iso

    return iso(state.fleet.now)


def add_routes(app: web.Application) -> None:
    from . import objects

    r = app.router
    r.add_post("/auth/token", token)
    r.add_get("/account/me", account_me, allow_head=False)
    r.add_get("/trackers", trackers_list, allow_head=False)
    r.add_post("/trackers", trackers_create)
    r.add_get("/trackers/{id}", tracker_show, allow_head=False)
    r.add_patch("/trackers/{id}", tracker_patch)
    r.add_delete("/trackers/{id}", tracker_delete)
    r.add_post("/trackers/{id}/assign", tracker_assign)
    r.add_post("/trackers/{id}/unassign", tracker_unassign)
    r.add_post("/trackers/{id}/commands", tracker_command)
    objects.add_routes(app)
