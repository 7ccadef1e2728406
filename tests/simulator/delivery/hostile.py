"""Hostile HTTP receivers for transport tests: raw asyncio TCP servers that misbehave at the byte level.

Each factory returns a `HostileServer`, an async context manager that listens on 127.0.0.1, port 0, and yields its
URL (https when given an `ssl` server context). Leaving the context aborts every connection, cancels and awaits every
handler task and closes the listener, so nothing leaks into the next test. The server object also counts
`connections` and `requests` for assertions.

    async with hostile.trickle() as url:
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

__all__ = [
    "HostileServer",
    "Request",
    "crash_mid_request",
    "error_500",
    "gone",
    "hang",
    "huge_body",
    "keepalive_closer",
    "malformed",
    "ok",
    "read_request",
    "redirect",
    "reset",
    "response",
    "scripted",
    "silent",
    "throttle",
    "trickle",
]

Handler = Callable[["HostileServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

_QUIET = (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    head: bytes = b""  # the request line and headers as they came, up to and with the blank line

    @property
    def wants_close(self) -> bool:
        return self.headers.get("connection", "").lower() == "close"


async def read_head(reader: asyncio.StreamReader) -> Request | None:
    """Read a request line and headers; None on a clean EOF before any byte."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Request(method, target, headers, head=head)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one whole HTTP/1.1 request (Content-Length or chunked body); None on a clean EOF."""
    request = await read_head(reader)
    if request is None:
        return None
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        request.body = b"".join(parts)
    else:
        request.body = await reader.readexactly(int(request.headers.get("content-length", "0")))
    return request


def response(status: int, reason: str, body: bytes = b"", headers: dict[str, str] | None = None,
             *, close: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with an RST instead of a FIN (SO_LINGER on, 0 s)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class HostileServer:
    """A raw TCP/TLS listener on 127.0.0.1:0 running `handler` per connection; yields its URL."""

    def __init__(self, name: str, handler: Handler, *, ssl: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.url = ""
        self.connections = 0
        self.requests = 0
        self.stale_closes = 0  # keepalive_closer: expired connections closed when a request arrived on them
        self.seen: list[Request] = []  # scripted: every request read, in order
        self.client_closes = 0  # scripted, silent: connections the client closed (EOF while the server waited)
        self._handler = handler
        self._ssl = ssl
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    def __repr__(self) -> str:
        return f"<HostileServer {self.name} {self.url or '(stopped)'}>"

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._ssl)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self._ssl else 'http'}://127.0.0.1:{port}/hook"
        return self.url

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in self._writers:
            with contextlib.suppress(Exception):
                writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        await asyncio.sleep(0)  # let the aborted transports run connection_lost
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        self.connections += 1
        try:
            await self._handler(self, reader, writer)
        except _QUIET:
            pass
        except asyncio.CancelledError:
            # only __aexit__ cancels these; ending normally keeps Python 3.11's stream callback from logging it
            pass
        finally:
            self._tasks.discard(task)
            if not writer.is_closing():
                writer.close()


def _responder(name: str, answer: Callable[[HostileServer, Request], bytes], *,
               ssl: ssl.SSLContext | None) -> HostileServer:
    """A well-behaved keep-alive loop whose answers come from `answer`."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            server.requests += 1
            writer.write(answer(server, request))
            await writer.drain()
            if request.wants_close:
                return

    return HostileServer(name, handle, ssl=ssl)


def ok(*, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Always 200 with a small JSON body, keep-alive."""
    return _responder("ok", lambda s, r: response(200, "OK", b'{"ok":true}', {"Content-Type": "application/json"}),
                      ssl=ssl)


def error_500(*, ssl: ssl.SSLContext | None = None) -> HostileServer:
    return _responder("error_500", lambda s, r: response(500, "Internal Server Error", b"boom"), ssl=ssl)


def gone(*, ssl: ssl.SSLContext | None = None) -> HostileServer:
    return _responder("gone", lambda s, r: response(410, "Gone", b"endpoint removed"), ssl=ssl)


def redirect(location: str = "http://127.0.0.1:9/elsewhere", *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """302 to `location` (by default a port where nothing listens, so following it would not be 3xx)."""
    return _responder("redirect", lambda s, r: response(302, "Found", b"", {"Location": location}), ssl=ssl)


def throttle(n: int = 2, retry_after: str = "2", *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """429 with `Retry-After: retry_after` for the first `n` requests (server-wide), then 200."""

    def answer(server: HostileServer, request: Request) -> bytes:
        if server.requests <= n:
            return response(429, "Too Many Requests", b"slow down", {"Retry-After": retry_after})
        return response(200, "OK", b'{"ok":true}')

    return _responder("throttle", answer, ssl=ssl)


def hang(*, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Accepts and reads everything, never answers (also stalls a TLS ClientHello sent to it in plain TCP)."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass

    return HostileServer("hang", handle, ssl=ssl)


def trickle(interval_s: float = 0.5, *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Reverse slowloris: status line and headers (Content-Length 1 MB), then 1 body byte every `interval_s`."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is None:
            return
        server.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n")
        await writer.drain()
        while not reader.at_eof():
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(interval_s)

    return HostileServer("trickle", handle, ssl=ssl)


def huge_body(size: int = 50 * 1024 * 1024, *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """200 with a `size`-byte body streamed in 64 KiB chunks (never held in memory)."""
    chunk = b"x" * 65536

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            server.requests += 1
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n".encode())
            left = size
            while left > 0:
                writer.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
                await writer.drain()
            if request.wants_close:
                return

    return HostileServer("huge_body", handle, ssl=ssl)


def malformed(*, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Answers garbage instead of an HTTP status line, then keeps the connection open until the client leaves."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await read_request(reader) is None:
            return
        server.requests += 1
        writer.write(b"\x00\xffSPLAT this is not http at all\r\nX: y\r\n\r\n")
        await writer.drain()
        while await reader.read(65536):
            pass

    return HostileServer("malformed", handle, ssl=ssl)


def reset(after: Literal["accept", "request"] = "request", *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """RST (SO_LINGER 0) right after accept, or after reading the whole request."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if after == "request":
            if await read_request(reader) is None:
                return
            server.requests += 1
        _rst(writer)

    return HostileServer(f"reset_after_{after}", handle, ssl=ssl)


def crash_mid_request(read_bytes: int = 1024, *, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Reads the headers and `read_bytes` of the body, then dies (the fd is closed with the rest unread)."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_head(reader)
        if request is None:
            return
        server.requests += 1
        length = int(request.headers.get("content-length", "0"))
        await reader.readexactly(min(read_bytes, max(0, length - 1)))
        writer.transport.abort()

    return HostileServer("crash_mid_request", handle, ssl=ssl)


def keepalive_closer(idle_s: float = 0.2, *, race: bool = True, close_with: Literal["fin", "rst"] = "fin",
                     ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Answers 200 with keep-alive, but expires connections idle for more than `idle_s`.

    race=True (default) reproduces the stale keep-alive race deterministically: the idle close is "in flight" when
    the client reuses the connection, i.e. a request arriving on an expired connection is read and answered with a
    FIN (or an RST with close_with="rst") and no response byte (what httpx #327/#2983 and requests #3458
    describe). race=False closes idle
    connections eagerly with a FIN after `idle_s`, which a client notices before reusing them.
    `stale_closes` counts connections closed in the race.
    """

    async def handle(srv: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        answered_at: float | None = None
        while True:
            if race or answered_at is None:
                request = await read_request(reader)
            else:
                try:
                    request = await asyncio.wait_for(read_request(reader), idle_s)
                except TimeoutError:
                    return  # idle: closed by _serve with a FIN
            if request is None:
                return
            if race and answered_at is not None and loop.time() - answered_at > idle_s:
                srv.stale_closes += 1
                if close_with == "rst":
                    _rst(writer)
                return  # otherwise closed by _serve with a FIN; no response byte either way
            srv.requests += 1
            writer.write(response(200, "OK", b'{"ok":true}'))
            await writer.drain()
            answered_at = loop.time()

    return HostileServer("keepalive_closer", handle, ssl=ssl)


def scripted(*answers: bytes, close: bool = False, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Answers the n-th request (server-wide) with the n-th of `answers` as raw bytes (the last one again once
    they run out), keeps every request in `seen`; `close=True` closes each connection after its answer (which
    ends a close-delimited body). Counts the connections the client closed in `client_closes`."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            server.seen.append(request)
            server.requests += 1
            writer.write(answers[min(server.requests, len(answers)) - 1])
            await writer.drain()
            if close:
                return
        server.client_closes += 1

    return HostileServer("scripted", handle, ssl=ssl)


def silent(*, read: bool = True, ssl: ssl.SSLContext | None = None) -> HostileServer:
    """Never answers. `read=False`: does not even read, so a large request body fills the socket buffers and the
    client's write stalls. Counts the connections the client closed in `client_closes` (read=True only)."""

    async def handle(server: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not read:
            await asyncio.Event().wait()  # until the server stops
        while await reader.read(65536):
            pass
        server.client_closes += 1

    return HostileServer("silent", handle, ssl=ssl)
