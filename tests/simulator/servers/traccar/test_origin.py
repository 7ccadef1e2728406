"""Traccar 6.12's session Origin check (provider-facts §1.8), only under a profile whose version has it: a
session whose login carried an Origin authenticates REST and the socket upgrade only for requests without an
Origin or with the same one; a foreign Origin is treated as no session (REST 401, upgrade 503), a `?token=`
socket is not checked. The shipped traccar-6 profile plays 6.6, which has no such check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web

from simulator.servers.traccar import PROFILES
from simulator.servers.traccar.app import build_app, with_settings
from simulator.servers.traccar.socket import NO_SESSION_STATUS

from .support import DEMO_TOKEN, scenario, serving
from .test_rest import LOGIN

APP = "https://app.example.com"
FOREIGN = "https://evil.example.net"
#: Traccar 6.12: the 6.x server behaviour plus the Origin check
WITH_ORIGIN_CHECK = replace(PROFILES["traccar-6"], version="6.12", session_origin=True)


@asynccontextmanager
async def _serving_6_12() -> AsyncIterator[str]:
    served, _ = with_settings(scenario(), None, "traccar-6")
    runner = web.AppRunner(build_app(served, served.delivery.providers, WITH_ORIGIN_CHECK))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _jar() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _status(http: aiohttp.ClientSession, url: str, origin: str | None) -> int:
    async with http.get(url, headers={} if origin is None else {"Origin": origin}) as response:
        return response.status


async def _upgrade(http: aiohttp.ClientSession, url: str, origin: str | None, **params: str) -> int:
    try:
        ws = await http.ws_connect(url.replace("http://", "ws://") + "/api/socket", origin=origin, params=params)
    except aiohttp.WSServerHandshakeError as refused:
        return refused.status
    await ws.close()
    return 101


async def test_a_foreign_origin_is_refused_as_without_a_session_under_6_12() -> None:
    async with _serving_6_12() as url, _jar() as http:
        async with http.post(f"{url}/api/session", data=LOGIN, headers={"Origin": APP}) as response:
            assert response.status == 200
        for origin, rest, upgrade in ((None, 200, 101), (APP, 200, 101), (FOREIGN, 401, NO_SESSION_STATUS)):
            assert await _status(http, f"{url}/api/devices", origin) == rest, origin
            assert await _upgrade(http, url, origin) == upgrade, origin
        assert await _status(http, f"{url}/api/session", FOREIGN) == 404  # SessionResource.get: no user
        assert await _upgrade(http, url, FOREIGN, token=DEMO_TOKEN) == 101  # a token is not checked


async def test_a_login_without_origin_lets_any_origin_use_the_session() -> None:
    async with _serving_6_12() as url, _jar() as http:
        async with http.post(f"{url}/api/session", data=LOGIN) as response:
            assert response.status == 200
        assert await _status(http, f"{url}/api/devices", FOREIGN) == 200
        assert await _upgrade(http, url, FOREIGN) == 101


@pytest.mark.parametrize("profile", sorted(PROFILES))
async def test_the_shipped_profiles_predate_the_check(profile: str) -> None:
    assert not PROFILES[profile].session_origin  # 4.12 and 6.6
    async with serving(profile=profile) as server, _jar() as http:
        async with http.post(f"{server.url}/api/session", data=LOGIN, headers={"Origin": APP}) as response:
            assert response.status == 200
        assert await _status(http, f"{server.url}/api/devices", FOREIGN) == 200
        assert await _upgrade(http, server.url, FOREIGN) == 101
