"""/api/socket at scale, with real sockets: a thousand aiohttp WebSocket clients on one server each receive a
pushed frame; a client that never reads keeps a bounded queue and write buffer while its drop counter rises and
the clients that read get every frame; the server's memory does not grow with what the stalled client misses."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import tracemalloc
from typing import Any

import aiohttp
import orjson
import pytest

from simulator.scenario.model import Rate
from simulator.servers.traccar import TraccarServer
from simulator.servers.traccar.fanout import WRITE_BUFFER_BYTES

from .support import serving
from .test_rest import LOGIN

STILL = Rate("factor", 0.01)  # the world stands still: frames come only when a test pushes them
CLIENTS = 1000


def _ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/api/socket"


async def _session_cookie(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(f"{url}/api/session", data=LOGIN) as response:
        assert response.status == 200
        return response.cookies["JSESSIONID"].value


async def _text(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> Any:
    message = await asyncio.wait_for(ws.receive(), timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


def _position(number: int) -> bytes:
    return orjson.dumps({"positions": [{"id": number, "deviceId": 1, "fixTime":
                                        f"2026-09-21T08:{number // 60 % 60:02d}:{number % 60:02d}.000+00:00",
                                        "latitude": 48.2, "longitude": 16.37}]})


async def test_a_thousand_clients_on_one_server_each_receive_a_pushed_frame() -> None:
    async with serving(rate=STILL) as server:
        cookie = await _session_cookie(server.url)
        connector = aiohttp.TCPConnector(limit=0)  # upgraded sockets keep their connection: no pool limit
        async with aiohttp.ClientSession(connector=connector, headers={"Cookie": f"JSESSIONID={cookie}"}) as http:
            sockets: list[aiohttp.ClientWebSocketResponse] = []
            try:
                for _ in range(CLIENTS // 100):  # in steps, inside the listen backlog
                    sockets += await asyncio.gather(*(http.ws_connect(_ws_url(server.url)) for _ in range(100)))
                firsts = await asyncio.gather(*(_text(ws) for ws in sockets))
                assert all(list(first) == ["positions"] for first in firsts)
                assert server.state.hub.stats().clients == CLIENTS
                server.player.play(_position(1))  # through the world, as the scenario's frames go
                pushed = await asyncio.gather(*(_text(ws) for ws in sockets))
                assert [frame["positions"][0]["id"] for frame in pushed] == [1] * CLIENTS
                stats = server.state.hub.stats()
                assert (stats.clients, stats.dropped, stats.queued) == (CLIENTS, 0, 0)
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets))


async def _stalled_client(server: TraccarServer, cookie: str) -> socket.socket:
    """A WebSocket client that completes the upgrade and then never reads again, with a small receive buffer
    (so that the kernel does not absorb megabytes on its behalf)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = server.url.removeprefix("http://").split(":")
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (f"GET /api/socket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                                   f"Cookie: JSESSIONID={cookie}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # byte by byte: nothing past the response head is read
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_a_client_that_never_reads_loses_frames_not_memory_and_delays_no_one(
        caplog: pytest.LogCaptureFixture) -> None:
    limit, batches, per_batch = 64, 200, 50  # a batch fits a queue: the readers lose nothing
    async with serving(rate=STILL, queue_limit=limit) as server:
        hub = server.state.hub
        cookie = await _session_cookie(server.url)
        stalled = await _stalled_client(server, cookie)
        async with asyncio.timeout(5):
            while not hub.clients:
                await asyncio.sleep(0.01)
        (slow,) = hub.clients
        async with aiohttp.ClientSession(headers={"Cookie": f"JSESSIONID={cookie}"}) as http:
            readers = [await http.ws_connect(_ws_url(server.url)) for _ in range(3)]
            for ws in readers:
                await _text(ws)
            frame = b'{"positions":[{"id":%d,"attributes":{"pad":"' + b"x" * 2000 + b'"}}]}'
            received = [0 for _ in readers]  # counts, checked in order as they come (lists would grow memory)
            out_of_order: list[tuple[int, int]] = []

            async def read(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
                async for message in ws:
                    number = json.loads(message.data)["positions"][0]["id"]
                    if number != received[index]:
                        out_of_order.append((received[index], number))
                    received[index] += 1

            tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(readers)]
            tracemalloc.start()
            try:
                baseline = tracemalloc.get_traced_memory()[0]
                deepest = 0
                for batch in range(batches):
                    for n in range(batch * per_batch, (batch + 1) * per_batch):
                        hub.publish((frame % n).decode())
                        deepest = max(deepest, len(slow.queue))
                    async with asyncio.timeout(10):  # the readers keep up: the publisher waits for them
                        while min(received) < (batch + 1) * per_batch:
                            await asyncio.sleep(0.001)
                    if batch == batches // 2:
                        halfway = tracemalloc.get_traced_memory()[0]
                grown = tracemalloc.get_traced_memory()[0] - halfway
                total = tracemalloc.get_traced_memory()[0] - baseline
            finally:
                tracemalloc.stop()
            published = batches * per_batch  # 10,000 frames of ~2 kB: 20 MB the stalled client never took
            assert received == [published] * len(readers) and out_of_order == []  # every frame, in order, to each
            assert deepest <= limit and len(slow.queue) <= limit
            # nearly all of it dropped and counted: what was sent is what the kernel's socket buffers took (a few MB
            # on loopback, outside the server's memory)
            assert slow.dropped > published - limit - 3000, (slow.sent, slow.dropped)
            assert slow.sent + slow.dropped + len(slow.queue) in (slow.offered, slow.offered - 1)  # one on the wire
            assert hub.stats().dropped == slow.dropped and hub.stats().deepest <= limit
            assert 0 < slow.buffered <= 2 * WRITE_BUFFER_BYTES + len(frame)
            # the second half (5,000 frames, 10 MB) left the server's memory where it was; 1 MB over the whole run
            # covers the queues and the write buffer
            assert grown < 256 * 1024, grown
            assert total < 1024 * 1024, total
            for task in tasks:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in readers))
        dropped = slow.dropped
        stalled.close()
        async with asyncio.timeout(5):  # the server sees it gone and says what it lost
            while slow in hub.clients:
                await asyncio.sleep(0.01)
    closing = [r.getMessage() for r in caplog.records if r.name == "fleetsim.serve.socket"]
    assert len(closing) == 1 and f"{dropped} dropped from its full queue (bound {limit} frames)" in closing[0]


async def test_frames_written_once_for_all_clients_read_back_whole_at_every_length() -> None:
    # the three lengths a frame header can carry (RFC 6455 §5.2: 7 bits, 16 bits, 64 bits), to real clients
    texts = ['{"n":"' + "x" * size + '"}' for size in (0, 118, 119, 500, 65_527, 65_528, 200_000)]
    async with serving(rate=STILL) as server:
        cookie = await _session_cookie(server.url)
        async with aiohttp.ClientSession(headers={"Cookie": f"JSESSIONID={cookie}"}) as http:
            readers = [await http.ws_connect(_ws_url(server.url), max_msg_size=0) for _ in range(2)]
            for ws in readers:
                await _text(ws)
            for text in texts:
                server.state.hub.publish(text)
            for ws in readers:
                got = [(await asyncio.wait_for(ws.receive(), 10)).data for _ in texts]
                assert got == texts
                await ws.close()
