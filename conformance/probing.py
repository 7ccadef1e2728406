"""Probes: the deliveries a check needs beyond the scenario's own traffic, and the phase that sends them.

The scenario's traffic (genuine events, duplicates and the delivery engine's own probes: tampered signature,
stale/future timestamp, corrupt body) goes through the delivery engine (`simulator.delivery.runner.Runner`).
Everything else a check needs (a signature header left out, the body changed after signing, a GET to the webhook
URL, ten concurrent copies, a gzip bomb...) is a *probe*: a registered pure function that turns fresh, real
business events of the scenario (never random JSON) into the exact requests to send. Probes never touch a socket;
`send_probes` sends their requests through the same `Sender` as the run (real sockets, or in-process with
`--app`) and records each as an `Attempt` whose `copy` is the probe's name and `variant` the request's label.

A check names the probes it needs in its `needs`, like the delivery engine's copies; the planner sends only
the probes that the selected checks need and that apply to the provider.

Order: requests go out in `phase`s, every phase-0 request of every probe first (concurrently), then phase 1, and
so on; a probe that needs "this, then that" (a back-filled fix after the newer one, ORD-02; a retry after a
dropped answer, IDM-03) puts them in successive phases. `mode="drop_response"` writes the whole request on a
raw socket (TLS for https) and closes it without reading the answer (a lost acknowledgement, IDM-03): such a
probe must be registered with socket=True.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from simulator.delivery.model import COPIES, Attempt
from simulator.delivery.redaction import Redactor
from simulator.delivery.sending import Sender
from simulator.delivery.transport import Response, default_trust
from simulator.errors import HarnessError
from simulator.providers import Provider
from simulator.signing import SIGNERS, Secret, Signer
from simulator.signing.base import authenticating_headers
from simulator.stream import Outgoing

__all__ = ["PROBES", "Base", "Probe", "ProbeRequest", "probe", "send_probes"]


#: the catalogue's default body limit (LIM-01): 1 MiB, unless the receiver declares its own (`--body-limit`)
BODY_LIMIT = 1 << 20
#: the largest declared limit a probe is built for: LIM-01's body is held in memory and sent whole
MAX_BODY_LIMIT = 256 << 20


@dataclass(frozen=True)
class Base:
    """One fresh event of the scenario as the provider would send it, and what is needed to sign variants of it.

    `now` is the wall-clock second the probe phase started (taken at the edge, in run.py): probes are pure."""

    provider: Provider
    record: Outgoing
    signer: Signer
    secrets: tuple[Secret, ...]
    now: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: the receiver's declared body limit (`check --body-limit`): LIM-01 sends one byte more
    body_limit: int = BODY_LIMIT

    @property
    def body(self) -> bytes:
        return self.record.body

    @property
    def event_id(self) -> str:
        return self.record.event_id

    def auth_header_names(self) -> frozenset[str]:
        """The names of the headers that authenticate the request: the ones the provider's signer sets (none
        without a secret), not those that only identify the delivery (`Signer.id_headers`, PowUnity's X-PowTxn),
        and the static credential headers its settings add (a MettaX token)."""
        static = frozenset(self.provider.credential_headers(self.settings))
        if not self.secrets:
            return static
        return static | frozenset(authenticating_headers(self.signer, self.secrets, timestamp=self.now,
                                                         message_id=self.event_id))

    def unsigned_headers(self) -> dict[str, str]:
        """The record's headers without any authentication header (content type and the like)."""
        names = {n.lower() for n in self.auth_header_names()}
        return {k: v for k, v in self.record.headers.items() if k.lower() not in names}

    def sign(self, body: bytes, *, timestamp: int | None = None, message_id: str | None = None,
             secrets: Sequence[Secret] | None = None, envelope: Mapping[str, str] | None = None,
             delivery: str | None = None) -> dict[str, str]:
        """The headers to send `body` with: the record's own (updated by `envelope`, the headers the provider's
        envelope gives a rewritten document), with a fresh signature at `timestamp` (default now) over exactly
        these bytes. Unsigned providers (no secret) get those headers as they are. `delivery` is the id of this
        delivery under the provider's per-delivery header, where it has one (Samsara's X-Samsara-Request,
        PowUnity's X-PowTxn): another delivery than the record's own (a retry, another event) names itself."""
        keys = tuple(secrets) if secrets is not None else self.secrets
        headers = dict(self.record.headers)
        if envelope:
            headers.update(envelope)
        if keys:
            headers.update(self.signer.sign(body, keys, timestamp=self.now if timestamp is None else timestamp,
                                            message_id=message_id or self.event_id))
        name = self.provider.adapter.delivery_header
        if delivery is not None and name is not None:
            headers[next((k for k in headers if k.lower() == name.lower()), name)] = delivery
        return headers


@dataclass(frozen=True)
class ProbeRequest:
    """One request a probe sends. `path` is appended to the provider's endpoint URL ("/" for a trailing slash);
    `url` replaces the URL outright; `scheme` sends to the endpoint's own URL over another scheme (TRN-02: the
    http:// form of an https endpoint, same host, port and path), which a pure probe cannot spell out since it
    never sees the URL. `repeat` copies go out at once, concurrently (IDM-02)."""

    variant: str
    body: bytes
    headers: Mapping[str, str]
    method: str = "POST"
    path: str = ""
    url: str | None = None
    repeat: int = 1
    event_id: str = ""  # the business event this request carries ("" for the base record's)
    scheme: str = ""  # "" for the endpoint's own
    phase: int = 0
    redact: tuple[str, ...] = ()
    mode: str = "http"  # or DROP_RESPONSE: a raw socket closed before the answer is read
    #: the headers to send instead, signed at the second the request goes out (RPL-03's edges: 290 s off the
    #: moment of sending, however long the request waited behind slow answers); `headers` are the same made at
    #: the phase's start, what a pure probe can say
    sign_at: Callable[[int], Mapping[str, str]] | None = field(default=None, compare=False, repr=False)



# --- reading and rewriting a real event (the probes of MAL-02/03/08/09 and ORD-02) --------------------------


def content_type(base: Base) -> str:
    value = next((v for k, v in base.record.headers.items() if k.lower() == "content-type"), "")
    return value.split(";")[0].strip().lower()


def message(base: Base) -> dict[str, Any]:
    """The event's message as the provider's adapter reads it (inside the MettaX `data` string)."""
    return base.provider.adapter.decode(base.body, content_type(base))


def rewritten(base: Base, variant: str, doc: Any) -> ProbeRequest:
    """`doc` in the provider's own envelope, signed over exactly those bytes."""
    envelope = base.provider.envelope(base.record.kind, doc, message_id=base.event_id, settings=base.settings)
    # the envelope's own headers follow the document (Samsara's X-Samsara-Event-Type names the body's eventType)
    return ProbeRequest(variant, envelope.body, base.sign(envelope.body, envelope=envelope.headers),
                        event_id=base.event_id)


DROP_RESPONSE = "drop_response"
#: the outcome recorded for a request whose answer the harness did not read on purpose
DROPPED_ERROR = "closed by the harness before reading the answer (a lost acknowledgement)"

ProbeFunction = Callable[[Sequence[Base]], list[ProbeRequest]]


@dataclass(frozen=True)
class Probe:
    name: str
    doc: str
    #: fresh events of the scenario the probe consumes (each gets its own base)
    events: int
    #: whether the probe means anything for this provider, given whether a secret is configured
    applies: Callable[[Provider, bool], bool]
    #: needs a real socket (a raw connection, TLS): skipped for in-process receivers (--app)
    socket: bool
    function: ProbeFunction
    #: the fewest fresh events the probe can work with, when it looks through up to `events` for what it needs
    #: (two state changes of one device are rare): it gets what the scenario has left, at least this many
    min_events: int = 0
    #: every request carries a well-formed, acceptable delivery (a copy, a reordering, another encoding): a 5xx
    #: there is not a crash on bad input (TIM-04), though the probe's own check may still fail it
    well_formed: bool = False

    @property
    def least(self) -> int:
        return self.min_events or self.events


PROBES: dict[str, Probe] = {}


def probe(name: str, *, events: int = 1, applies: Callable[[Provider, bool], bool] = lambda p, s: True,
          socket: bool = False, min_events: int = 0,
          well_formed: bool = False) -> Callable[[ProbeFunction], ProbeFunction]:
    """Register the decorated function as probe `name` (its docstring's first line says what it sends)."""
    if name in COPIES:
        raise HarnessError(f"probe {name} shadows a delivery-engine copy")

    def register(function: ProbeFunction) -> ProbeFunction:
        if name in PROBES:
            raise HarnessError(f"probe {name} registered twice")
        doc = (function.__doc__ or "").strip().splitlines()
        if not doc:
            raise HarnessError(f"probe {name} has no docstring")
        PROBES[name] = Probe(name, doc[0].strip(), events, applies, socket, function, min_events, well_formed)
        return function

    return register


def bases(provider: Provider, records: Sequence[Outgoing], settings: Mapping[str, Any], now: int, *,
          body_limit: int = BODY_LIMIT) -> list[Base]:
    secret = settings.get("secret")
    secrets = (secret,) if isinstance(secret, Secret) else ()
    return [Base(provider, r, SIGNERS[provider.signing], secrets, now, settings, body_limit) for r in records]


async def send_probes(requests: Sequence[tuple[str, ProbeRequest]], *, sender: Sender, url: str, provider: str,
                      kinds: Mapping[str, str], deadline_s: float, redactor: Redactor, concurrency: int,
                      now: Callable[[], float], ssl_context: ssl.SSLContext | None = None) -> list[Attempt]:
    """Send every (probe name, request) through `sender` and record each answer as an `Attempt`, in the order
    given (a `repeat` request records one attempt per copy). At most `concurrency` requests are in flight, except
    that a request's `repeat` copies go out together; phases go out one after the other, lowest first. `kinds`
    maps event ids to their kind, for the record. `ssl_context`: whom the raw connections of `drop_response`
    trust over https (--ca-bundle; None: the system's CAs)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str, request: ProbeRequest) -> list[Attempt]:
        target = request.url or url + request.path
        if request.scheme:
            target = request.scheme + target[target.index(":"):]
        async with gate:
            sent_at = now()
            if request.sign_at is not None:
                request = replace(request, headers=dict(request.sign_at(int(sent_at))))
            if request.mode == DROP_RESPONSE:
                responses = [await drop_response(target, request, deadline_s, ssl_context)]
            else:
                responses = await asyncio.gather(*(
                    sender.post(target, request.body, request.headers, deadline_s=deadline_s,
                                method=request.method)
                    for _ in range(request.repeat)))
        event_id = request.event_id
        scrub = _Scrub(redactor, request.redact)
        return [Attempt(
            event_id=event_id, provider=provider, kind=kinds.get(event_id, ""), copy=name, attempt=n,
            url=target, sent_at=sent_at, latency_s=r.latency_s, outcome=r.outcome, status=r.status,
            retry_after_s=r.retry_after_s, response_headers=scrub.headers(r.headers),
            response_body=scrub.bytes(r.body), error=scrub.optional_text(r.error),
            request_headers=dict(request.headers), request_body=request.body, method=request.method,
            variant=request.variant) for n, r in enumerate(responses, 1)]

    recorded: dict[int, list[Attempt]] = {}
    for phase in sorted({request.phase for _, request in requests}):
        indexed = [(i, name, request) for i, (name, request) in enumerate(requests) if request.phase == phase]
        answers = await asyncio.gather(*(one(name, request) for _, name, request in indexed))
        recorded.update((i, group) for (i, _, _), group in zip(indexed, answers, strict=True))
    return [attempt for i in sorted(recorded) for attempt in recorded[i]]


class _Scrub:
    """The run's redactor, then (for a request with `redact` values) one that masks those values too."""

    def __init__(self, redactor: Redactor, extra: Sequence[str]) -> None:
        self.redactors = [redactor] + ([Redactor(v.encode("utf-8") for v in extra)] if extra else [])

    def bytes(self, data: bytes) -> bytes:
        for r in self.redactors:
            data = r.bytes(data)
        return data

    def optional_text(self, data: str | None) -> str | None:
        for r in self.redactors:
            data = r.optional_text(data)
        return data

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        scrubbed = dict(headers)
        for r in self.redactors:
            scrubbed = r.headers(scrubbed)
        return scrubbed


async def drop_response(url: str, request: ProbeRequest, deadline_s: float,
                        ssl_context: ssl.SSLContext | None = None) -> Response:
    """Write `request` whole on a fresh connection (TLS for https), then close it without reading a byte of
    the answer. The receiver got everything; whether it committed is its business (IDM-03)."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [f"{request.method} {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(request.body)}",
            "Connection: close"]
    head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
    started = time.monotonic()
    try:
        async with asyncio.timeout(deadline_s):
            _, writer = await asyncio.open_connection(
                host, port, ssl=(ssl_context or default_trust()) if tls else None)
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
            await writer.drain()
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
    except TimeoutError:
        return Response("timeout_total", None, error="the raw connection timed out",
                        latency_s=time.monotonic() - started)
    except (OSError, ssl.SSLError) as exc:
        return Response("conn_refused" if isinstance(exc, ConnectionRefusedError) else "reset", None,
                        error=f"raw connection failed: {type(exc).__name__}", latency_s=time.monotonic() - started)
    return Response("reset", None, error=DROPPED_ERROR, latency_s=time.monotonic() - started)
