"""Small raw ASGI and WSGI apps that each do one odd thing, for the in-process sender's tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
StartResponse = Callable[..., Any]
BIG_CHUNKS = 1000  # 1000 x 1 KiB: far past READ_CAP
chunks_served = 0  # how many chunks big_wsgi produced (the cap must stop it early)
started = False  # with_lifespan's startup ran


async def _answer(send: Send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def raising(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        raise RuntimeError("database is locked")


async def slow_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await asyncio.sleep(5)
        await _answer(send, 200)


async def limited(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _answer(send, 429, b"slow down", [(b"retry-after", b"7"), (b"x-other", b"dropped")])


async def redirect(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _answer(send, 302, headers=[(b"location", b"http://elsewhere.invalid/")])


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 with the method, path and headers it got (no lifespan support: it asserts http)."""
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    heads = b"\n".join(k + b": " + v for k, v in scope["headers"])
    await _answer(send, 200, scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + heads + b"\n\n" + body)


async def with_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 only after its lifespan startup ran, 503 before."""
    global started
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                started = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                started = False
                await send({"type": "lifespan.shutdown.complete"})
                return
    await _answer(send, 200 if started else 503)


async def failing_startup(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "cannot reach the database"})
        raise RuntimeError("cannot reach the database")


def slow_wsgi(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    time.sleep(1.0)
    start_response("200 OK", [])
    return [b""]


def raising_wsgi(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    raise KeyError("event_id")


def big_wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    global chunks_served
    start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(BIG_CHUNKS):
        chunks_served += 1
        yield b"x" * 1024


def create_app() -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    """A factory (MODULE:create_app()) returning a WSGI app."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    return app


not_an_app = 42


async def exiting(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        raise SystemExit(0)  # sys.exit() in a handler: it once ended `fleetsim check` with exit 0


def exiting_wsgi(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    raise SystemExit(0)


async def exiting_startup(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        raise SystemExit(0)


def stuck_wsgi(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Never answers: a WSGI call cannot be cancelled, its thread sleeps on after fleetsim stops."""
    time.sleep(3600)
    start_response("200 OK", [])
    return [b""]


async def loop_blocking(scope: Scope, receive: Receive, send: Send) -> None:
    """Blocks the event loop it runs on (a sync call in an async handler): no signal handler of the loop runs."""
    if scope["type"] == "http":
        time.sleep(3600)
        await _answer(send, 200)
