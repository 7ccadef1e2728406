"""Connection deadlines for fleetsim's servers (the reference receiver, `fleetsim serve`'s APIs): the defence
against slowloris and slow POST (catalogue LIM-06).

aiohttp bounds the size of a request head but not the time a client may take to send it, so a client that
trickles its headers a byte at a time holds a connection (and a file descriptor) for as long as it likes.
This module adds the missing deadline without touching aiohttp's classes: `GuardedSite` listens like
`web.TCPSite` but wraps every aiohttp protocol in a `_GuardedConnection`, which forwards everything to it and
keeps one timer. The timer runs while the connection waits for a request head (from when the connection
opens, and from when the previous response was sent) and is stopped by the `track_requests` middleware when a
request reaches the application. When it fires, the connection is closed, with a 408 if part of a head came.
With a body timeout, a second timer runs from the head until the request's body has arrived whole (whether or
not the handler has read it yet): a body still trickling then gets a 408 and the connection is closed. The
reference receiver reads its bodies under its own deadline and answers in its own shape, so it sets none here.

No aiohttp class is patched or replaced. What is used: `web.BaseSite` and the `_runner`, `_server` and
`_backlog` attributes it gives every site, the runner's `server` as the protocol factory, middlewares and
`request.transport`. The one assumption about aiohttp's behaviour is that a request's handler and the writing
of its response run in one task (so in 3.9.5 and 3.14.5, both tested; pyproject.toml keeps aiohttp below 4). If
that ever changes, aiohttp's own keep-alive timer (set as a backstop in `simulator.cli.receiver_cmd`) still
closes idle connections, only later and without the 408.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import cast

import orjson
from aiohttp import StreamReader, web
from yarl import URL

__all__ = ["HEADER_TIMEOUT_S", "MAX_CONNECTIONS", "ConnectionGuard", "GuardedSite", "track_requests"]

log = logging.getLogger("fleetsim.receiver")

#: seconds a client has to send a whole request head. CIS benchmarks ask for at most 40 s (Apache) and show
#: 10 s (nginx); providers send a few hundred bytes of headers at once, so 10 s is generous (LIM-06).
HEADER_TIMEOUT_S = 10.0
#: open connections at most: kept below the usual 1024 file descriptors per process, so a flood of
#: connections is refused at the door instead of leaving the database without a descriptor to open.
MAX_CONNECTIONS = 1000

_BODY = orjson.dumps({"status": "rejected", "error": "header_timeout",
                      "message": "the request head did not arrive in time"})
_REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BODY), _BODY))
_SLOW_BODY = orjson.dumps({"status": "rejected", "error": "body_timeout",
                           "message": "the request body did not arrive in time"})
_BODY_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_SLOW_BODY), _SLOW_BODY))


class ConnectionGuard:
    """The deadlines of one listening socket, the connections it has open and what it closed."""

    def __init__(self, header_timeout_s: float = HEADER_TIMEOUT_S, max_connections: int | None = MAX_CONNECTIONS,
                 body_timeout_s: float | None = None):
        if not 0 < header_timeout_s < float("inf"):
            raise ValueError(f"header_timeout_s must be a positive number of seconds, got {header_timeout_s}")
        if body_timeout_s is not None and not 0 < body_timeout_s < float("inf"):
            raise ValueError(f"body_timeout_s must be a positive number of seconds, got {body_timeout_s}")
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        self.body_timeout_s = body_timeout_s
        self.open: set[_GuardedConnection] = set()
        self.header_timeouts = 0  # answered 408: part of a request head came, not all of it
        self.body_timeouts = 0  # answered 408: a head came, its body did not arrive whole in time
        self.idle_closed = 0  # closed quietly: nothing of a request came
        self.refused = 0  # closed on arrival: max_connections were open

    def protocol_factory(self, make_protocol: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Wrap the protocols `make_protocol` makes (aiohttp's `runner.server`) so their connections are guarded."""
        return lambda: _GuardedConnection(self, make_protocol())

    def admit(self, conn: _GuardedConnection) -> bool:
        if self.max_connections is not None and len(self.open) >= self.max_connections:
            if not self.refused:
                log.warning("%d connections are open: refusing new ones until some close", len(self.open))
            self.refused += 1
            return False
        self.open.add(conn)
        return True


class _GuardedConnection(asyncio.Protocol):
    """Stands between the transport and aiohttp's protocol: forwards every event, and closes the connection when
    a request head is late. The transport's `get_protocol()` is this object, which is how the middleware finds it.
    """

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._admitted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._partial = False  # bytes came while waiting for a head: a request has begun
        self._handling = 0  # requests between the application seeing them and their response being sent

    # --- asyncio.Protocol: forwarded to aiohttp ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        if not self._guard.admit(self):
            self._transport.close()  # aiohttp never hears of this connection
            return
        self._admitted = True
        self._wait_for_head()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if self._deadline is not None:
            self._partial = True
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self._stop_body_timer()
        self._transport = None
        self._guard.open.discard(self)
        if self._admitted:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    # --- the deadline ---

    def request_started(self, body: StreamReader) -> None:
        self._stop_timer()
        self._handling += 1
        timeout_s = self._guard.body_timeout_s
        if timeout_s is not None and not body.is_eof():  # is_eof: the parser has the whole body, read or not
            self._stop_body_timer()  # (a pipelined request's body: the previous one's had arrived)
            self._body_deadline = asyncio.get_running_loop().call_later(timeout_s, self._body_expired, body)

    def response_sent(self, close: bool) -> None:
        self._handling -= 1
        self._stop_body_timer()  # answered: whatever is left of the body aiohttp drains or drops itself
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if close:
            # aiohttp would go on reading ("lingering") for up to 10 s to drain the body of a request it
            # answered early; after a 408 that body is the slow-POST trickle itself, so close at once (LIM-06)
            transport.close()
        elif not self._handling:
            self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._stop_timer()
        self._partial = False
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.header_timeout_s, self._expire)

    def _stop_timer(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _stop_body_timer(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_expired(self, body: StreamReader) -> None:
        self._body_deadline = None
        transport = self._transport
        if transport is None or transport.is_closing() or body.is_eof():
            return
        # the handler may be waiting on this body: closing the connection ends its read (aiohttp then drops
        # whatever response it makes), and the 408 written first tells the client why (LIM-06)
        transport.write(_BODY_TIMEOUT)
        self._guard.body_timeouts += 1
        log.info("408 body_timeout from %s: the request body did not arrive within %g s",
                 _peer(transport), self._guard.body_timeout_s)
        transport.close()

    def _expire(self) -> None:
        self._deadline = None
        transport = self._transport
        if transport is None or transport.is_closing() or self._handling:
            return
        if self._partial:
            transport.write(_REQUEST_TIMEOUT)
            self._guard.header_timeouts += 1
            log.info("408 header_timeout from %s: no complete request head within %g s",
                     _peer(transport), self._guard.header_timeout_s)
        else:
            # Nothing of a request came: this is an idle connection (a pool's spare, or kept alive after a
            # response). An unsolicited 408 could be read as the answer to a request the client sends at this
            # very moment; a plain close is the ordinary end of an idle connection, which clients expect.
            self._guard.idle_closed += 1
        transport.close()  # sends what was written, then closes


def _peer(transport: asyncio.Transport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "?"


@web.middleware
async def track_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Tell the connection's guard (if it has one) that a request head arrived, and when its response was sent.

    Must be the outermost middleware. "Sent" is when the task running this middleware ends: aiohttp writes the
    response in the same task, after the middlewares return.
    """
    transport = request.transport
    conn = transport.get_protocol() if transport is not None else None
    if not isinstance(conn, _GuardedConnection):  # served by a plain web.TCPSite: nothing to tell
        return await handler(request)
    conn.request_started(request.content)
    close = False
    try:
        response = await handler(request)
        close = response.status == 408  # the body timed out (or another 408): the client is too slow to keep
        return response
    except web.HTTPException as exc:  # raised rather than returned: aiohttp makes it the response
        close = exc.status == 408
        raise
    finally:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover  (a middleware always runs in a task)
            conn.response_sent(close)
        else:
            task.add_done_callback(lambda _: conn.response_sent(close))


class GuardedSite(web.BaseSite):
    """A TCP listening site, like `web.TCPSite`, whose connections are guarded by `guard`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard, *,
                 backlog: int = 128, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(runner, backlog=backlog, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self.guard = guard

    @property
    def name(self) -> str:
        return str(URL.build(scheme="https" if self._ssl_context else "http", host=self._host, port=self._port))

    async def start(self) -> None:
        await super().start()  # registers the site with the runner, which stops it on cleanup
        server = self._runner.server
        assert server is not None  # BaseSite refuses a runner that was not set up
        loop = asyncio.get_running_loop()
        # over TLS the guard's header deadline starts once the handshake is done; the handshake itself gets the
        # same deadline, so a client that opens a TLS connection and says nothing cannot hold it either
        handshake = self.guard.header_timeout_s if self._ssl_context else None
        self._server = await loop.create_server(self.guard.protocol_factory(server), self._host, self._port,
                                                backlog=self._backlog, ssl=self._ssl_context,
                                                ssl_handshake_timeout=handshake)
