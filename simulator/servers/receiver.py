"""fleetsim's reference webhook receiver: the one that does everything right, written to be copied.

One endpoint per provider: POST /mettax, /smartgps, /samsara, /powunity (also /webhooks/<provider>).
Every request goes through the same steps, and each step has one status code:

    1. method            POST only                                  405 + Allow: POST        (SIG-11)
    2. Content-Encoding  identity only (no gzip bombs)              415 + Accept-Encoding    (LIM-04)
    3. Content-Type      JSON (MettaX: JSON or form `data=`)        415                      (MAL-04)
    4. body              at most max_body_bytes, read in chunks,    413 (408 when it stalls) (LIM-01..03)
                         checked on Content-Length AND on the bytes;
                         all of it within body_timeout_s
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

Read-only state for probes: GET /state, /state/devices, /state/devices/{id}, /state/face-checks/{id}, /healthz.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from .. import strictjson
from ..providers import PROVIDERS, Provider
from ..providers.mettax import classify as classify_mettax
from ..schemastore import load_schema
from ..signing import SIGNERS, CIHeaders, Secret, Signer
from ..strictjson import MAX_DEPTH, MAX_DOCUMENT_BYTES
from ..validation import Checked, UnreadableData, open_mettax_data, read_mettax_data, validate
from .store import Fix, Store, StoreUnavailable
from .timeouts import track_requests

__all__ = ["BODY_TIMEOUT_S", "MAX_BODY_BYTES", "MAX_DEPTH", "RECEIVER", "TOLERANCE_S", "WEBHOOK_PROVIDERS",
           "Receiver", "build_app"]

log = logging.getLogger("fleetsim.receiver")

MAX_BODY_BYTES = MAX_DOCUMENT_BYTES  # 1 MiB, also what `schemas validate` accepts per document
TOLERANCE_S = 300  # signed-timestamp window, past and future (Standard Webhooks, Stripe, Svix)
BODY_TIMEOUT_S = 10.0  # default for body_timeout_s: a body still arriving after this is cut off (slow-POST, LIM-06)
MAX_ID_CHARS = 200  # longest event id worth storing
DRAIN_TIMEOUT_S = 10.0  # how long shutdown waits for background processing
WEBHOOK_PROVIDERS = ("mettax", "smartgps", "samsara", "powunity")
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
#: how simulator.schemastore words an additionalProperties error: unknown extra fields are tolerated (MAL-03)
_EXTRA_FIELDS = "no properties beyond those declared"


class Rejected(Exception):
    """A request answered with a 4xx. `reason` is the counter name; `message` goes into the response."""

    def __init__(self, status: int, reason: str, message: str, *, problems: list[str] | None = None,
                 headers: Mapping[str, str] | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.problems = problems or []
        self.headers = dict(headers or {})
        self.detail = detail  # logged only (e.g. why a signature failed)


# --- parsing ------------------------------------------------------------------------------------------------------


def parse_json(raw: bytes, what: str = "body") -> Any:
    """Strict JSON (simulator.strictjson, shared with `fleetsim schemas validate`): UTF-8, no NaN, no lone
    surrogates, no duplicate keys, at most MAX_DEPTH levels."""
    try:
        return strictjson.loads(raw)
    except strictjson.JsonRejected as exc:
        raise Rejected(400, exc.reason, f"the {what} is not valid JSON: {exc}") from None


def _object(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise Rejected(400, "wrong_type", f"the {what} must be a JSON object, not {strictjson.type_name(doc)}")
    return doc


def _id_text(value: Any, name: str) -> str:
    """An event id as text: a non-empty string or an integer, of reasonable length."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS:
        return value
    raise Rejected(400, "schema", f"{name} is missing or is not a usable id (text of 1 to {MAX_ID_CHARS} characters)")


def _epoch(text: str) -> float:
    """An RFC 3339 / Traccar time ("...Z", "+00:00", "+0000") as UTC epoch seconds."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _sha256(*parts: Any) -> str:
    # orjson of a list: unambiguous, unlike joining with a separator that may occur in the parts
    return hashlib.sha256(orjson.dumps(list(parts))).hexdigest()


@cache
def _enum(schema: str, *path: str) -> frozenset[str]:
    """The enum at `path` in a shipped schema: the event types fleetsim's schemas know."""
    node: Any = load_schema(schema)
    for part in path:
        node = node[part]
    return frozenset(node)


# --- the provider-specific part: everything an integrator adapts is in these four classes --------------------


class Adapter:
    """How one provider's webhooks are decoded, classified, identified and turned into state."""

    name: ClassVar[str]
    content_types: ClassVar[tuple[str, ...]] = (JSON_TYPE,)
    delivery_header: ClassVar[str | None] = None  # the provider's per-delivery id (logged, not a dedupe key)

    def decode(self, body: bytes, content_type: str) -> dict[str, Any]:
        return _object(parse_json(body), "body")

    def classify(self, doc: dict[str, Any]) -> str | None:
        """The provider kind of `doc`, or None for a well-formed message of a type this receiver does not know."""
        raise NotImplementedError

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        """What makes two deliveries the same event (the deduplication key)."""
        raise NotImplementedError

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        """The position the message reports, if any."""
        return None

    def face_check(self, doc: dict[str, Any], kind: str) -> tuple[str, str, str, str] | None:
        return None

    def inspect(self, provider: Provider, body: bytes, content_type: str) -> Checked:
        """The message in `body`, its kind and how it breaks that kind's schema (steps 6 and 7)."""
        doc = self.decode(body, content_type)
        kind = self.classify(doc)
        return Checked(doc, kind, validate(provider, kind, doc) if kind is not None else [])


class SamsaraAdapter(Adapter):
    """Samsara alert webhooks 1.0 (`Alert`, `Ping`) and 2.0 (`eventType` from the 2.0 list). Key: `eventId`,
    which stays the same when Samsara retries (X-Samsara-Request names the delivery attempt instead)."""

    name = "samsara"
    delivery_header = "X-Samsara-Request"

    def classify(self, doc: dict[str, Any]) -> str | None:
        event_type = doc.get("eventType")
        if not isinstance(event_type, str):
            raise Rejected(400, "schema", "eventType is missing or is not text")
        if event_type == "Alert":
            return "alert_v1"
        if event_type == "Ping":
            return "ping"
        if event_type in _enum("samsara/event_v2.schema.json", "$defs", "EventType", "enum"):
            return "event_v2"
        return None  # a newer event type: acknowledge, ignore (MAL-03)

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        return _id_text(doc.get("eventId"), "eventId")


class SmartGpsAdapter(Adapter):
    """SmartGPS events. Position: lat/lng at `timestamp`, per `objectId`."""

    name = "smartgps"

    def classify(self, doc: dict[str, Any]) -> str | None:
        event = doc.get("event")
        if not isinstance(event, str):
            raise Rejected(400, "schema", "event is missing or is not text")
        return "event" if event in _enum("smartgps/event.schema.json", "properties", "event", "enum") else None

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        # SmartGPS sends no event id (provider-facts §4), so the key is what identifies an event: which vehicle,
        # what happened, when. Not a hash of the body: a re-serialised retry is still the same event. The cost:
        # two genuinely distinct events with the same vehicle, type and timestamp count as one (IDM-05).
        parts = [doc.get("objectId"), doc.get("event"), doc.get("timestamp")]
        if not all(isinstance(p, str) and 0 < len(p) <= MAX_ID_CHARS for p in parts):
            raise Rejected(400, "schema", "objectId, event and timestamp must be text: together they identify the "
                           "event (SmartGPS sends no event id)")
        return _sha256(*parts)

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        return Fix(doc["objectId"], float(doc["lat"]), float(doc["lng"]), _epoch(doc["timestamp"]))


class PowUnityAdapter(Adapter):
    """PowUnity BikeTrax (Traccar 4.x EventData). Key: `event.id` (Traccar's database id). X-PowTxn is required
    by the signer and recorded as the delivery id. Position: `position.fixTime`, per `device.uniqueId`."""

    name = "powunity"
    delivery_header = "X-PowTxn"

    def classify(self, doc: dict[str, Any]) -> str | None:
        event = doc.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Rejected(400, "schema", "event must be an object with a text type")
        return "webhook" if event["type"] in _enum("powunity/traccar.schema.json", "$defs", "EventType", "enum") \
            else None

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        event = doc.get("event")
        return _id_text(event.get("id") if isinstance(event, dict) else None, "event.id")

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        position, device = doc.get("position"), doc["device"]
        if not isinstance(position, dict):
            return None  # status events carry no position
        # Traccar's fixTime is when the fix was taken; an `outdated` or late position has an old one (ORD-02)
        return Fix(str(device.get("uniqueId") or device["id"]), float(position["latitude"]),
                   float(position["longitude"]), _epoch(position["fixTime"]))


class MettaxAdapter(Adapter):
    """MettaX IotHub pushes: `{"data": "<message as a JSON string>"}` or the form field `data=`.

    There is no kind field (provider-facts §5), so a message is classified by the field only its kind has
    (simulator.providers.mettax.classify, which `schemas validate mettax envelope` uses too).
    Key: kind + `id` (`captureId` for capture files): a GPS packet, its alarm and its status share one `id`,
    and so do the two halves of a driver face check, yet each is its own message; files add their URL.
    Position: `deviceCt` (UTC; `reportCt` is device-local time), per `deviceId`; back-filled `actual=false`
    fixes never win (ORD-02).
    """

    name = "mettax"
    content_types = (JSON_TYPE, FORM_TYPE)
    POSITIONED: ClassVar[frozenset[str]] = frozenset({"gps", "alarm", "rfid", "face_check_result"})
    FILES: ClassVar[frozenset[str]] = frozenset({"alarm_file", "capture_file"})
    FACE_HALVES: ClassVar[dict[str, str]] = {"face_check_result": "result", "face_check_picture": "picture"}

    def decode(self, body: bytes, content_type: str) -> dict[str, Any]:
        try:
            return open_mettax_data(self._data(body, content_type))
        except UnreadableData as exc:
            raise _unreadable(exc) from None

    def inspect(self, provider: Provider, body: bytes, content_type: str) -> Checked:
        # the same function `schemas validate mettax envelope` calls: one reading, one verdict
        try:
            return read_mettax_data(provider, self._data(body, content_type))
        except UnreadableData as exc:
            raise _unreadable(exc) from None

    def _data(self, body: bytes, content_type: str) -> str:
        """The `data` string, from a JSON or a form body."""
        if content_type == FORM_TYPE:
            return self._form_data(body)
        outer = _object(parse_json(body), "body").get("data")
        if not isinstance(outer, str):
            raise Rejected(400, "bad_envelope", 'the body must be {"data": "<message as a JSON string>"}')
        return outer

    @staticmethod
    def _form_data(body: bytes) -> str:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict",
                              max_num_fields=16)
        except ValueError:  # UnicodeDecodeError included
            raise Rejected(400, "bad_form", "the form body is not valid UTF-8 url-encoded fields") from None
        values = [value for key, value in pairs if key == "data"]
        if len(values) != 1:
            raise Rejected(400, "bad_envelope", "the form body must carry exactly one data= field")
        return values[0]

    def classify(self, doc: dict[str, Any]) -> str | None:
        return classify_mettax(doc)

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        if kind is None:  # not a kind we know: use its id if it has one, else what it says
            ident = doc.get("id")
            return f"unknown:{ident}" if isinstance(ident, str) and len(ident) <= MAX_ID_CHARS \
                else "unknown:" + _sha256(doc)
        name = "captureId" if kind == "capture_file" else "id"
        key = f"{kind}:{_id_text(doc.get(name), name)}"
        if kind in self.FILES:  # one alarm uploads a picture and a video under one id: the file tells them apart
            key += ":" + _sha256(doc.get("fileType"), doc.get("fileUrl"))[:32]
        return key

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        if kind not in self.POSITIONED or "lat" not in doc or "lon" not in doc:
            return None
        # rfid and face-check results write lat/lon as strings ("35.926264")
        return Fix(doc["deviceId"], float(doc["lat"]), float(doc["lon"]), float(doc["deviceCt"]))

    def face_check(self, doc: dict[str, Any], kind: str) -> tuple[str, str, str, str] | None:
        half = self.FACE_HALVES.get(kind)
        return (doc["id"], doc["deviceId"], half, orjson.dumps(doc).decode()) if half else None


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (MettaxAdapter(), SmartGpsAdapter(), SamsaraAdapter(),
                                                    PowUnityAdapter())}


def _unreadable(exc: UnreadableData) -> Rejected:
    if exc.reason == "wrong_type":
        return Rejected(400, exc.reason, f"the data string must hold a JSON object, not {exc.problem}")
    return Rejected(400, exc.reason, f"the data string does not hold a JSON object: {exc.problem}")


# --- one endpoint: the provider's adapter, signer and secrets ----------------------------------------------


class Endpoint:
    """One provider's endpoint: its adapter, its signer and the configured secret (or MettaX token)."""

    def __init__(self, adapter: Adapter, settings: Mapping[str, Any], tolerance_s: int) -> None:
        self.name = adapter.name
        self.adapter = adapter
        self.provider: Provider = PROVIDERS[adapter.name]
        self.signer: Signer = SIGNERS[self.provider.signing]
        self.tolerance_s = tolerance_s
        secret = settings.get("secret")
        if isinstance(secret, str):  # plain text given programmatically: parse it as the provider hands it out
            secret = self.signer.parse_secret(secret)
        self.secrets: list[Secret] = [secret] if isinstance(secret, Secret) else []
        # MettaX signs nothing; a static token header (setting `token`) is the only authentication it can have
        token = settings.get("token")
        self.token = token.encode() if isinstance(token, str) and token else None
        self.token_header = str(settings.get("token_header", "Authorization"))

    @property
    def unconfigured(self) -> bool:
        """True when the provider signs its requests but no secret was configured: everything is refused."""
        return self.signer.covers_body and not self.secrets

    @property
    def unauthenticated(self) -> bool:
        """True when requests are accepted without any credential (no PowUnity PSK, no MettaX token)."""
        return not self.signer.covers_body and not self.secrets and self.token is None

    def check(self, body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        """Steps 6 and 7: the message and its kind (None: unknown, acknowledged and ignored), or Rejected."""
        checked = self.adapter.inspect(self.provider, body, content_type)
        problems = [str(e) for e in checked.errors if e.expected != _EXTRA_FIELDS]
        if problems:
            raise Rejected(400, "schema", f"the {checked.kind} message does not match its schema",
                           problems=problems[:10])
        return checked.document, checked.kind

    def authenticate(self, body: bytes, headers: CIHeaders) -> None:
        if self.unconfigured:
            raise Rejected(401, "auth_not_configured", "authentication failed",
                           detail=f"no secret configured for {self.name}")
        verdict = self.signer.verify(body, headers, self.secrets, now=int(time.time()), tolerance=self.tolerance_s)
        if not verdict.ok:
            raise Rejected(401, f"auth_{verdict.code}", "authentication failed", detail=verdict.reason)
        if self.token is not None:
            values = headers.getall(self.token_header)
            received = values[0].encode("utf-8", "surrogateescape") if len(values) == 1 else b""
            if not hmac.compare_digest(received, self.token):
                code = "missing_header" if not values else "mismatch"
                raise Rejected(401, f"auth_{code}", "authentication failed",
                               detail=f"{self.token_header} does not carry the configured token")


# --- the receiver ----------------------------------------------------------------------------------------------


class Receiver:
    """The webhook endpoints, the state API and the background tasks, around one Store."""

    def __init__(self, settings: Mapping[str, Mapping[str, Any]], store: Store, *,
                 max_body_bytes: int = MAX_BODY_BYTES, tolerance_s: int = TOLERANCE_S,
                 body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.store = store
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.endpoints = {name: Endpoint(ADAPTERS[name], settings.get(name, {}), int(tolerance_s))
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
        if encoding not in ("", "identity"):
            raise Rejected(415, "unsupported_encoding", "compressed request bodies are not accepted",
                           headers={"Accept-Encoding": "identity"})
        adapter = endpoint.adapter
        if request.content_type not in adapter.content_types:
            raise Rejected(415, "unsupported_media_type", f"Content-Type must be {' or '.join(adapter.content_types)}")
        if request.charset is not None and request.charset.lower() not in ("utf-8", "utf8"):
            raise Rejected(415, "unsupported_media_type", "the body must be UTF-8")
        body = await self.read_body(request)
        headers = CIHeaders(request.headers.items())
        endpoint.authenticate(body, headers)  # on the raw bytes, before anything is parsed (SIG-06)

        doc, kind = endpoint.check(body, request.content_type)
        key = adapter.event_key(doc, kind)
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

    # --- background processing (after the acknowledgement) ---

    def schedule(self, provider: str, key: str, kind: str, doc: dict[str, Any]) -> None:
        task = asyncio.create_task(self.process(provider, key, kind, doc))
        self.tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(self.tasks.discard)

    async def process(self, provider: str, key: str, kind: str, doc: dict[str, Any]) -> None:
        adapter = ADAPTERS[provider]
        try:
            await self.store.apply(provider, key, fix=adapter.fix(doc, kind), face_check=adapter.face_check(doc, kind))
        except StoreUnavailable:
            log.exception("%s: event %s stays in the inbox; it is processed at the next start", provider, key)
        except Exception:
            log.exception("%s: processing event %s failed", provider, key)

    async def recover(self, app: web.Application) -> None:
        """On start: process again what was acknowledged but not processed before a crash."""
        for event in await self.store.pending():
            if event.provider in ADAPTERS:
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


def build_app(settings: Mapping[str, Mapping[str, Any]], store: Store, *, max_body_bytes: int = MAX_BODY_BYTES,
              tolerance_s: int = TOLERANCE_S, body_timeout_s: float = BODY_TIMEOUT_S) -> web.Application:
    """The receiver as an aiohttp application. `settings` is per provider, as `load_settings` returns them
    (a parsed `Secret` under "secret"; MettaX `token`/`token_header`). The caller owns and closes `store`.
    The header timeout is not here but in how the app is served (`timeouts.GuardedSite`, as `start_receiver`)."""
    receiver = Receiver(settings, store, max_body_bytes=max_body_bytes, tolerance_s=tolerance_s,
                        body_timeout_s=body_timeout_s)
    # track_requests first: it must see each request before anything else can answer it
    app = web.Application(client_max_size=max_body_bytes, middlewares=[track_requests, _store_errors])
    app[RECEIVER] = receiver
    for name, endpoint in receiver.endpoints.items():
        handler = receiver.handler(endpoint)
        app.router.add_route("*", f"/{name}", handler)  # every method: a GET gets our 405 with Allow
        app.router.add_route("*", f"/webhooks/{name}", handler)
    app.router.add_get("/state", receiver.state)
    app.router.add_get("/state/devices", receiver.devices)
    app.router.add_get("/state/devices/{id}", receiver.device)
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
