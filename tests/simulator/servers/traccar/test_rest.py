"""The REST API of `fleetsim serve` over a real port: authentication (Basic, session cookie, tokens per
profile), the session's lifecycle, and the history and report filters (Traccar 4.12's resources)."""

from __future__ import annotations

import asyncio
import base64

import aiohttp

from simulator.servers.traccar.live import traccar_ms

from .support import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, serving

BASIC = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_PASSWORD}".encode()).decode()
LOGIN = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}


def _jar() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_bad_credentials_are_401_with_a_basic_challenge_except_for_xhr() -> None:
    wrong = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:nope".encode()).decode()
    async with serving() as server, aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": wrong}, {"Authorization": "Basic %%%"},
                        {"Authorization": f"Bearer {DEMO_TOKEN}"}):  # no tokens under 4.12
            async with http.get(f"{server.url}/api/devices", headers=headers) as response:
                assert response.status == 401, headers
                assert response.headers["WWW-Authenticate"] == 'Basic realm="api"'
        async with http.get(f"{server.url}/api/devices", headers={"X-Requested-With": "XMLHttpRequest"}) as response:
            assert response.status == 401 and "WWW-Authenticate" not in response.headers
        async with http.post(f"{server.url}/api/session", data={**LOGIN, "password": "nope"}) as response:
            assert response.status == 401 and "Set-Cookie" not in response.headers
        async with http.get(f"{server.url}/api/devices", headers={"Authorization": BASIC}) as response:
            assert response.status == 200


async def test_bearer_tokens_only_under_the_6_profile() -> None:
    async with serving(profile="traccar-6") as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/devices", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as r:
            assert r.status == 200
        async with http.get(f"{server.url}/api/devices", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with http.get(f"{server.url}/api/server") as r:
            assert (await r.json())["version"].startswith("6.")


async def test_the_session_cookie_lives_from_login_to_logout() -> None:
    async with serving() as server, _jar() as http:
        async with http.get(f"{server.url}/api/session") as response:
            assert response.status == 404  # no session yet, no token: SessionResource.get
        async with http.post(f"{server.url}/api/session", data=LOGIN) as response:
            assert response.status == 200
            user = await response.json()
            cookie = response.headers["Set-Cookie"]
        assert user["email"] == DEMO_EMAIL and user["password"] is None
        assert cookie.startswith("JSESSIONID=") and "HttpOnly" in cookie and "Path=/" in cookie
        async with http.get(f"{server.url}/api/session") as response:
            assert response.status == 200 and (await response.json())["id"] == user["id"]
        async with http.get(f"{server.url}/api/devices") as response:
            assert response.status == 200
        async with http.delete(f"{server.url}/api/session") as response:
            assert response.status == 204
        async with http.get(f"{server.url}/api/devices") as response:
            assert response.status == 401  # the cookie is still sent; its session is gone
        async with http.get(f"{server.url}/api/session") as response:
            assert response.status == 404
        async with http.delete(f"{server.url}/api/session") as response:
            assert response.status == 401


async def test_a_token_opens_a_session_and_a_bad_one_does_not() -> None:
    async with serving() as server, _jar() as http:
        async with http.get(f"{server.url}/api/session", params={"token": "wrong"}) as response:
            assert response.status == 404  # 4.12: no user from the token, no session
        async with http.get(f"{server.url}/api/session", params={"token": DEMO_TOKEN}) as response:
            assert response.status == 200 and "JSESSIONID=" in response.headers["Set-Cookie"]
        async with http.get(f"{server.url}/api/positions") as response:
            assert response.status == 200
    async with (serving(profile="traccar-6") as server, _jar() as http,
                http.get(f"{server.url}/api/session", params={"token": "wrong"}) as response):
        assert response.status == 401  # 6.x: a bad token is refused


async def test_positions_latest_and_history_filters() -> None:
    headers = {"Authorization": BASIC}
    async with serving() as server, aiohttp.ClientSession(headers=headers) as http:
        await asyncio.sleep(1.5)  # ~90 scenario seconds: a dozen fixes per bike
        async with http.get(f"{server.url}/api/positions") as response:
            latest = await response.json()
        assert len(latest) == 2
        device = latest[0]["deviceId"]
        async with http.get(f"{server.url}/api/positions", params={"deviceId": device}) as response:
            only = await response.json()
        assert len(only) == 1 and only[0]["deviceId"] == device
        everything = {"deviceId": device, "from": "2026-09-21T00:00:00Z", "to": "2026-09-22T00:00:00Z"}
        async with http.get(f"{server.url}/api/positions", params=everything) as response:
            history = await response.json()
        assert len(history) >= 5 and {p["deviceId"] for p in history} == {device}
        fixes = [traccar_ms(p["fixTime"]) or 0 for p in history]
        assert fixes == sorted(fixes)
        # a window holding only the middle fixes
        low, high = sorted(set(fixes))[1], sorted(set(fixes))[-2]
        window = {"deviceId": device, "from": _iso(low), "to": _iso(high)}
        async with http.get(f"{server.url}/api/positions", params=window) as response:
            middle = await response.json()
        assert [traccar_ms(p["fixTime"]) for p in middle] == [f for f in fixes if low <= f <= high]
        assert fixes[0] < low or fixes[-1] > high  # the window left something out
        async with http.get(f"{server.url}/api/positions", params={"id": history[0]["id"]}) as response:
            assert [p["id"] for p in await response.json()] == [history[0]["id"]]
        for bad in ({"deviceId": "x"}, {"deviceId": device, "from": "yesterday", "to": "today"}):
            async with http.get(f"{server.url}/api/positions", params=bad) as response:
                assert response.status == 404, bad  # JAX-RS: an unconvertible parameter
        async with http.get(f"{server.url}/api/positions", params={"deviceId": 999}) as response:
            assert response.status == 400  # not a device of this user


async def test_events_by_id_and_the_events_report() -> None:
    headers = {"Authorization": BASIC}
    async with serving() as server, aiohttp.ClientSession(headers=headers) as http:
        await asyncio.sleep(0.5)
        devices = sorted(server.state.world.devices)
        span = {"from": "2026-09-21T00:00:00Z", "to": "2026-09-22T00:00:00Z"}
        params = [("deviceId", d) for d in devices] + list(span.items())
        async with http.get(f"{server.url}/api/reports/events", params=params) as response:
            events = await response.json()
        assert events and {e["deviceId"] for e in events} <= set(devices)
        first = events[0]
        async with http.get(f"{server.url}/api/events/{first['id']}") as response:
            assert await response.json() == first
        assert "message" not in first["attributes"]  # the stored event; the socket copy has the web text
        kind = first["type"]
        async with http.get(f"{server.url}/api/reports/events", params=[*params, ("type", kind)]) as response:
            assert {e["type"] for e in await response.json()} == {kind}
        async with http.get(f"{server.url}/api/reports/events", params=list(span.items())) as response:
            assert await response.json() == []  # no device named: none (ReportUtils.getDeviceList)
        async with http.get(f"{server.url}/api/reports/events", params=[("deviceId", devices[0])]) as response:
            assert response.status == 404  # from and to are required dates
        async with http.get(f"{server.url}/api/events/123456789") as response:
            assert response.status == 404


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


async def test_server_and_user_are_written_as_the_profiles_traccar_writes_them() -> None:
    seen = {}
    for profile in ("traccar-4.12", "traccar-6"):
        async with serving(profile=profile) as server, aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/server") as response:
                info = await response.json()
            async with http.post(f"{server.url}/api/session", data=LOGIN) as response:
                user = await response.json()
            seen[profile] = (info, user)
    (old_server, old_user), (new_server, new_user) = seen["traccar-4.12"], seen["traccar-6"]
    assert old_server["version"] == "4.12" and "twelveHourFormat" in old_server and "openIdEnabled" not in old_server
    assert new_server["version"].startswith("6.") and new_server["openIdEnabled"] is False
    assert "twelveHourFormat" not in new_server
    assert old_user["token"] == DEMO_TOKEN and "totpKey" not in old_user
    assert "token" not in new_user and new_user["temporary"] is False
