"""`fleetsim serve`'s APIs report a sender's protocol mistakes as the reference receiver does (protocol_log.py): a
header line aiohttp cannot parse and a client gone mid-body are one INFO line each, with no traceback and nothing
of the request quoted — an over-long `Authorization: Bearer <token>` line once reached stderr with the token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from .drivers.support import MANAGE
from .drivers.support import serving as drivers_serving
from .smartgps.support import serving as smartgps_serving
from .traccar.support import serving as traccar_serving

TOKEN = MANAGE["Authorization"].removeprefix("Bearer ")
#: (server, a request line whose handler reads the body)
SERVERS: dict[str, tuple[Callable[[], Any], str]] = {
    "traccar": (traccar_serving, "POST /api/session"),
    "smartgps": (smartgps_serving, "POST /auth/token"),
    "drivers": (drivers_serving, "PUT /drivers/01hk153zxrckttnqf5agkd1r6q/settings"),
}


@contextlib.asynccontextmanager
async def _served(name: str) -> AsyncIterator[tuple[str, int]]:
    serving, _ = SERVERS[name]
    async with serving() as served:
        server: Any = getattr(served, "server", served)
        parts = urlsplit(server.url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


async def _raw(host: str, port: int, data: bytes, *, answer: bool) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        if not answer:
            return b""
        return await asyncio.wait_for(reader.read(200), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.parametrize("name", SERVERS)
async def test_an_over_long_credential_header_is_one_line_without_the_credential(
        name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with _served(name) as (host, port):
        head = (f"GET / HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN} {'x' * 9000}\r\n\r\n").encode()
        answer = await _raw(host, port, head, answer=True)
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    assert TOKEN not in caplog.text and "xxxx" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], caplog.text
    assert "unparsable HTTP request" in caplog.text


@pytest.mark.parametrize("name", SERVERS)
async def test_a_client_gone_mid_body_is_one_line_without_a_traceback(
        name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _, request_line = SERVERS[name]
    async with _served(name) as (host, port):
        head = (f"{request_line} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Authorization: {MANAGE['Authorization']}\r\nContent-Length: 1000\r\n\r\nemail=a").encode()
        await _raw(host, port, head, answer=False)
        for _ in range(50):  # the server notices the closed connection on its next read
            if "closed the connection" in caplog.text:
                break
            await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    assert TOKEN not in caplog.text
