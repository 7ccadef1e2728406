"""fleetsim's reference webhook receiver: the one that does everything right, written to be copied.

One endpoint per provider: POST /mettax, /smartgps, /samsara, /powunity (also /webhooks/<provider>), each with
or without a trailing slash (no redirect: TRN-03).
Every request goes through the same steps, and each step has one status code:

    1. method            POST only                                  405 + Allow: POST        (SIG-11)
    2. Content-Encoding  identity or gzip (others: 415)             415 + Accept-Encoding    (TRN-04)
    3. Content-Type      JSON (MettaX: JSON or form `data=`)        415                      (MAL-04)
    4. body              at most max_body_bytes, read in chunks,    413 (408 when it stalls) (LIM-01..03)
                         checked on Content-Length AND on the bytes;
                         all of it within body_timeout_s; a gzip
                         body inflated to at most max_body_bytes    413 (400 if not gzip)    (LIM-04)
    5. authentication    the provider's signer, constant time;      401                      (SIG-*, RPL-01..05)
                         Samsara's signed timestamp must be fresh
    6. parsing           strict JSON, no duplicate keys, bounded    400                      (MAL-01, 05..08)
    7. kind + schema     unknown event types: 200 and ignored;      400 when a known kind    (MAL-02, MAL-03)
                         unknown extra fields are tolerated         breaks its schema
    8. dedupe            atomic insert of the event key (durable)   200 "duplicate"          (RPL-06, IDM-*)
    9. acknowledge       200 right after step 8; the state update runs in a background task (TIM-01/02)

Before step 1, the request head (request line and headers) must have arrived within the header timeout, or the
connection gets a 408 and is closed: see simulator.servers.timeouts (slowloris, LIM-06).

Bad input never gets a 5xx: anything unexpected while handling a request is answered 400. Only a failing
database answers 503 (with Retry-After), because then a retry can succeed. Error bodies never contain the
secret or the expected signature (SIG-10): before authentication they only name the failure's code; after it,
schema problems are listed, since they only quote what the authenticated sender sent.

Read-only state for probes: GET /state, /state/devices, /state/devices/{id}, /state/face-checks/{id}, /healthz,
and for the conformance state probe (docs/state-probes.md, conformance/probes/reference.yaml):
GET /state/events/{provider}/{event_key} (how many times an event's effects were applied) and
GET /state/devices/{id}/state?provider=P (the device's state, e.g. ignition, newest device time wins).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from ..delivery.urls import endpoint_path
from ..errors import UsageError
from ..providers import PROVIDERS, Provider
from ..providers.receiving import JSON_TYPE, MAX_ID_CHARS, Adapter, Rejected, vendor_errors
from ..signing import SIGNERS, CIHeaders, Secret, Signer
from ..strictjson import MAX_DEPTH, MAX_DOCUMENT_BYTES
from .store import Store, StoreUnavailable
from .timeouts import track_requests

__all__ = ["BODY_TIMEOUT_S", "MAX_BODY_BYTES", "MAX_DEPTH", "RECEIVER", "TOLERANCE_S", "WEBHOOK_PROVIDERS",
           "Receiver", "build_app"]

log = logging.getLogger("fleetsim.receiver")

MAX_BODY_BYTES = MAX_DOCUMENT_BYTES  # 1 MiB, also what `schemas validate` accepts per document
TOLERANCE_S = 300  # signed-timestamp window, past and future (Standard Webhooks, Stripe, Svix)
BODY_TIMEOUT_S = 10.0  # default for body_timeout_s: a body still arriving after this is cut off (slow-POST, LIM-06)
#: the content codings accepted, and whether each is decoded: gzip, because a sender's HTTP client or a proxy may
#: compress (and the drivers API's send-test-event grades it: docs/drivers-api.md); anything else is 415 (TRN-04)
_CODINGS = {"": False, "identity": False, "gzip": True, "x-gzip": True}
DRAIN_TIMEOUT_S = 10.0  # how long shutdown waits for background processing
ARRIVALS_PAGE = 10_000  # event keys per page of GET /state/arrivals/{provider}
#: every provider with webhook kinds gets an endpoint
WEBHOOK_PROVIDERS = tuple(name for name, p in PROVIDERS.items() if "webhook" in p.channels)
#: how simulator.schemastore words an additionalProperties error: unknown extra fields are tolerated (MAL-03)


# --- one endpoint: the provider's adapter, signer and secrets ----------------------------------------------


class Endpoint:
    """One provider's endpoint: its adapter, its signer, the configured secret and any static credential headers
    (a MettaX token), all asked from the provider."""

    def __init__(self, provider: Provider, settings: Mapping[str, Any], tolerance_s: int) -> None:
        self.name = provider.name
        self.provider = provider
        self.adapter: Adapter = provider.adapter
        self.signer: Signer = SIGNERS[provider.signing]
        self.tolerance_s = tolerance_s
        secret = settings.get("secret")
        if isinstance(secret, str):  # plain text given programmatically: parse it as the provider hands it out
            secret = self.signer.parse_secret(secret)
        self.secrets: list[Secret] = [secret] if isinstance(secret, Secret) else []
        # a provider that signs nothing may still send a static credential header (MettaX's optional token):
        # then that header is the only authentication it can have
        self.credentials = {name: value.encode("utf-8")
                            for name, value in provider.credential_headers(settings).items()}

    @property
    def unconfigured(self) -> bool:
        """True when the provider signs its requests but no secret was configured: everything is refused."""
        return self.signer.covers_body and not self.secrets

    @property
    def unauthenticated(self) -> bool:
        """True when requests are accepted without any credential (no PowUnity PSK, no MettaX token)."""
        return not self.signer.covers_body and not self.secrets and not self.credentials

    def check(self, body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        """Steps 6 and 7: the message and its kind (None: unknown, acknowledged and ignored), or Rejected."""
        checked = self.adapter.inspect(self.provider, body, content_type)
        problems = [str(e) for e in vendor_errors(self.provider, checked)]
        if problems:
            raise Rejected(400, "schema", f"the {checked.kind} message does not match its schema",
                           problems=problems[:10])
        if checked.kind is not None:
            # read now what processing will read (a fix, a state change), so a value the schema's pattern lets
            # through but no calendar has (February 30) is a 400 here, not an acknowledged event that then fails
            # in the background and stays in the inbox for ever
            try:
                self.adapter.fix(checked.document, checked.kind)
                self.adapter.change(checked.document, checked.kind)
            except (ValueError, OverflowError) as exc:
                raise Rejected(400, "unreadable", f"the {checked.kind} message holds a value that cannot be read "
                               f"({type(exc).__name__})") from None
        return checked.document, checked.kind

    def authenticate(self, body: bytes, headers: CIHeaders) -> None:
        if self.unconfigured:
            raise Rejected(401, "auth_not_configured", "authentication failed",
                           detail=f"no secret configured for {self.name}")
        verdict = self.signer.verify(body, headers, self.secrets, now=int(time.time()), tolerance=self.tolerance_s)
        if not verdict.ok:
            raise Rejected(401, f"auth_{verdict.code}", "authentication failed", detail=verdict.reason)
        for name, expected in self.credentials.items():
            values = headers.getall(name)
            received = values[0].encode("utf-8", "surrogateescape") if len(values) == 1 else b""
            if not hmac.compare_digest(received, expected):
                code = "missing_header" if not values else "mismatch"
                raise Rejected(401, f"auth_{code}", "authentication failed",
                               detail=f"{name} does not carry the configured credential")


# --- the receiver ----------------------------------------------------------------------------------------------


class Receiver:
    """The webhook endpoints, the state API and the background tasks, around one Store."""

    def __init__(self, settings: Mapping[str, Mapping[str, Any]], store: Store, *,
                 max_body_bytes: int = MAX_BODY_BYTES, tolerance_s: int = TOLERANCE_S,
                 body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.store = store
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.endpoints = {name: Endpoint(PROVIDERS[name], settings.get(name, {}), int(tolerance_s))
                          for name in WEBHOOK_PROVIDERS}
        self.tasks: set[asyncio.Task[None]] = set()

    # --- webhooks ---

    def handler(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, endpoint)

        return handle

    async def handle(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        """Answer one delivery. Whatever happens, bad input gets a 4xx: this is the catch-all."""
        try:
            return await self.receive(request, endpoint)
        except Rejected as rej:
            self.store.count_rejected(endpoint.name, rej.reason)
            log.info("%s: %d %s from %s%s", endpoint.name, rej.status, rej.reason, request.remote,
                     f": {rej.detail}" if rej.detail else "")
            body: dict[str, Any] = {"status": "rejected", "error": rej.reason, "message": rej.message}
            if rej.problems:
                body["problems"] = rej.problems
            response = _reply(rej.status, body, rej.headers)
            if rej.status in (408, 413):
                response.force_close()  # the rest of the body is not read: this connection cannot be reused
            return response
        except StoreUnavailable:
            log.exception("%s: database failure; answering 503 so the sender retries", endpoint.name)
            return _reply(503, {"status": "error", "message": "storage unavailable; retry later"},
                          {"Retry-After": "5"})
        except Exception:  # a case this code did not foresee: still the sender's input, still a 4xx
            log.exception("%s: unexpected error; answering 400", endpoint.name)
            self.store.count_rejected(endpoint.name, "unexpected")
            return _reply(400, {"status": "rejected", "error": "bad_request",
                                "message": "the request could not be processed"})

    async def receive(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        if request.method != "POST":
            raise Rejected(405, "method_not_allowed", "webhooks are delivered with POST", headers={"Allow": "POST"})
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in _CODINGS:
            raise Rejected(415, "unsupported_encoding", "the content coding must be gzip or identity",
                           headers={"Accept-Encoding": "gzip"})
        adapter = endpoint.adapter
        if request.content_type not in adapter.content_types:
            raise Rejected(415, "unsupported_media_type", f"Content-Type must be {' or '.join(adapter.content_types)}")
        if request.charset is not None and request.charset.lower() not in ("utf-8", "utf8"):
            raise Rejected(415, "unsupported_media_type", "the body must be UTF-8")
        body = await self.read_body(request)
        if _CODINGS[encoding]:
            body = self.inflate(body)
        headers = CIHeaders(request.headers.items())
        # on the raw bytes before anything is parsed (SIG-06); for a gzip body, the decoded bytes: the event as its
        # sender signed it, before a proxy or the sender's HTTP client compressed it (TRN-04)
        endpoint.authenticate(body, headers)

        doc, kind = endpoint.check(body, request.content_type)
        header_key = headers.get(adapter.key_header) if adapter.key_header else None
        key = header_key if header_key and len(header_key) <= MAX_ID_CHARS else adapter.event_key(doc, kind)
        delivery = headers.get(adapter.delivery_header) if adapter.delivery_header else None

        # The durable step: after this commit the event is ours, so now (and only now) we may answer 2xx.
        new = await self.store.claim(endpoint.name, key, kind or "unknown", orjson.dumps(doc),
                                     delivery_id=delivery[:MAX_ID_CHARS] if delivery else None,
                                     ignored=kind is None)
        if not new:
            return _reply(200, {"status": "duplicate", "message": "already processed"})
        if kind is None:
            return _reply(200, {"status": "ignored", "message": "unknown event type: acknowledged and ignored"})
        self.schedule(endpoint.name, key, kind, doc)
        return _reply(200, {"status": "accepted"})

    async def read_body(self, request: web.Request) -> bytes:
        limit = self.max_body_bytes
        too_large = Rejected(413, "too_large", f"the body is larger than {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large  # refused before reading a byte
        body = bytearray()
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while chunk := await request.content.readany():
                    body += chunk
                    if len(body) > limit:  # chunked bodies have no Content-Length: count what arrives
                        raise too_large
        except TimeoutError:
            raise Rejected(408, "body_timeout", f"the body did not arrive within {self.body_timeout_s:g} s") from None
        except ConnectionError:  # the sender went away mid-body: nothing happened, its retry will be processed
            raise Rejected(400, "incomplete_body", "the connection closed before the body was complete") from None
        return bytes(body)

    def inflate(self, packed: bytes) -> bytes:
        """A gzip body decoded, never to more than max_body_bytes: a gzip bomb (about 1000:1) is refused after
        inflating one byte over the limit, not after filling memory (LIM-04)."""
        limit = self.max_body_bytes
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: the gzip wrapper, not raw zlib
        try:
            body = inflater.decompress(packed, limit + 1)
        except zlib.error:
            raise Rejected(400, "bad_encoding", "the body is not valid gzip") from None
        if len(body) > limit:
            raise Rejected(413, "too_large", f"the body inflates to more than {limit} bytes")
        if not inflater.eof or inflater.unused_data:
            raise Rejected(400, "bad_encoding", "the body is not one complete gzip stream")
        return body

    # --- background processing (after the acknowledgement) ---

    def schedule(self, provider: str, key: str, kind: str, doc: dict[str, Any]) -> None:
        task = asyncio.create_task(self.process(provider, key, kind, doc))
        self.tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(self.tasks.discard)

    async def process(self, provider: str, key: str, kind: str, doc: dict[str, Any]) -> None:
        adapter = self.endpoints[provider].adapter
        try:
            await self.store.apply(provider, key, fix=adapter.fix(doc, kind), face_check=adapter.face_check(doc, kind),
                                   change=adapter.change(doc, kind))
        except StoreUnavailable:
            log.exception("%s: event %s stays in the inbox; it is processed at the next start", provider, key)
        except Exception:
            log.exception("%s: processing event %s failed", provider, key)

    async def recover(self, app: web.Application) -> None:
        """On start: process again what was acknowledged but not processed before a crash."""
        for event in await self.store.pending():
            if event.provider in self.endpoints:
                self.schedule(event.provider, event.event_key, event.kind, orjson.loads(event.payload))
        if self.tasks:
            log.warning("processing %d event(s) acknowledged before the last stop", len(self.tasks))

    async def drain(self, app: web.Application) -> None:
        """On stop: let background processing finish (what does not stays in the inbox for the next start)."""
        if self.tasks:
            _, late = await asyncio.wait(set(self.tasks), timeout=DRAIN_TIMEOUT_S)
            for task in late:
                task.cancel()

    # --- read-only state ---

    async def state(self, request: web.Request) -> web.StreamResponse:
        return _reply(200, {
            "counts": await self.store.counts(WEBHOOK_PROVIDERS),
            "devices": await self.store.device_count(),
            "face_checks": await self.store.face_check_counts(),
            "processing": len(self.tasks),
        })

    async def devices(self, request: web.Request) -> web.StreamResponse:
        rows = await self.store.devices(provider=request.query.get("provider"))
        return _reply(200, {"devices": [_device_json(row) for row in rows]})

    async def device(self, request: web.Request) -> web.StreamResponse:
        rows = await self.store.devices(request.match_info["id"], request.query.get("provider"))
        if not rows:
            return _reply(404, {"error": "unknown device"})
        if len(rows) > 1:
            return _reply(409, {"error": "several providers have this device id; add ?provider=<name>",
                                "providers": [row["provider"] for row in rows]})
        return _reply(200, _device_json(rows[0]))

    async def face_check(self, request: web.Request) -> web.StreamResponse:
        check = await self.store.face_check(request.match_info["id"])
        if check is None:
            return _reply(404, {"error": "unknown face check"})
        for half in ("result", "picture"):
            check[half] = orjson.loads(check[half]) if check[half] else None
        check["completed_at"] = _iso(check["completed_at"]) if check["completed_at"] else None
        return _reply(200, check)

    async def event(self, request: web.Request) -> web.StreamResponse:
        provider = request.match_info["provider"]
        if provider not in self.endpoints:
            return _reply(404, {"error": "unknown provider"})
        return _reply(200, await self.store.effects(provider, request.match_info["key"]))

    async def arrivals(self, request: web.Request) -> web.StreamResponse:
        """GET /state/arrivals/{provider}?after=N&limit=M: event keys in the order they arrived, a page at a time
        (`next` is the `after` of the next page; null at the end)."""
        provider = request.match_info["provider"]
        if provider not in self.endpoints:
            return _reply(404, {"error": "unknown provider"})
        try:
            after = int(request.query.get("after", "0"))
            limit = min(int(request.query.get("limit", str(ARRIVALS_PAGE))), ARRIVALS_PAGE)
        except ValueError:
            return _reply(400, {"error": "after and limit are whole numbers"})
        if not -(2**63) <= after < 2**63:  # SQLite's integers: a larger one is bad input, not a 500
            return _reply(400, {"error": "after must fit a 64-bit signed integer"})
        rows = await self.store.arrivals(provider, after, max(1, limit))
        return _reply(200, {"provider": provider, "arrivals": [key for _, key in rows],
                            "next": rows[-1][0] if len(rows) == max(1, limit) else None})

    async def device_state(self, request: web.Request) -> web.StreamResponse:
        provider = request.query.get("provider")
        if provider not in self.endpoints:
            return _reply(400, {"error": "add ?provider=<name>: device ids are per provider"})
        state = await self.store.device_state(provider, request.match_info["id"])
        return _reply(200, {"provider": provider, "device": request.match_info["id"],
                            "state": {name: s["value"] for name, s in state.items()},
                            "device_times": {name: _iso(s["device_time"]) for name, s in state.items()}})

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        await self.store.ping()
        return _reply(200, {"status": "ok"})


RECEIVER = web.AppKey("receiver", Receiver)


@web.middleware
async def _store_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreUnavailable:
        log.exception("database failure")
        return _reply(503, {"status": "error", "message": "storage unavailable; retry later"}, {"Retry-After": "5"})


#: the receiver's own paths, which no provider's `url` path may take
_OWN_PATHS = ("/state", "/healthz")


def provider_paths(name: str) -> tuple[str, str]:
    """Where the receiver always takes a provider's webhooks, whatever its settings say."""
    return f"/{name}", f"/webhooks/{name}"


def endpoint_paths(endpoints: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each provider's path: `/<provider>`, or its `url` setting when that is a path (`/webhooks/samsara`, what a
    sender posts under its base URL: docs/delivery.md), its query and trailing slash left out. A path that is
    another provider's, or the receiver's own, is a usage error: the receiver could not tell whose a request is."""
    owner = {path: name for name in endpoints for path in provider_paths(name)}
    paths: dict[str, str] = {}
    for name in endpoints:
        path = endpoint_path(name, settings.get(name, {})).partition("?")[0].rstrip("/") or "/"
        whose = owner.setdefault(path, name)
        if whose != name or any(path == p or path.startswith(p + "/") for p in _OWN_PATHS):
            mine = f"{whose}'s" if whose != name else "the receiver's own"
            raise UsageError(f"{name} url: the path {path!r} is {mine}; give each provider a path of its own")
        paths[name] = path
    return paths


def build_app(settings: Mapping[str, Mapping[str, Any]], store: Store, *, max_body_bytes: int = MAX_BODY_BYTES,
              tolerance_s: int = TOLERANCE_S, body_timeout_s: float = BODY_TIMEOUT_S) -> web.Application:
    """The receiver as an aiohttp application. `settings` is per provider, as `load_settings` returns them
    (a parsed `Secret` under "secret"; MettaX `token`/`token_header`). The caller owns and closes `store`.
    The header timeout is not here but in how the app is served (`timeouts.GuardedSite`, as `start_receiver`)."""
    receiver = Receiver(settings, store, max_body_bytes=max_body_bytes, tolerance_s=tolerance_s,
                        body_timeout_s=body_timeout_s)
    # track_requests first: it must see each request before anything else can answer it. auto_decompress off
    # whoever runs the app: the receiver reads the bytes as sent and decodes gzip itself, within bounds (LIM-04)
    app = web.Application(client_max_size=max_body_bytes, middlewares=[track_requests, _store_errors],
                          handler_args={"auto_decompress": False})
    app[RECEIVER] = receiver
    for name, path in endpoint_paths(receiver.endpoints, settings).items():
        handler = receiver.handler(receiver.endpoints[name])
        # every method: a GET gets our 405 with Allow. The trailing-slash forms answer too, never with a
        # redirect: senders count a 3xx as a failed delivery, and a 404 would lose every event of a sender
        # configured with the slash (TRN-03)
        for each in dict.fromkeys((*provider_paths(name), path)):
            app.router.add_route("*", each, handler)
            if each != "/":
                app.router.add_route("*", each + "/", handler)
    app.router.add_get("/state", receiver.state)
    app.router.add_get("/state/devices", receiver.devices)
    app.router.add_get("/state/devices/{id}", receiver.device)
    app.router.add_get("/state/devices/{id}/state", receiver.device_state)
    app.router.add_get("/state/events/{provider}/{key}", receiver.event)
    app.router.add_get("/state/arrivals/{provider}", receiver.arrivals)
    app.router.add_get("/state/face-checks/{id}", receiver.face_check)
    app.router.add_get("/healthz", receiver.healthz)
    app.on_startup.append(receiver.recover)
    app.on_cleanup.append(receiver.drain)
    return app


def _reply(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type=JSON_TYPE, headers=headers)


def _iso(t: float) -> str | None:
    try:
        return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):  # outside what datetime can show
        return None


def _device_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "device_time": _iso(row["device_time"]), "received_at": _iso(row["received_at"])}
