"""The REST half: /api/session, /api/server, /api/devices, /api/positions, /api/events/{id}, /api/geofences,
/api/reports/events, with the paths, status codes and shapes of Traccar 4.12's resources (provider-facts §1.1).

Authentication follows 4.12's SecurityRequestFilter: an `Authorization` header, when present, decides alone
(Basic; Bearer too under a profile with tokens); otherwise the `JSESSIONID` session. A request that is neither
gets 401 with `WWW-Authenticate: Basic realm="api"` (left out for `X-Requested-With: XMLHttpRequest`, as Traccar
does so that browsers show no password dialog).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..bodies import UnreadableBody, read_form
from .accounts import Account
from .live import traccar_ms
from .state import SERVER

COOKIE = "JSESSIONID"  # Jetty's default, never renamed by Traccar (provider-facts §1.1)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authenticate(request: web.Request) -> Account | None:
    state = request.app[SERVER]
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            email, sep, password = decoded.partition(":")
            return state.accounts.login(email, password) if sep else None
        if scheme.lower() == "bearer" and state.profile.tokens:
            return state.accounts.by_token(credentials.strip())
        return None
    return session_account(request)


def session_account(request: web.Request) -> Account | None:
    """The user of the request's `JSESSIONID` session, subject to the profile's Origin check (provider-facts
    §1.8)."""
    state = request.app[SERVER]
    return state.accounts.session_user(request.cookies.get(COOKIE), request.headers.get("Origin"),
                                       check_origin=state.profile.session_origin)


def unauthorized(request: web.Request) -> web.Response:
    headers = {} if request.headers.get("X-Requested-With") == "XMLHttpRequest" else {
        "WWW-Authenticate": 'Basic realm="api"'}
    return web.Response(status=401, headers=headers)


def json_response(request: web.Request, value: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=request.app[SERVER].serialize(value), content_type="application/json")


def requires_user(handler: Callable[[web.Request, Account], Awaitable[web.StreamResponse]]) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        account = authenticate(request)
        if account is None:
            return unauthorized(request)
        return await handler(request, account)
    return guarded


def _not_found() -> web.Response:
    # JAX-RS answers a query or path parameter it cannot convert (deviceId=x, from=yesterday) with 404
    return web.Response(status=404)


def _denied() -> web.Response:
    # PermissionsManager.checkDevice throws SecurityException("Device access denied"), which 4.12's and 6.x's
    # ResourceErrorHandler answer with 400 (any exception not a WebApplicationException), not 403 or 404
    return web.Response(status=400, text="Device access denied")


_LONG = re.compile(r"[+-]?\d+")  # \d: any Unicode decimal digit, as Java's Character.digit takes them


def _long(text: str) -> int | None:
    """`text` as JAX-RS converts a `long` parameter (Long.valueOf): an optional sign and digits, in range; Python's
    int() would also take surrounding spaces, `1_000` and numbers past 64 bits, which Traccar answers with 404."""
    if _LONG.fullmatch(text) is None:
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _longs(request: web.Request, name: str) -> list[int] | None:
    values = [_long(v) for v in request.query.getall(name, [])]
    return None if None in values else [v for v in values if v is not None]


# -- session -------------------------------------------------------------------------------------------------

#: SessionResource is @Consumes(APPLICATION_FORM_URLENCODED): Jersey answers any other declared body type 415
FORM = "application/x-www-form-urlencoded"


async def session_post(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    if "Content-Type" in request.headers and request.content_type != FORM:
        # a JSON login is told it sent the wrong format, not (as a 401 would say) the wrong password
        return web.Response(status=415)
    try:
        form = await read_form(request)
    except UnreadableBody:  # not UTF-8, an unknown charset, gzip that is not, a multipart body without boundary
        return web.Response(status=401)  # no credentials could be read: as a login without them, not a 500
    email, password = form.get("email"), form.get("password")
    account = (state.accounts.login(email, password)
               if isinstance(email, str) and isinstance(password, str) else None)
    if account is None:
        return web.Response(status=401)  # SessionResource.add: no WWW-Authenticate on a failed form login
    response = json_response(request, state.user_json(account))
    _set_cookie(response, state.accounts.open_session(account, request.headers.get("Origin")))
    return response


def _set_cookie(response: web.StreamResponse, session_id: str) -> None:
    response.set_cookie(COOKIE, session_id, path="/", httponly=True)


async def session_get(request: web.Request) -> web.StreamResponse:
    state = request.app[SERVER]
    account = session_account(request)
    if account is not None:
        return json_response(request, state.user_json(account))
    token = request.query.get("token")
    if token is not None:
        account = state.accounts.by_token(token)
        if account is not None:
            response = json_response(request, state.user_json(account))
            _set_cookie(response, state.accounts.open_session(account, request.headers.get("Origin")))
            return response
        if state.profile.tokens:
            return web.Response(status=401)  # 6.x: a bad token is 401
    return web.Response(status=404)  # 4.12: no user in the session and none from a token


@requires_user
async def session_delete(request: web.Request, account: Account) -> web.StreamResponse:
    request.app[SERVER].accounts.close_session(request.cookies.get(COOKIE))
    response = web.Response(status=204)
    return response


# -- the resources ---------------------------------------------------------------------------------------------

async def server_get(request: web.Request) -> web.StreamResponse:
    return json_response(request, request.app[SERVER].server_json())  # @PermitAll in ServerResource


@requires_user
async def devices_get(request: web.Request, account: Account) -> web.StreamResponse:
    ids, unique_ids = _longs(request, "id"), set(request.query.getall("uniqueId", []))
    if ids is None:
        return _not_found()
    world = request.app[SERVER].world
    devices = [world.devices[d] for d in sorted(world.devices)]
    if ids or unique_ids:  # each one named passes checkDevice, or the whole answer is 400
        devices = [d for d in devices if d.get("id") in ids or d.get("uniqueId") in unique_ids]
        if not all(account.may_ask(i, world.devices) for i in ids) or \
                not all(account.may_ask(d.get("id"), world.devices) for d in devices):
            return _denied()
        return json_response(request, devices)
    if request.query.get("all") == "true":  # DeviceResource: every device for an administrator
        if not account.administrator:
            return web.Response(status=400, text="Manager access required")  # checkManager; no managers here
        return json_response(request, devices)
    return json_response(request, [d for d in devices if account.linked(d.get("id"))])  # getUserItems


@requires_user
async def positions_get(request: web.Request, account: Account) -> web.StreamResponse:
    world = request.app[SERVER].world
    ids, device_ids = _longs(request, "id"), _longs(request, "deviceId")
    if ids is None or device_ids is None:
        return _not_found()
    if ids:
        positions = world.positions_by_id(set(ids))
        if not all(account.may_ask(p.get("deviceId"), world.devices) for p in positions):
            return _denied()
        return json_response(request, positions)
    device_id = device_ids[0] if device_ids else 0
    if device_id == 0:  # DeviceManager.getInitialState: the linked devices' latest positions
        return json_response(request, [p for p in world.latest_positions() if account.linked(p.get("deviceId"))])
    if device_id not in world.devices or not account.may_ask(device_id, world.devices):
        return _denied()
    raw_from, raw_to = request.query.get("from"), request.query.get("to")
    if raw_from is not None and raw_to is not None:
        from_ms, to_ms = traccar_ms(raw_from), traccar_ms(raw_to)
        if from_ms is None or to_ms is None:
            return _not_found()
        return json_response(request, world.positions_between(device_id, from_ms, to_ms))
    latest = world.latest.get(device_id)
    if latest is not None:
        return json_response(request, [latest])
    return json_response(request, [None] if request.app[SERVER].profile.null_latest else [])


@requires_user
async def event_get(request: web.Request, account: Account) -> web.StreamResponse:
    event_id = _long(request.match_info["id"])
    if event_id is None:
        return _not_found()
    world = request.app[SERVER].world
    event = world.stored_event(event_id)
    if event is None:
        return _not_found()
    return json_response(request, event) if account.may_ask(event.get("deviceId"), world.devices) else _denied()


@requires_user
async def geofences_get(request: web.Request, account: Account) -> web.StreamResponse:
    return json_response(request, request.app[SERVER].world.geofences)


@requires_user
async def report_events_get(request: web.Request, account: Account) -> web.StreamResponse:
    world = request.app[SERVER].world
    device_ids, group_ids = _longs(request, "deviceId"), _longs(request, "groupId")
    from_ms, to_ms = traccar_ms(request.query.get("from")), traccar_ms(request.query.get("to"))
    if device_ids is None or group_ids is None or from_ms is None or to_ms is None:
        return _not_found()
    # ReportUtils.getDeviceList: the devices named plus those of the groups named; the emulated fleet has no
    # groups (every device has groupId 0), so no deviceId means no events, as in 4.12
    devices = set(device_ids)
    if not devices:
        return json_response(request, [])
    if not all(account.may_ask(d, world.devices) for d in devices):  # Events.getObjects: checkDevice for each
        return _denied()
    types = set(request.query.getall("type", []))
    return json_response(request, world.events_between(devices, types, from_ms, to_ms))


def add_routes(app: web.Application) -> None:
    # every GET also answers HEAD (aiohttp's default), as JAX-RS does for every GET resource
    app.router.add_post("/api/session", session_post)
    app.router.add_get("/api/session", session_get)
    app.router.add_delete("/api/session", session_delete)
    app.router.add_get("/api/server", server_get)
    app.router.add_get("/api/devices", devices_get)
    app.router.add_get("/api/positions", positions_get)
    app.router.add_get("/api/events/{id}", event_get)
    app.router.add_get("/api/geofences", geofences_get)
    app.router.add_get("/api/reports/events", report_events_get)
