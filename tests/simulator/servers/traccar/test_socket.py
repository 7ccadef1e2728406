"""/api/socket of `fleetsim serve` with a real aiohttp WebSocket client: who may open it, what comes first,
keepalives per profile, stale fixes never pushed, bounded queues for slow clients, and 1001 on stop."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from simulator.scenario.model import Rate
from simulator.servers.traccar import start_traccar_server, stop_traccar_server
from simulator.servers.traccar.fanout import Hub, text_frame
from simulator.servers.traccar.live import LiveWorld
from simulator.servers.traccar.socket import CREATOR_FAILED_STATUS, NO_SESSION_STATUS

from .support import DEMO_TOKEN, scenario, serving
from .test_rest import LOGIN

#: the world stands still during a test (its first fix is 40 s away): frames come only when a test plays them
STILL = Rate("factor", 0.01)


def _ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/api/socket"


async def _logged_in(url: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{url}/api/session", data=LOGIN) as response:
        assert response.status == 200
    return http


async def _frames(ws: aiohttp.ClientWebSocketResponse, count: int, timeout: float = 10.0) -> list[Any]:
    out: list[Any] = []
    async with asyncio.timeout(timeout):
        while len(out) < count:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            out.append(json.loads(message.data))
    return out


async def test_the_upgrade_is_refused_without_a_session() -> None:
    async with serving() as server, aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_ws_url(server.url))
        assert refused.value.status == NO_SESSION_STATUS == 503
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # no ?token= before 6.2
            await http.ws_connect(_ws_url(server.url), params={"token": DEMO_TOKEN})
        assert refused.value.status == 503
        http.cookie_jar.update_cookies({"JSESSIONID": "made-up"})
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_ws_url(server.url))
        assert refused.value.status == 503


async def test_after_logout_the_session_opens_no_socket() -> None:
    async with serving(rate=STILL) as server:
        http = await _logged_in(server.url)
        async with http:
            async with http.ws_connect(_ws_url(server.url)) as ws:
                await _frames(ws, 1)
            async with http.delete(f"{server.url}/api/session") as response:
                assert response.status == 204
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(_ws_url(server.url))
            # 4.12 unboxes the logged-out session's null user id: a NullPointerException, 500
            assert refused.value.status == CREATOR_FAILED_STATUS == 500
    async with serving(profile="traccar-6", rate=STILL) as server, aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_ws_url(server.url), params={"token": "wrong"})
        assert refused.value.status == 500  # LoginService fails on a bad token
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_ws_url(server.url))
        assert refused.value.status == 503


async def test_a_plain_get_is_405_and_a_token_opens_it_under_6() -> None:
    async with serving(profile="traccar-6", rate=STILL) as server, aiohttp.ClientSession() as http:
        async with http.get(_ws_url(server.url).replace("ws://", "http://"), params={"token": DEMO_TOKEN}) as r:
            assert r.status == 405
        async with http.ws_connect(_ws_url(server.url), params={"token": DEMO_TOKEN}) as ws:
            first = (await _frames(ws, 1))[0]
        assert list(first) == ["positions"]


async def test_first_the_latest_positions_then_the_world_as_it_advances() -> None:
    async with serving() as server:
        await asyncio.sleep(0.5)  # the bikes have reported
        http = await _logged_in(server.url)
        async with http, http.ws_connect(_ws_url(server.url)) as ws:
            frames = await _frames(ws, 30)
        first = frames[0]
        assert list(first) == ["positions"]
        assert {p["deviceId"] for p in first["positions"]} == {1, 2}
        for frame in frames[1:]:
            assert len(frame) == 1 and len(next(iter(frame.values()))) == 1  # one key, one object (AsyncSocket)
        assert {next(iter(f)) for f in frames[1:]} >= {"devices", "positions"}
        assert "{}" not in [json.dumps(f) for f in frames]  # 4.12 has no keepalive


async def test_keepalives_where_the_profile_has_them() -> None:
    async with serving(profile="traccar-6", rate=STILL, keepalive_s=0.1) as server:
        http = await _logged_in(server.url)
        async with http, http.ws_connect(_ws_url(server.url)) as ws:
            frames = await _frames(ws, 6, timeout=5)
        assert frames.count({}) >= 3
    async with serving(rate=STILL) as server:
        http = await _logged_in(server.url)
        async with http, http.ws_connect(_ws_url(server.url)) as ws:
            await _frames(ws, 1)
            with pytest.raises(TimeoutError):  # the world stands still, and 4.12 sends no {}
                await _frames(ws, 1, timeout=0.6)


async def test_a_position_older_than_the_last_fix_is_never_pushed() -> None:
    def position(number: int, hour: int) -> dict[str, Any]:
        return {"id": number, "deviceId": 1, "fixTime": f"2026-09-21T{hour:02d}:00:00.000+00:00"}

    async with serving(rate=STILL) as server:
        world = server.state.world
        http = await _logged_in(server.url)
        async with http, http.ws_connect(_ws_url(server.url)) as ws:
            assert (await _frames(ws, 1))[0] == {"positions": []}
            for number, hour in ((1, 9), (2, 6), (3, 10)):  # the second is older than the first
                server.player.play(orjson.dumps({"positions": [position(number, hour)]}))
            pushed = await _frames(ws, 2)
            with pytest.raises(TimeoutError):
                await _frames(ws, 1, timeout=0.3)
        assert [f["positions"][0]["id"] for f in pushed] == [1, 3]
        assert world.held_back == 1 and world.latest[1]["id"] == 3
        assert [p["id"] for p in world.history[1]] == [1, 2, 3]  # stored all the same, for history asks


def test_the_live_world_keeps_a_bounded_history() -> None:
    world = LiveWorld(history=3, max_events=2)
    for n in range(10):
        time = f"2026-09-21T07:00:{n:02d}.000+00:00"
        assert world.apply({"positions": [{"id": n, "deviceId": 1, "fixTime": time}]})
        world.apply({"events": [{"id": n, "deviceId": 1, "type": "alarm", "serverTime": time}]})
    assert [p["id"] for p in world.history[1]] == [7, 8, 9]
    assert list(world.events) == [8, 9]


def test_a_slow_client_loses_its_oldest_frames_never_memory() -> None:
    hub = Hub(limit=4)
    client = hub.join(web.WebSocketResponse())  # never pumped: a client that reads nothing
    other = hub.join(web.WebSocketResponse())
    for n in range(10):
        hub.publish(f'{{"n":{n}}}')
        assert len(client.queue) <= 4
    assert list(client.queue) == [text_frame(b'{"n":%d}' % n) for n in (6, 7, 8, 9)]
    assert client.dropped == other.dropped == 6 and hub.dropped == 12


async def test_stopping_the_server_closes_sockets_going_away() -> None:
    async with serving(rate=STILL) as server:
        http = await _logged_in(server.url)
        ws = await http.ws_connect(_ws_url(server.url))
        await _frames(ws, 1)
    async with asyncio.timeout(5):
        message = await ws.receive()
    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001
    await ws.close()
    await http.close()


async def test_a_client_that_stopped_reading_holds_up_neither_memory_nor_the_stop() -> None:
    server = await start_traccar_server(scenario(), rate=Rate("max"), queue_limit=8)
    http = await _logged_in(server.url)
    try:
        ws = await http.ws_connect(_ws_url(server.url))  # never read from: its close frame is never answered
        await asyncio.wait_for(server.task, 30)  # the whole scenario played into it
        (client,) = server.state.hub.clients
        assert len(client.queue) <= 8
        assert client.dropped > 0
        # every frame meant for it (the initial state, then every one pushed since it joined) was sent, dropped,
        # is queued, or is being written at this moment
        accounted = client.sent + client.dropped + len(client.queue)
        assert client.offered - 1 <= accounted <= client.offered
        started = time.monotonic()
        await stop_traccar_server(server)
        assert time.monotonic() - started < 3.0
    finally:
        await ws.close()
        await http.close()


async def test_an_idle_socket_is_closed_unless_the_client_pings() -> None:
    async with serving(rate=STILL, idle_timeout_s=0.4) as server:
        http = await _logged_in(server.url)
        async with http:
            async with http.ws_connect(_ws_url(server.url)) as quiet:
                await _frames(quiet, 1)
                async with asyncio.timeout(3):
                    message = await quiet.receive()
                assert message.type == aiohttp.WSMsgType.CLOSE
                assert (message.data, message.extra) == (1001, "Idle Timeout")
            async with http.ws_connect(_ws_url(server.url), autoping=False) as pinging:
                await _frames(pinging, 1)
                for _ in range(6):  # 1.2 s, three idle timeouts, kept open by pings (aiobiketrax pings)
                    await pinging.ping()
                    async with asyncio.timeout(1):
                        assert (await pinging.receive()).type == aiohttp.WSMsgType.PONG
                    await asyncio.sleep(0.2)
                assert not pinging.closed
    async with serving(profile="traccar-6", rate=STILL, idle_timeout_s=0.4, keepalive_s=0.1) as server:
        http = await _logged_in(server.url)
        async with http, http.ws_connect(_ws_url(server.url)) as kept:
            frames = await _frames(kept, 12, timeout=3)  # 1.1 s of keepalives: writes count as activity
            assert frames[1:] == [{}] * 11
