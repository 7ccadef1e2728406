"""A lean HTTP/1.1 client for the delivery engine: `H1Transport`, the sender of `fleetsim run` (docs/transport.md).

The same contract and outcome classes as `transport.HttpTransport` (read its docstring and `post`), without
aiohttp's ClientSession, which cost ~70 us of sender CPU a request (perf-anchors §6 item 8, the "turbo" transport):
an asyncio Protocol per connection, requests written as one bytes object, responses parsed by llhttp (httptools).
This is an edge module: it owns sockets, TLS and monotonic clocks.

- A pool per (scheme, host, port) of at most `concurrency` keep-alive connections, one request in flight on each
  (no pipelining). A connection is handed out again only after a complete response that allows keep-alive with
  nothing left unread or unwritten; one the server closed while idle leaves the pool as it closes.
- Request: `METHOD path?query HTTP/1.1`, Host (the caller's if given), `User-Agent: fleetsim` and
  `Accept-Encoding: identity` unless the caller sets them, the caller's headers as given, Content-Length (the
  caller's if given); then the body, byte for byte (it is signed). A CR, LF or NUL in a header is refused before
  anything is sent, with aiohttp's words and outcome (protocol_error).
- Response: interim 1xx answers (100 Continue, 103 Early Hints) are skipped, 101 is a final status (protocol_error),
  as aiohttp does; Content-Length, chunked and close-delimited bodies; at most max(READ_CAP, keep) body bytes are
  read, a longer body is cut and its connection dropped, `keep` bytes are kept. A HEAD answer has no body (its
  connection is not reused: the parser cannot be told the request was HEAD).
- ONE total deadline per `post` (pool wait, connect, TLS, write, headers, body). Deadlines due within the same
  `DEADLINE_SLOT_S` share one loop timer; a deadline resolves the request's waiter and closes its connection. No
  task is cancelled, so there is no cancellation to take back: the caller's own cancellation (Ctrl-C) is always
  the caller's, and it closes the connection in use.
- Stale keep-alive (conformance-catalogue H-3): a reused connection that ends (FIN, RST) before any response byte is
  retried once on a fresh connection within the same deadline, counted in `stale_retries`, flagged on the Response.
"""

from __future__ import annotations

import asyncio
import base64
import math
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Final

import httptools
import yarl

from ..errors import HarnessError, UsageError
from .deadlines import DEADLINE_SLOT_S, Deadlines
from .response import (
    DEFAULT_KEEP_HEADERS,
    ERROR_HEADERS_CAP,
    HEADER_VALUE_CAP,
    KEEP_ALL_HEADERS_FROM,
    KEEP_CAP,
    READ_CAP,
    RESET_ERRNOS,
    Response,
    one_line,
    parse_retry_after,
    status_outcome,
    timeout_error,
)
from .trust import check_client_options, default_trust, handshake_closed, no_trust, verify_failure
from .urls import shown_url, url_problem

__all__ = ["DEADLINE_SLOT_S", "H1Transport"]

#: what aiohttp answers a header with CR, LF or NUL in it (the same words, so both transports report it alike)
INJECTION_ERROR: Final = ("unexpected ValueError: Forbidden control character detected in headers. "
                          "Potential header injection attack.")
#: ... and a request with both an Authorization header and credentials in its URL
AUTH_CONFLICT_ERROR: Final = ("unexpected ValueError: Cannot combine AUTHORIZATION header with AUTH argument or "
                              "credentials encoded in URL")
#: most bytes of a response's status line and headers (aiohttp refuses a line or field over 8190 bytes): a server
#: streaming headers that never end would otherwise fill memory until the deadline
HEAD_CAP: Final = 64 * 1024
_TARGETS_CACHED: Final = 1024  # parsed URLs remembered per transport (a run posts to one or a few)

# what a waiter resolves to besides a connection or a finished exchange
_EXPIRED: Final = "expired"  # the deadline passed
_OPEN: Final = "open"  # a pool slot was freed for this request: open a new connection in it


class _Target:
    """A parsed URL: where to connect and what the request line and Host header say."""

    __slots__ = ("authorization", "connect_host", "host_header", "key", "path", "port", "tls")

    def __init__(self, url: str) -> None:
        try:
            parsed = yarl.URL(url)
            port = parsed.port
        except (ValueError, TypeError):  # not yarl's words: they may quote the URL, credentials and query included
            raise UsageError(f"cannot deliver to {shown_url(url)}: {url_problem(url) or 'not a valid URL'}") from None
        if parsed.scheme not in ("http", "https"):
            raise UsageError(f"cannot deliver to {shown_url(url)}: not an http:// or https:// URL")
        host, host_header = parsed.raw_host, parsed.host_port_subcomponent
        if not host or host_header is None or port is None:
            raise UsageError(f"cannot deliver to {shown_url(url)}: no host in the URL")
        self.tls = parsed.scheme == "https"
        self.connect_host = host
        self.port = port
        self.host_header = host_header
        self.path = parsed.raw_path_qs or "/"  # percent-encoded as aiohttp sends it; the fragment never goes out
        self.key = (parsed.scheme, host, port)
        # credentials in the URL (http://user:password@host/) become Basic auth, as aiohttp sends them
        self.authorization: str | None = None
        if parsed.raw_user or parsed.raw_password:
            pair = f"{parsed.user or ''}:{parsed.password or ''}".encode()
            self.authorization = f"Basic {base64.b64encode(pair).decode('ascii')}"


class _Exchange:
    """One `post` in flight: what it awaits now, and its deadline's state."""

    __slots__ = ("conn", "connected", "expired", "slot", "waiter")

    def __init__(self, waiter: asyncio.Future[object]) -> None:
        self.waiter = waiter
        self.conn: _Conn | None = None
        self.connected = False
        self.expired = False
        self.slot: set[_Exchange] | None = None

    def expire(self) -> None:
        self.expired = True
        if self.waiter.done():
            return  # answered in this loop turn: the answer stands
        self.waiter.set_result(_EXPIRED)
        conn = self.conn
        if conn is not None:
            conn.abort()  # a request cut by its deadline never leaves its connection reusable


class _Conn(asyncio.Protocol):
    """One keep-alive connection and the response being read on it (parser callbacks are llhttp's, via httptools).

    The waiter of the request in flight is resolved with `self` when the response is complete (or cut at the read
    cap), or with a failure string: "stale" (ended before any response byte), "reset" or "protocol"; `error` holds
    the one line."""

    __slots__ = ("_cap", "_framed", "_head", "_head_bytes", "_interim", "_keep_set", "_parser", "_raw", "_reused",
                 "_waiter", "body",
                 "closed", "error", "got_bytes", "headers", "pool", "retry_after", "reusable", "status",
                 "transport", "used")

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._keep_set = pool.keep_set
        self._waiter: asyncio.Future[object] | None = None
        self.closed = False
        self.used = False  # a request went out on it
        self._reused = False  # ... before the one in flight: a failure before any answer may be a stale close
        self._reset_state(None, READ_CAP, False)

    def _reset_state(self, waiter: asyncio.Future[object] | None, cap: int, head: bool) -> None:
        self._waiter = waiter
        self._cap = cap
        self._head = head
        self._interim = False
        self._framed = False  # Content-Length or Transfer-Encoding given: the body does not end at EOF
        self._raw: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0  # bytes received while no final status line and headers were complete
        self.got_bytes = False
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.retry_after: str | None = None
        self.body = bytearray()
        self.reusable = False
        self.error: str | None = None

    @property
    def usable(self) -> bool:
        """Open and not closing (an aborted transport closes a loop turn later than it is told to)."""
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def begin(self, waiter: asyncio.Future[object], data: bytes, cap: int, head: bool) -> None:
        """Send a request; the answer, or why there is none, resolves `waiter`."""
        self._reset_state(waiter, cap, head)
        self._reused, self.used = self.used, True
        transport = self.transport
        if transport is None or not self.usable:  # closed while it was handed over: as if closed under the request
            self._fail("stale" if self._reused else "reset", "ServerDisconnectedError: Server disconnected")
            return
        try:
            transport.write(data)
        except (RuntimeError, OSError) as exc:  # uvloop raises for a handle closed under the write
            self._fail("stale" if self._reused else "reset", one_line(exc))

    # -- asyncio.Protocol ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport subclasses
        self.pool.conns.add(self)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection's framing can no longer be trusted
            self.abort()
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
            if self.status is None:
                self._head_bytes += len(data)
                if self._head_bytes > HEAD_CAP and self._waiter is not None:
                    self._fail("protocol", f"the response's status line and headers exceed {HEAD_CAP} bytes")
                    self.abort()
        except httptools.HttpParserUpgrade:  # a 101 with Upgrade: already answered as its status
            self.abort()
        except httptools.HttpParserError as exc:
            # unparsable status line or headers: protocol_error; a broken body (chunk framing, lengths) after a
            # good head: reset, as aiohttp tells them apart (ClientResponseError, ClientPayloadError)
            self._fail("protocol" if self.status is None else "reset", f"{type(exc).__name__}: {exc}")
            self.abort()

    def eof_received(self) -> bool | None:
        return False  # close: a half-closed connection takes no further request

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.lost(self)
        if self._waiter is None or self._waiter.done():
            return
        if self.status is not None and not self._framed and not self._interim and not self._head:
            self._finish()  # a close-delimited body ends at EOF (HTTP/1.0 style)
        elif not self.got_bytes:
            self._fail("stale" if self._reused else "reset", one_line(exc) if exc is not None else
                       "ServerDisconnectedError: Server disconnected")
        else:
            self._fail("reset", one_line(exc) if exc is not None else
                       "ServerDisconnectedError: the response ended before it was complete")

    def abort(self) -> None:
        self.reusable = False
        if not self.closed and self.transport is not None:
            self.transport.abort()

    # -- llhttp callbacks ---------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None:  # a second response to one request
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        code = self._parser.get_status_code()
        if 100 <= code < 200 and code != 101:  # an interim answer: the final one follows (aiohttp skips them too)
            self._interim = True
            self._raw = []
            self._head_bytes = 0
            return
        self.status = code
        kept = self.headers
        keep = self._keep_set
        every = code >= KEEP_ALL_HEADERS_FROM
        for name, value in self._raw:
            lower = name.lower()
            if lower in keep or (every and len(kept) < ERROR_HEADERS_CAP):
                text = lower.decode("ascii", "replace")
                if text not in kept:  # the first of repeated headers, as headers.get() gives
                    kept[text] = value.decode("utf-8", "surrogateescape")[:HEADER_VALUE_CAP]
            if lower == b"retry-after":
                if self.retry_after is None:
                    self.retry_after = value.decode("utf-8", "surrogateescape")
            elif lower == b"content-length" or lower == b"transfer-encoding":
                self._framed = True
        self._raw = []
        if self._head:
            self._finish(reusable=False)

    def on_body(self, body: bytes) -> None:
        if self._waiter is None or self._interim:
            return
        buf = self.body
        room = self._cap - len(buf)
        if len(body) > room:  # over the read cap: keep what fits, drop the connection, never drain the rest
            buf += body[:room]
            self._finish(reusable=False)
            self.abort()
        else:
            buf += body

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._waiter is not None:
            transport = self.transport
            self._finish(reusable=self._parser.should_keep_alive() and transport is not None
                         and not transport.get_write_buffer_size())  # an early answer: the body is still unsent

    def _finish(self, reusable: bool = False) -> None:
        waiter, self._waiter = self._waiter, None
        self.reusable = reusable
        if waiter is not None and not waiter.done():
            waiter.set_result(self)

    def _fail(self, kind: str, error: str) -> None:
        waiter, self._waiter = self._waiter, None
        self.reusable = False
        self.error = error
        if waiter is not None and not waiter.done():
            waiter.set_result(kind)


class _Pool:
    """The connections to one (scheme, host, port): at most `limit` open or opening, idle ones reused last-in
    first-out (the most recently used is the least likely to have been closed by the server's idle timeout)."""

    __slots__ = ("conns", "count", "idle", "keep_set", "limit", "waiters")

    def __init__(self, limit: int, keep_set: frozenset[bytes]) -> None:
        self.limit = limit
        self.keep_set = keep_set
        self.count = 0  # connections open, opening or in use (their slots)
        self.idle: list[_Conn] = []
        self.conns: set[_Conn] = set()
        self.waiters: deque[asyncio.Future[object]] = deque()

    def lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if conn in self.idle:  # closed by the server while idle: its slot is free
            self.idle.remove(conn)
            self.free_slot()

    def release(self, conn: _Conn) -> None:
        """The request on `conn` is over: hand it to the next waiter or back to the idle list, or close it."""
        if conn.reusable and conn.usable:
            waiters = self.waiters
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(conn)
                    return
            self.idle.append(conn)
            return
        conn.abort()
        self.free_slot()

    def free_slot(self) -> None:
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(_OPEN)  # the slot passes to the waiter, which opens a connection in it
                return
        self.count -= 1

    def close(self) -> None:
        for conn in list(self.conns):
            conn.abort()
        self.idle.clear()
        for waiter in self.waiters:
            if not waiter.done():
                waiter.cancel()
        self.waiters.clear()


class H1Transport:
    """Async context manager owning keep-alive connection pools; `post` never raises for network/receiver trouble.

    The constructor takes what `HttpTransport`'s does and means the same: TLS verified by default, `ssl_context` to
    trust a specific CA, `verify=False` for self-signed test receivers only, `now` the wall clock for Retry-After
    dates.
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
        self._ssl = ssl_context if ssl_context is not None else default_trust() if verify else no_trust()
        self._now = now
        self._user_agent = user_agent
        self._keep_set = frozenset(h.lower().encode("ascii") for h in keep_headers)
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._targets: dict[str, _Target] = {}
        self._added_for: dict[tuple[str, ...], tuple[bool, str, bool, int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: Deadlines[_Exchange] | None = None
        self._connecting: set[asyncio.Task[object]] = set()

    async def __aenter__(self) -> H1Transport:
        if self._loop is not None:
            raise HarnessError("H1Transport entered twice")
        self._loop = asyncio.get_running_loop()
        self._deadlines = Deadlines[_Exchange](self._loop)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._loop is None:
            return
        self._loop = None
        for task in list(self._connecting):
            task.cancel()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        if self._connecting:
            await asyncio.gather(*self._connecting, return_exceptions=True)
        await asyncio.sleep(0)  # let the aborted transports run connection_lost

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _Target(url)
            if len(self._targets) >= _TARGETS_CACHED:
                self._targets.clear()
            self._targets[url] = target
        return target

    def _added(self, names: tuple[str, ...]) -> tuple[bool, str, bool, int]:
        """For the caller's header names: whether Host goes first, the default lines after theirs, whether the
        last of them is Content-Length (its value follows), and how many lines that adds. Remembered per tuple of
        names: a run's requests carry a few such tuples."""
        added = self._added_for.get(names)
        if added is None:
            given = {name.lower() for name in names}
            defaults = [line for name, line in (("user-agent", f"User-Agent: {self._user_agent}\r\n"),
                                                ("accept-encoding", "Accept-Encoding: identity\r\n"),
                                                ("content-length", "Content-Length: ")) if name not in given]
            host_first = "host" not in given
            added = (host_first, "".join(defaults), "content-length" not in given, host_first + len(defaults))
            if len(self._added_for) >= _TARGETS_CACHED:
                self._added_for.clear()
            self._added_for[names] = added
        return added

    def _head(self, method: str, target: _Target, body: bytes, headers: Mapping[str, str]) -> bytes | str:
        """The request's head, or why it cannot be sent (a header holding CR, LF or NUL: header injection)."""
        lines = [f"{name}: {value}\r\n" for name, value in headers.items()]
        host_first, tail, length_last, count = self._added(tuple(headers))
        if target.authorization is not None:
            if any(name.lower() == "authorization" for name in headers):
                return AUTH_CONFLICT_ERROR
            lines.append(f"Authorization: {target.authorization}\r\n")
            count += 1
        if host_first:
            lines.insert(0, f"Host: {target.host_header}\r\n")
        if length_last:
            lines.append(f"{tail}{len(body)}\r\n")
        elif tail:
            lines.append(tail)
        fields = "".join(lines)
        count += len(headers)  # lines, each ending in one CR LF: any other CR or LF (or a NUL) is the caller's
        if fields.count("\n") != count or fields.count("\r") != count or "\x00" in fields:
            return INJECTION_ERROR
        return f"{method} {target.path} HTTP/1.1\r\n{fields}\r\n".encode()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                   method: str = "POST", keep: int = KEEP_CAP) -> Response:
        """POST `body` to `url` and classify what happened; at most `deadline_s` seconds in total. The contract,
        arguments and outcomes of `HttpTransport.post`."""
        loop, deadlines = self._loop, self._deadlines
        if loop is None or deadlines is None:
            raise HarnessError("H1Transport.post used outside 'async with'")
        if not (deadline_s > 0 and math.isfinite(deadline_s)):
            raise UsageError(f"delivery deadline must be a positive number of seconds, got {deadline_s!r}")
        started = time.perf_counter()
        target = self._target(url)
        try:
            head = self._head(method, target, body, headers)
        except UnicodeEncodeError as exc:
            return Response("protocol_error", latency_s=time.perf_counter() - started,
                            error=f"unexpected {one_line(exc)}")
        if isinstance(head, str):
            return Response("protocol_error", latency_s=time.perf_counter() - started, error=head)
        data = head + body
        pool = self._pools.get(target.key)
        if pool is None:
            pool = self._pools[target.key] = _Pool(self.concurrency, self._keep_set)
        exchange = _Exchange(loop.create_future())
        deadlines.arm(exchange, deadline_s)
        conn: _Conn | None = None
        stale_retried = False
        try:
            # a connection: an idle one, a new one in a free slot, or the next one freed
            fresh = False
            while pool.idle:
                candidate = pool.idle.pop()
                if candidate.usable:
                    conn = candidate
                    break
                candidate.abort()  # closing (an unasked byte arrived): its connection_lost will find it gone
                pool.free_slot()
            if conn is None:
                if pool.count < pool.limit:
                    pool.count += 1
                else:
                    pool.waiters.append(exchange.waiter)
                    try:
                        got = await exchange.waiter
                    except BaseException:
                        _give_back(pool, exchange.waiter)
                        raise
                    if got is _EXPIRED:
                        return self._timed_out(exchange, None, deadline_s, keep, started, stale_retried)
                    if isinstance(got, _Conn):
                        conn = got
                    exchange.waiter = loop.create_future()
                fresh = conn is None
            while True:
                if fresh:
                    opened = await self._open(loop, pool, target, exchange, deadline_s)
                    if isinstance(opened, Response):
                        opened.latency_s = time.perf_counter() - started
                        opened.stale_retried = stale_retried
                        return opened
                    conn = opened
                assert conn is not None
                exchange.conn = conn
                exchange.connected = True
                waiter = exchange.waiter
                conn.begin(waiter, data, max(READ_CAP, keep), method == "HEAD")
                got = await waiter
                if got is conn:
                    break
                if got is _EXPIRED:
                    return self._timed_out(exchange, conn, deadline_s, keep, started, stale_retried)
                if got == "stale" and not stale_retried:
                    # a reused connection the server had closed: once more on a fresh one, in the same slot
                    stale_retried = True
                    self.stale_retries += 1
                    pool.conns.discard(conn)
                    exchange.conn = conn = None
                    exchange.connected = False
                    exchange.waiter = loop.create_future()
                    fresh = True
                    continue
                response = self._partial(conn, "protocol_error" if got == "protocol" else "reset", conn.error,
                                         keep, started, stale_retried)
                conn.abort()
                pool.release(conn)
                conn = None
                return response
            status = conn.status
            assert status is not None
            outcome = status_outcome(status)
            raw_retry_after = conn.retry_after
            buf = conn.body
            response = Response(
                outcome, status,
                parse_retry_after(raw_retry_after, self._now()) if raw_retry_after is not None else None,
                conn.headers, bytes(buf if len(buf) <= keep else buf[:keep]), time.perf_counter() - started,
                f"unexpected final status {status}" if outcome == "protocol_error" else None, stale_retried)
            pool.release(conn)
            conn = None
            return response
        except BaseException:
            # the caller's cancellation (Ctrl-C) or a bug: the connection in use is closed, its slot freed
            if conn is not None:
                conn.abort()
                pool.release(conn)
            raise
        finally:
            deadlines.disarm(exchange)

    async def _open(self, loop: asyncio.AbstractEventLoop, pool: _Pool, target: _Target, exchange: _Exchange,
                    deadline_s: float) -> _Conn | Response:
        """A new connection in a slot this request holds, or the Response its failure or deadline gives (and the
        slot freed)."""
        connect = loop.create_task(loop.create_connection(
            lambda: _Conn(pool), target.connect_host, target.port,
            ssl=self._ssl if target.tls else None,
            server_hostname=target.connect_host.rstrip(".") if target.tls else None))
        self._connecting.add(connect)
        waiter = exchange.waiter

        def done(task: asyncio.Task[tuple[asyncio.BaseTransport, _Conn]]) -> None:
            self._connecting.discard(task)
            if not waiter.done():
                waiter.set_result(task)
            elif not task.cancelled() and task.exception() is None:
                task.result()[1].abort()  # connected after its request gave up

        connect.add_done_callback(done)
        try:
            got = await waiter
        except BaseException:  # the caller's cancellation
            connect.cancel()
            if connect.done() and not connect.cancelled() and connect.exception() is None:
                connect.result()[1].abort()
            pool.free_slot()
            raise
        exchange.waiter = loop.create_future()
        if got is _EXPIRED:
            connect.cancel()
            pool.free_slot()
            return Response("timeout_connect",
                            error=timeout_error(False, deadline_s))
        assert got is connect
        exc = connect.exception()
        if exc is not None:
            pool.free_slot()
            outcome, error = _connect_failure(exc, target)
            return Response(outcome, error=error)
        conn = connect.result()[1]
        if conn.closed:  # closed between the handshake and here: a reset before the request
            pool.free_slot()
            return Response("reset", error="ServerDisconnectedError: Server disconnected")
        return conn

    def _timed_out(self, exchange: _Exchange, conn: _Conn | None, deadline_s: float, keep: int, started: float,
                   stale_retried: bool) -> Response:
        if conn is None or not exchange.connected:
            return Response("timeout_connect", latency_s=time.perf_counter() - started, stale_retried=stale_retried,
                            error=timeout_error(False, deadline_s))
        response = self._partial(conn, "timeout_total", timeout_error(True, deadline_s),
                                 keep, started, stale_retried)
        conn.abort()
        conn.pool.release(conn)
        return response

    def _partial(self, conn: _Conn, outcome: str, error: str | None, keep: int, started: float,
                 stale_retried: bool) -> Response:
        """A failed request's Response with whatever of the answer arrived (status, headers, body read so far)."""
        raw = conn.retry_after
        return Response(outcome, conn.status, parse_retry_after(raw, self._now()) if raw is not None else None,
                        conn.headers, bytes(conn.body[:keep]), time.perf_counter() - started, error, stale_retried)


def _give_back(pool: _Pool, waiter: asyncio.Future[object]) -> None:
    """A pool waiter's caller was cancelled: what the pool had handed it in the meantime goes back."""
    if waiter.done() and not waiter.cancelled():
        got = waiter.result()
        if isinstance(got, _Conn):
            pool.release(got)
        elif got is _OPEN:
            pool.free_slot()


def _connect_failure(exc: BaseException, target: _Target) -> tuple[str, str]:
    """The outcome of a connection that could not be made: HttpTransport's classes for the same failures."""
    line = one_line(exc)
    verify = verify_failure(exc)
    if verify is not None:
        return "tls_error", verify
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls_error", line
    if target.tls and isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return "tls_error", handshake_closed(line)
    where = f"Cannot connect to host {target.host_header}"
    if isinstance(exc, OSError) and exc.errno in RESET_ERRNOS:
        return "reset", one_line(ConnectionError(f"{where} [{exc.strerror or exc}]"))
    if isinstance(exc, OSError):  # refused, unreachable, DNS failure, several addresses all failing
        return "conn_refused", one_line(ConnectionError(f"{where} [{exc.strerror or exc}]"))
    return "protocol_error", f"unexpected {line}"
