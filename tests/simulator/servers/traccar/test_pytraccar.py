"""A stock Traccar client from PyPI, unchanged, against `fleetsim serve` under the 4.12 profile: pytraccar 2.x
logs in with Basic auth, reads the server, devices, geofences, positions and events, then opens /api/socket
after its form login and receives live frames (provider-facts §1.7)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from pytraccar import ApiClient, TraccarAuthenticationException

from simulator.scenario.model import Rate

from .support import DEMO_EMAIL, DEMO_PASSWORD, serving

# pytraccar 2.1 uses aiohttp's BasicAuth and `auth=`, which warn that they go in aiohttp 4; the client is used
# as shipped
pytestmark = [pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")]


def _client(url: str, session: aiohttp.ClientSession, password: str = DEMO_PASSWORD) -> ApiClient:
    parts = urlsplit(url)
    return ApiClient(host=str(parts.hostname), port=parts.port, username=DEMO_EMAIL, password=password,
                     client_session=session)


def _session() -> aiohttp.ClientSession:
    # the client's own cookie policy: aiohttp keeps cookies from an IP address only with unsafe=True (a browser
    # would keep them); pytraccar itself is unchanged
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_pytraccar_logs_in_and_reads_every_resource() -> None:
    async with serving() as server, _session() as session:
        await asyncio.sleep(1.0)  # a few frames into the world
        client = _client(server.url, session)
        info = await client.get_server()
        assert info["version"] == "4.12"
        devices = await client.get_devices()
        assert {d["name"] for d in devices} == {"Bike 1", "Bike 2"}
        assert all(d["status"] == "online" and d["category"] == "bicycle" for d in devices)
        positions = await client.get_positions()
        assert {p["deviceId"] for p in positions} == {d["id"] for d in devices}
        assert all(p["protocol"] == "h02" and isinstance(p["latitude"], float) for p in positions)
        fences = await client.get_geofences()
        assert [f["name"] for f in fences] == ["Home"]
        assert fences[0]["area"].startswith("CIRCLE (48.2082 16.3738, 3000")
        # the scenario's times are 2026-09-21 07:00 onwards; pytraccar asks for [now - 30 h, now] by default
        events = await client.get_reports_events(
            devices=[d["id"] for d in devices], start_time=datetime(2026, 9, 22), end_time=datetime(2026, 9, 21))
        assert events, "the bikes' first messages raise events (ignition, moving)"
        assert all("message" not in e["attributes"] for e in events)  # stored events, not the socket copies


async def test_pytraccar_is_refused_with_a_wrong_password() -> None:
    async with serving() as server, _session() as session:
        with pytest.raises(TraccarAuthenticationException):
            await _client(server.url, session, password="wrong").get_devices()


async def test_pytraccar_subscribes_and_receives_live_frames() -> None:
    received: list[dict[str, Any]] = []
    # x240: the bikes' first stop (an event) comes ~20 scenario minutes in, 5 s after the start
    async with serving(rate=Rate("factor", 240)) as server, _session() as session:
        client = _client(server.url, session)

        async def on_frame(data: Any) -> None:
            received.append(dict(data))

        task = asyncio.create_task(client.subscribe(on_frame))
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            kinds = {k for frame in received for k, v in frame.items() if v}
            if {"devices", "positions", "events"} <= kinds and len(received) > 5:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert received, "no frame reached pytraccar"
    first = received[0]
    assert first["positions"] is not None and first["devices"] is None  # the initial state: positions only
    kinds = {k for frame in received for k, v in frame.items() if v}
    assert {"devices", "positions", "events"} <= kinds, kinds
    times = [datetime.fromisoformat(p["fixTime"]).astimezone(UTC) for f in received[1:] for p in f["positions"] or []]
    assert times, "live positions arrived"
