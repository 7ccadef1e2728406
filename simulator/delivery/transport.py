"""HTTP transport of the delivery engine: one POST per call, always answered with a `Response`, never an exception.

This is an edge module (conformance-catalogue H-3/H-4, perf-anchors §6): it owns sockets, TLS and monotonic clocks.

- One `aiohttp.ClientSession` per transport over one `TCPConnector(limit=concurrency, limit_per_host=concurrency)`;
  bodies are sent exactly as given (pre-encoded, pre-signed bytes). No cookie jar, no redirects followed, no proxy
  from the environment, no automatic decompression (the body cap applies to wire bytes, so a compressed "bomb"
  cannot inflate past it; `Accept-Encoding: identity` is sent unless the caller sets its own).
- ONE total deadline per `post` covers waiting for a pooled connection, connect, TLS handshake, writing the request,
  the response headers and the body read, so a receiver that trickles its response cannot hold a worker (httpx
  #1450). aiohttp's own timeouts are switched off. The deadline works as `asyncio.timeout` does (the request's task
  is cancelled when it passes, and the cancellation becomes a timeout unless someone else cancelled too), but
  requests due within the same `DEADLINE_SLOT_S` share one loop timer (`deadlines.Deadlines`): a timer per request was a
  measurable share of the sender's CPU at thousands of requests a second. A deadline fires at most one slot late,
  never early.
- The body read is capped at 64 KiB (`READ_CAP`); a longer body is cut and its connection dropped (not drained), and
  at most 4 KiB (`KEEP_CAP`) is kept in the `Response`.
- Whatever the network or the receiver does becomes one of `OUTCOMES` (see `post`). Only caller mistakes raise
  (`UsageError` for a bad URL or deadline, `HarnessError` when used outside `async with`).
- Stale keep-alive (H-3): when a *reused* pooled connection fails with "server disconnected" (or a reset/broken pipe)
  before any response byte, the request is retried once, transparently, on a fresh connection within the same
  deadline. The retry is not an attempt; it is counted in `HttpTransport.stale_retries` and flagged on the response.

The event loop (uvloop or not) is chosen by whoever creates it, not here.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Final

import aiohttp
from aiohttp.connector import Connection
from aiohttp.http_exceptions import HttpProcessingError

from ..errors import HarnessError, UsageError

# the shared pieces live in response.py and trust.py (h1.py uses them without aiohttp); importable from here too
from .deadlines import Deadlines
from .response import (
    DEFAULT_KEEP_HEADERS,
    KEEP_CAP,
    READ_CAP,
    RESET_ERRNOS,
    Response,
    parse_retry_after,
    select_headers,
    status_outcome,
    timeout_error,
)
from .response import one_line as _one_line
from .trust import CA_BUNDLE_HINT, check_client_options, default_trust, handshake_closed, trust_context, verify_failure
from .urls import shown_url, url_problem

__all__ = [
    "CA_BUNDLE_HINT",
    "DEFAULT_KEEP_HEADERS",
    "KEEP_CAP",
    "READ_CAP",
    "HttpTransport",
    "Response",
    "default_trust",
    "parse_retry_after",
    "trust_context",
    "verify_failure",
]

_status_outcome = status_outcome  # its name before response.py (conformance/inprocess.py imports it so)


def _errno_of(exc: BaseException) -> int | None:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error.errno
    if isinstance(exc, OSError):
        return exc.errno
    return None


class _Phase:
    """Per-request progress (connected and reused filled in by `_PhaseConnector`), and its deadline's state."""

    __slots__ = ("cancelling", "connected", "expired", "reused", "slot", "task")

    def __init__(self, task: asyncio.Task[Any] | None = None) -> None:
        self.connected = False
        self.reused = False
        self.task = task
        # how many cancellations the task had pending before this request: more at the end means someone else
        # (Ctrl-C's second signal) cancelled it too, and the cancellation is theirs, not a timeout (as asyncio.timeout)
        self.cancelling = task.cancelling() if task is not None else 0
        self.expired = False
        self.slot: set[_Phase] | None = None

    def expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()


_PHASE: ContextVar[_Phase | None] = ContextVar("fleetsim_transport_phase", default=None)


class _PhaseConnector(aiohttp.TCPConnector):
    """A TCPConnector that tells the running `post` when its connection is established and whether it was reused.

    Cheaper than aiohttp request tracing, which sends ~8 signals per request (perf-anchors: ~57 us per request is the
    whole budget). `connect` runs in the caller's task, so a context variable carries the per-request `_Phase`.
    """

    async def connect(self, req: aiohttp.ClientRequest, *args: Any, **kwargs: Any) -> Connection:
        conn = await super().connect(req, *args, **kwargs)
        phase = _PHASE.get()
        if phase is not None:
            phase.connected = True
            protocol = conn.protocol
            if protocol is not None:
                # a mark on the connection's protocol (which dies with it) rather than a WeakSet of them: one
                # attribute read per request instead of a weak reference made for the lookup
                if getattr(protocol, _USED, False):
                    phase.reused = True
                else:
                    setattr(protocol, _USED, True)
        return conn


_USED: Final = "_fleetsim_used"  # set on a connection's protocol once a request went out on it


def _is_stale(exc: BaseException) -> bool:
    """A failure before any response byte that a server's idle close of a pooled connection produces."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return isinstance(exc.message, str)  # a partial response would be a RawResponseMessage
    if isinstance(exc, aiohttp.ClientConnectorError):
        return False
    return _reset_like(exc) or (exc.__cause__ is not None and _reset_like(exc.__cause__))


def _reset_like(exc: BaseException) -> bool:
    # uvloop reports a write to a dead socket as ClientOSError(None, ...) caused by ClientConnectionResetError
    return isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError) or (
        isinstance(exc, OSError) and exc.errno in RESET_ERRNOS
    )


class HttpTransport:
    """Async context manager owning one pooled aiohttp session; `post` never raises for network/receiver trouble.

    TLS certificates are verified by default. Pass `ssl_context` to trust a specific CA (e.g. a test CA), or
    `verify=False` for self-signed test receivers only: it disables all certificate and hostname checks.
    `now` is the wall clock used for Retry-After HTTP-dates (UTC epoch seconds).
    """

    def __init__(
        self,
        concurrency: int = 16,
        *,
        verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        now: Callable[[], float] = time.time,
        user_agent: str = "fleetsim",
        keep_headers: Iterable[str] = DEFAULT_KEEP_HEADERS,
    ) -> None:
        check_client_options(concurrency, verify, ssl_context)
        self.concurrency = concurrency
        self.stale_retries = 0
        # verification on: always a context of ours (the same rules whoever built the session), never aiohttp's
        self._ssl: ssl.SSLContext | bool = (ssl_context if ssl_context is not None
                                            else default_trust() if verify else False)
        self._now = now
        self._user_agent = user_agent
        self._keep_set = frozenset(h.lower() for h in keep_headers)
        self._session: aiohttp.ClientSession | None = None
        self._deadlines: Deadlines[_Phase] | None = None

    async def __aenter__(self) -> HttpTransport:
        if self._session is not None:
            raise HarnessError("HttpTransport entered twice")
        connector = _PhaseConnector(
            limit=self.concurrency, limit_per_host=self.concurrency, ttl_dns_cache=300,
            enable_cleanup_closed=True, ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None),
            auto_decompress=False,
            trust_env=False,
            raise_for_status=False,
            headers={"User-Agent": self._user_agent, "Accept-Encoding": "identity"},
        )
        self._deadlines = Deadlines[_Phase](asyncio.get_running_loop())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                   method: str = "POST", keep: int = KEEP_CAP) -> Response:
        """POST `body` to `url` and classify what happened; at most `deadline_s` seconds in total.

        `keep` is how many body bytes the `Response` keeps (and, when above READ_CAP, how many are read): a
        delivery needs only the start of an answer; a state reading needs all of it.

        `method` is POST for every delivery; the conformance checks also send GET/PUT/... to the webhook URL
        (SIG-11), which is why it can be given.

        Outcomes: "2xx"/"3xx"/"4xx"/"5xx"/"429" from the status (redirects are not followed);
        "timeout_connect" if the deadline hit before a connection was established (this includes waiting for a
        free pooled connection and the TLS handshake), "timeout_total" after that (headers or body too slow);
        "conn_refused" (nothing listening, unreachable, DNS failure); "reset" (disconnect, RST, broken pipe,
        truncated body); "tls_error" (handshake or certificate failure); "protocol_error" (unparsable HTTP).
        """
        session = self._session
        if session is None:
            raise HarnessError("HttpTransport.post used outside 'async with'")
        if not (deadline_s > 0 and math.isfinite(deadline_s)):
            raise UsageError(f"delivery deadline must be a positive number of seconds, got {deadline_s!r}")
        started = time.perf_counter()
        deadlines = self._deadlines
        if deadlines is None:  # pragma: no cover - set with the session
            raise HarnessError("HttpTransport.post used outside 'async with'")
        task = asyncio.current_task()
        phase = _Phase(task)
        stale_retried = False
        status: int | None = None
        kept_headers: dict[str, str] = {}
        retry_after: float | None = None
        buf = bytearray()
        deadlines.arm(phase, deadline_s)
        try:
            try:
                while True:
                    phase.connected = phase.reused = False
                    token = _PHASE.set(phase)
                    try:
                        resp = await session.request(method, url, data=body, headers=headers,
                                                     allow_redirects=False)
                    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
                            aiohttp.ClientConnectionResetError) as exc:
                        if stale_retried or not phase.reused or not _is_stale(exc):
                            raise
                        stale_retried = True
                        self.stale_retries += 1
                        continue
                    finally:
                        _PHASE.reset(token)
                    break
                complete = False
                status = resp.status
                try:
                    kept_headers = select_headers(resp.headers.items(), status, self._keep_set)
                    raw_retry_after = resp.headers.get("Retry-After")
                    if raw_retry_after is not None:
                        retry_after = parse_retry_after(raw_retry_after, self._now())
                    cap = max(READ_CAP, keep)
                    content = resp.content
                    if content.is_eof():
                        # the whole answer came with its headers (most do): take it without a coroutine per read
                        buf += content.read_nowait(cap)
                        complete = content.at_eof()
                    if not complete:
                        complete = await _read_capped(resp, buf, cap)
                finally:
                    if complete:
                        resp.release()
                    else:
                        resp.close()  # drop the connection: never drain what we will not read
            finally:
                deadlines.disarm(phase)
                # the deadline cancelled the task: take that cancellation back, as asyncio.timeout does
                expired_only = phase.expired and task is not None and task.uncancel() <= phase.cancelling
        except asyncio.CancelledError as exc:
            if not expired_only:
                raise
            error: Exception = TimeoutError()
            error.__cause__ = exc
            return self._failed(error, phase, deadline_s, url, status, retry_after, kept_headers, buf, keep,
                                started, stale_retried)
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            # not aiohttp's words: they quote the whole URL, credentials and query included
            problem = url_problem(url) or f"not a URL aiohttp can send to ({type(exc).__name__})"
            raise UsageError(f"cannot deliver to {shown_url(url)}: {problem}") from None
        except Exception as exc:
            return self._failed(exc, phase, deadline_s, url, status, retry_after, kept_headers, buf, keep,
                                started, stale_retried)
        outcome = _status_outcome(resp.status)
        return Response(
            outcome=outcome, status=resp.status, retry_after_s=retry_after, headers=kept_headers,
            body=bytes(buf if len(buf) <= keep else buf[:keep]), latency_s=time.perf_counter() - started,
            error=f"unexpected final status {resp.status}" if outcome == "protocol_error" else None,
            stale_retried=stale_retried,
        )

    @staticmethod
    def _failed(exc: Exception, phase: _Phase, deadline_s: float, url: str, status: int | None,
                retry_after: float | None, kept_headers: dict[str, str], buf: bytearray, keep: int, started: float,
                stale_retried: bool) -> Response:
        outcome, error = _classify(exc, phase.expired, phase, deadline_s, url[:6].lower() == "https:")
        return Response(
            outcome=outcome, status=status, retry_after_s=retry_after, headers=kept_headers,
            body=bytes(buf[:keep]), latency_s=time.perf_counter() - started, error=error,
            stale_retried=stale_retried,
        )


async def _read_capped(resp: aiohttp.ClientResponse, buf: bytearray, cap: int = READ_CAP) -> bool:
    """Read at most `cap` body bytes into `buf`; True when the body ended within the cap."""
    content = resp.content
    while len(buf) < cap:
        chunk = await content.read(cap - len(buf))
        if not chunk:
            return True
        buf += chunk
        if content.at_eof():  # the whole body is in: skip the read that would only say so (a loop turn each)
            return True
    return content.at_eof()


def _classify(exc: Exception, expired: bool, phase: _Phase, deadline_s: float, tls: bool = False) -> tuple[str, str]:
    if expired or isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is a TimeoutError too
        return ("timeout_total" if phase.connected else "timeout_connect"), timeout_error(phase.connected, deadline_s)
    line = _one_line(exc)
    verify = verify_failure(exc)
    if verify is not None:
        return "tls_error", verify
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch | ssl.SSLError
                  | ssl.CertificateError):
        return "tls_error", line
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ssl.SSLError | ssl.CertificateError):
            return "tls_error", line
        if tls and isinstance(exc.os_error, ConnectionResetError):
            return "tls_error", handshake_closed(line)
        if _errno_of(exc) in RESET_ERRNOS:
            return "reset", line
        return "conn_refused", line
    if isinstance(exc, aiohttp.ClientResponseError | HttpProcessingError):
        return "protocol_error", line
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | OSError):
        return "reset", line
    return "protocol_error", f"unexpected {line}"
