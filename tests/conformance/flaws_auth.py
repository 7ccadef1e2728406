"""Receivers with one signature or replay flaw each (SIG-05 ... RPL-05), built from the reference receiver like
flawed.py's: only the flaw differs, so each should fail exactly the checks whose rule it breaks."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from simulator.providers.receiving import Rejected
from simulator.servers.receiver import RECEIVER, Endpoint, build_app
from simulator.servers.store import Store
from simulator.signing import CIHeaders
from simulator.signing.base import freshness, timestamp_problem

from .flawed import Handler, serve, settings

Authenticate = Callable[[bytes, CIHeaders], None]

FLAWS = ("reserialized", "echo_signature", "get_ok", "tolerance_60", "timestamp_unsigned", "timestamp_500",
         "signature_500", "first_signature_only", "loose_psk", "secret_in_header")


def _named(endpoint: Endpoint, word: str) -> str | None:
    """The signer's header whose name contains `word` ("signature", "timestamp"), if any."""
    names: tuple[str, ...] = getattr(endpoint.signer, "header_names", ())  # every profile has it; not the Protocol
    return next((n for n in names if word in n.lower()), None)


def _replaced(headers: CIHeaders, name: str, value: str) -> CIHeaders:
    return CIHeaders([(k, value if k.lower() == name.lower() else v) for k, v in headers.items()])


def _reserialized(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """Verifies the signature over the JSON parsed and serialised again, not over the bytes received (SIG-06)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        with contextlib.suppress(orjson.JSONDecodeError):  # not JSON: verified as received
            body = orjson.dumps(orjson.loads(body))
        original(body, headers)

    return authenticate


def _echo_signature(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """On a failed verification, tells the sender which authentication headers it expected (SIG-10)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        try:
            original(body, headers)
        except Rejected:
            stamp = headers.get(_named(endpoint, "timestamp") or "", "")
            message_id = headers.get(endpoint.adapter.key_header or "", "") or "unknown"
            expected = endpoint.signer.sign(body, endpoint.secrets, message_id=message_id,
                                            timestamp=int(stamp) if stamp.isdigit() else int(time.time()))
            shown = "; ".join(f"{k}: {v}" for k, v in expected.items())
            raise Rejected(401, "auth_failed", f"authentication failed; expected {shown}") from None

    return authenticate


def _timestamp_unsigned(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """Checks that the timestamp is fresh, but accepts a signature made at any fresh timestamp (RPL-04)."""
    tolerance = endpoint.tolerance_s

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        name = _named(endpoint, "timestamp")
        received = headers.get(name or "", "")
        now = int(time.time())
        if name is None or timestamp_problem(received, name) or freshness(int(received), now=now, tolerance=tolerance):
            original(body, headers)
            return
        for stamp in (int(received), *range(now - tolerance, now + tolerance + 1)):
            moved = _replaced(headers, name, str(stamp))
            if endpoint.signer.verify(body, moved, endpoint.secrets, now=now, tolerance=tolerance).ok:
                return
        original(body, headers)

    return authenticate


def _signature_500(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """Crashes (500) on a signature header it cannot parse (SIG-05)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        verdict = endpoint.signer.verify(body, headers, endpoint.secrets, now=int(time.time()),
                                         tolerance=endpoint.tolerance_s)
        if verdict.code == "malformed_header" and "signature" in verdict.reason.lower():
            raise Rejected(500, "internal_error", "internal server error")
        original(body, headers)

    return authenticate


def _first_signature_only(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """Reads only the first entry of a signature header that lists several (SIG-07)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        name = _named(endpoint, "signature")
        entries = headers.get(name or "", "").split()
        if name is not None and len(entries) > 1:
            headers = _replaced(headers, name, entries[0])
        original(body, headers)

    return authenticate


def _loose_psk(endpoint: Endpoint, original: Authenticate) -> Authenticate:
    """Compares a pre-shared header loosely, as a hand-written check often does: any case, any spacing (SIG-09)."""

    def authenticate(body: bytes, headers: CIHeaders) -> None:
        given = headers.get("Authorization")
        if given is not None and endpoint.secrets:
            configured = endpoint.secrets[0].reveal().decode()
            if " ".join(given.lower().split()) == " ".join(configured.lower().split()):
                headers = _replaced(headers, "Authorization", configured)
        original(body, headers)

    return authenticate


AUTHENTICATORS: dict[str, Callable[[Endpoint, Authenticate], Authenticate]] = {
    "reserialized": _reserialized, "echo_signature": _echo_signature, "timestamp_unsigned": _timestamp_unsigned,
    "signature_500": _signature_500, "first_signature_only": _first_signature_only, "loose_psk": _loose_psk,
}


def _get_ok(endpoints: set[str]) -> Middleware:
    """Answers GET on the webhook URL with 200, as a health check would (SIG-11)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "GET" and request.path.rsplit("/", 1)[-1] in endpoints:
            return web.json_response({"status": "ok"})
        return await handler(request)

    return middleware


def _timestamp_500(timestamps: dict[str, str]) -> Middleware:
    """Crashes (500) when the timestamp header is not an integer: `int(header)` unguarded (RPL-05)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = timestamps.get(request.path.rsplit("/", 1)[-1])
        if name is not None and name in request.headers:
            try:
                int(request.headers[name])
            except ValueError:
                return web.Response(status=500, text="500 Internal Server Error")
        return await handler(request)

    return middleware


def _secret_in_header(secrets: dict[str, str]) -> Middleware:
    """Every error answer carries the endpoint's secret in a debugging header (SIG-10: body and headers)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        secret = secrets.get(request.path.rsplit("/", 1)[-1])
        if response.status >= 400 and secret is not None:
            response.headers["X-Debug-Key"] = secret
        return response

    return middleware


@contextlib.asynccontextmanager
async def flawed_auth(flaw: str) -> AsyncIterator[str]:
    """The reference receiver with `flaw` (one of FLAWS)."""
    store = Store()
    app = build_app(settings(), store, **({"tolerance_s": 60} if flaw == "tolerance_60" else {}))
    endpoints = app[RECEIVER].endpoints
    wrap = AUTHENTICATORS.get(flaw)
    for endpoint in endpoints.values():
        if wrap is not None:
            setattr(endpoint, "authenticate", wrap(endpoint, endpoint.authenticate))  # noqa: B010
    if flaw == "get_ok":
        app.middlewares.append(_get_ok(set(endpoints)))
    elif flaw == "timestamp_500":
        stamps = {name: n for name, e in endpoints.items() if (n := _named(e, "timestamp")) is not None}
        app.middlewares.append(_timestamp_500(stamps))
    elif flaw == "secret_in_header":
        app.middlewares.append(_secret_in_header({name: e.secrets[0].reveal().hex() for name, e in endpoints.items()
                                                  if e.secrets}))
    async with serve(app, store) as url:
        yield url
