"""Slow clients against `fleetsim serve`'s APIs (catalogue LIM-06), over real sockets with short deadlines.

Each API (Traccar, SmartGPS, the drivers API) listens behind the same connection guard as the reference receiver:
a request head trickled past the header timeout gets a 408 and the connection is closed; so does a body
trickled past the body timeout; an idle connection is closed quietly. What must not be cut: a WebSocket session
or a slow handler whose request arrived whole (send-test-event waiting on a slow endpoint: its test is in
drivers/test_send_test_event.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from simulator.servers.drivers.app import start_drivers_server, stop_drivers_server
from simulator.servers.smartgps.app import start_smartgps_server, stop_smartgps_server
from simulator.servers.timeouts import ConnectionGuard
from simulator.servers.traccar import start_traccar_server, stop_traccar_server

from .drivers.support import MANAGE, OAUTH, demo
from .smartgps.support import scenario as smartgps_scenario
from .test_slowloris import EARLY_S, SLACK_S, trickling, until_closed
from .traccar.support import DEMO_EMAIL, DEMO_PASSWORD
from .traccar.support import scenario as traccar_scenario

#: (API, a request whose head is complete and whose body is announced but sent in part)
SLOW_BODIES = {
    "traccar": b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 200\r\n\r\nemail=",
    "smartgps": b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 200\r\n\r\ngrant_type=",
    "drivers": b"PUT /drivers/01hk153zxrckttnqf5agkd1r6q/settings HTTP/1.1\r\nHost: x\r\n"  # smartgps's
               b"Content-Type: application/json\r\nAuthorization: " + MANAGE["Authorization"].encode()
               + b"\r\nContent-Length: 200\r\n\r\n{",
}


@contextlib.asynccontextmanager
async def api(name: str, guard: ConnectionGuard, **options: Any) -> AsyncIterator[str]:
    """One API on a free port behind `guard`; its base URL."""
    if name == "traccar":
        traccar = await start_traccar_server(traccar_scenario(), guard=guard, **options)
        try:
            yield traccar.url
        finally:
            await stop_traccar_server(traccar)
    elif name == "smartgps":
        smartgps = await start_smartgps_server(smartgps_scenario(), guard=guard, **options)
        try:
            yield smartgps.url
        finally:
            await stop_smartgps_server(smartgps)
    else:
        settings, installed = demo()
        drivers = await start_drivers_server(settings, installed, oauth=OAUTH, guard=guard, **options)
        try:
            yield drivers.url
        finally:
            await stop_drivers_server(drivers)


@contextlib.asynccontextmanager
async def connection(url: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@pytest.mark.parametrize("name", sorted(SLOW_BODIES))
async def test_a_trickled_head_gets_408_and_is_closed_at_the_header_timeout(name: str) -> None:
    guard = ConnectionGuard(0.5, body_timeout_s=5.0)
    async with api(name, guard) as url, connection(url) as (reader, writer):
        start = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        async with trickling([writer], 0.05, for_s=0.3):  # stops before the deadline (see trickling)
            reply, closed = await until_closed(reader, start)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert orjson.loads(body)["error"] == "header_timeout"
    assert 0.5 - EARLY_S <= closed < 0.5 + SLACK_S
    assert (guard.header_timeouts, guard.body_timeouts) == (1, 0)


@pytest.mark.parametrize("name", sorted(SLOW_BODIES))
async def test_a_trickled_body_gets_408_and_is_closed_at_the_body_timeout(name: str) -> None:
    guard = ConnectionGuard(5.0, body_timeout_s=0.5)
    async with api(name, guard) as url, connection(url) as (reader, writer):
        writer.write(SLOW_BODIES[name])
        start = time.monotonic()
        async with trickling([writer], 0.05, for_s=0.3):
            reply, closed = await until_closed(reader, start)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply[:200]
    assert orjson.loads(body)["error"] == "body_timeout"
    # closed with the answer, not after aiohttp's lingering over the rest of a trickle
    assert 0.5 - EARLY_S <= closed < 0.5 + SLACK_S
    assert (guard.header_timeouts, guard.body_timeouts) == (0, 1)


@pytest.mark.parametrize("name", sorted(SLOW_BODIES))
async def test_an_idle_connection_is_closed_quietly(name: str) -> None:
    guard = ConnectionGuard(0.4, body_timeout_s=0.4)
    async with api(name, guard) as url, connection(url) as (reader, _):
        start = time.monotonic()
        reply, closed = await until_closed(reader, start)
    assert reply == b""
    assert 0.4 - EARLY_S <= closed < 0.4 + SLACK_S
    assert guard.idle_closed == 1


async def test_a_traccar_websocket_outlives_both_deadlines() -> None:
    """The socket's request arrived whole: the session is the handler's, however long it lasts."""
    guard = ConnectionGuard(0.3, body_timeout_s=0.3)
    async with api("traccar", guard) as url, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}/api/session", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}) as login:
            assert login.status == 200
        async with http.ws_connect(f"{url}/api/socket", heartbeat=None) as ws:
            await asyncio.sleep(1.0)  # over three header timeouts
            assert not ws.closed
            await ws.ping()
            await asyncio.sleep(0.1)
            assert not ws.closed
        # a kept-alive connection of the same session is still served after the socket
        async with http.get(f"{url}/api/server") as server:
            assert server.status == 200
    assert guard.header_timeouts == guard.body_timeouts == 0
