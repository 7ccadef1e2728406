"""Who sees which device on `fleetsim serve` (Traccar 4.12's PermissionsManager, provider-facts §1.8): a user
sees its linked devices in lists and on the socket, administrators included; asking a device by id is allowed
for a linked one and, to an administrator, for any; anything else is 400 "Device access denied"."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import orjson

from simulator.scenario.model import Rate
from simulator.servers.traccar import start_traccar_server, stop_traccar_server

from .support import scenario

#: the world stands still: frames come only when a test plays them
STILL = Rate("factor", 0.01)
ALICE = {"email": "alice@example.com", "password": "alice-pass-1", "devices": ["bikes/1"]}
ROOT = {"email": "root@example.com", "password": "root-pass-1", "administrator": True, "devices": [2]}
EVERY = {"email": "every@example.com", "password": "every-pass-1"}  # no devices named: every device linked
SETTINGS = {"powunity": {"accounts": [ALICE, ROOT, EVERY]}}


def _basic(account: dict[str, Any]) -> dict[str, str]:
    pair = f"{account['email']}:{account['password']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _time(hour: int) -> str:
    return f"2026-09-21T{hour:02d}:00:00.000+00:00"


def _seed(server: Any) -> None:
    """A device, a position and an event for each of the two bikes (ids as the provider writes them)."""
    for device_id in (1, 2):
        server.player.play(orjson.dumps({"devices": [{"id": device_id, "uniqueId": f"imei-{device_id}"}]}))
        server.player.play(orjson.dumps({"positions": [{"id": 10 + device_id, "deviceId": device_id,
                                                        "fixTime": _time(8)}]}))
        server.player.play(orjson.dumps({"events": [{"id": 20 + device_id, "deviceId": device_id, "type": "alarm",
                                                     "serverTime": _time(8)}]}))


async def _get(http: aiohttp.ClientSession, url: str, account: dict[str, Any], **params: Any) -> tuple[int, Any]:
    async with http.get(url, headers=_basic(account), params=params) as response:
        body = await response.read()
        return response.status, (json.loads(body) if response.status == 200 else body.decode())


async def test_lists_show_the_linked_devices_and_asking_a_foreign_one_is_400() -> None:
    server = await start_traccar_server(scenario(), SETTINGS, rate=STILL)
    try:
        _seed(server)
        url = server.url
        async with aiohttp.ClientSession() as http:
            # alice: bikes/1 only
            assert [d["id"] for d in (await _get(http, f"{url}/api/devices", ALICE))[1]] == [1]
            assert [p["deviceId"] for p in (await _get(http, f"{url}/api/positions", ALICE))[1]] == [1]
            assert (await _get(http, f"{url}/api/positions", ALICE, deviceId=1))[0] == 200
            for path, params in (("devices", {"id": 2}), ("positions", {"deviceId": 2}), ("positions", {"id": 12}),
                                 ("events/22", {}), ("devices", {"all": "true"}),
                                 ("reports/events", {"deviceId": 2, "from": _time(0), "to": _time(23)})):
                status, body = await _get(http, f"{url}/api/{path}", ALICE, **params)
                assert status == 400, (path, params, status)
                assert "denied" in body or "Manager" in body
            assert (await _get(http, f"{url}/api/events/21", ALICE))[0] == 200
            # the administrator lists its linked device, every device with ?all=true, and may ask any by id
            assert [d["id"] for d in (await _get(http, f"{url}/api/devices", ROOT))[1]] == [2]
            assert [d["id"] for d in (await _get(http, f"{url}/api/devices", ROOT, all="true"))[1]] == [1, 2]
            assert [p["deviceId"] for p in (await _get(http, f"{url}/api/positions", ROOT))[1]] == [2]
            for path, params in (("devices", {"id": 1}), ("positions", {"deviceId": 1}), ("events/21", {})):
                assert (await _get(http, f"{url}/api/{path}", ROOT, **params))[0] == 200, path
            # an account without `devices` is linked to every device of the scenario, and to no other id: asking
            # for one that does not exist is checkDevice's 400, as for a foreign one (the demo account is such)
            assert [d["id"] for d in (await _get(http, f"{url}/api/devices", EVERY))[1]] == [1, 2]
            assert (await _get(http, f"{url}/api/devices", EVERY, id=2))[0] == 200
            unknown: list[tuple[str, dict[str, Any]]] = [
                ("devices", {"id": 999}), ("devices", {"id": [2, 999]}),
                ("reports/events", {"deviceId": 999, "from": _time(0), "to": _time(23)})]
            for path, params in unknown:
                status, body = await _get(http, f"{url}/api/{path}", EVERY, **params)
                assert (status, body) == (400, "Device access denied"), (path, params)
            # an administrator may ask for any id: one that does not exist is an empty answer
            assert await _get(http, f"{url}/api/devices", ROOT, id=999) == (200, [])
    finally:
        await stop_traccar_server(server)


async def _socket(http: aiohttp.ClientSession, url: str, account: dict[str, Any]) -> aiohttp.ClientWebSocketResponse:
    async with http.post(f"{url}/api/session", data={"email": account["email"],
                                                      "password": account["password"]}) as response:
        assert response.status == 200
    return await http.ws_connect(url.replace("http://", "ws://") + "/api/socket")


async def _drain(ws: aiohttp.ClientWebSocketResponse, quiet: float = 0.4) -> list[Any]:
    out: list[Any] = []
    while True:
        try:
            message = await asyncio.wait_for(ws.receive(), quiet)
        except TimeoutError:
            return out
        out.append(json.loads(message.data))


def _devices_of(frames: list[Any]) -> set[int]:
    found: set[int] = set()
    for frame in frames:
        for key, field in (("devices", "id"), ("positions", "deviceId"), ("events", "deviceId")):
            found.update(item[field] for item in frame.get(key, ()))
    return found


async def test_the_socket_pushes_only_the_linked_devices_frames_administrators_included() -> None:
    server = await start_traccar_server(scenario(), SETTINGS, rate=STILL)
    try:
        server.player.play(orjson.dumps({"positions": [{"id": 11, "deviceId": 1, "fixTime": _time(7)}]}))
        server.player.play(orjson.dumps({"positions": [{"id": 12, "deviceId": 2, "fixTime": _time(7)}]}))
        sessions = {name: aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
                    for name in ("alice", "root", "every")}
        try:
            sockets = {name: await _socket(sessions[name], server.url, account)
                       for name, account in (("alice", ALICE), ("root", ROOT), ("every", EVERY))}
            first = {name: json.loads((await ws.receive()).data) for name, ws in sockets.items()}
            assert first["alice"] == {"positions": [{"id": 11, "deviceId": 1, "fixTime": _time(7)}]}
            assert [p["deviceId"] for p in first["root"]["positions"]] == [2]  # getInitialState: linked only
            assert [p["deviceId"] for p in first["every"]["positions"]] == [1, 2]
            _seed(server)
            live = {name: await _drain(ws) for name, ws in sockets.items()}
            assert _devices_of(live["alice"]) == {1} and len(live["alice"]) == 3
            assert _devices_of(live["root"]) == {2} and len(live["root"]) == 3  # getDeviceUsers: no admin bypass
            assert _devices_of(live["every"]) == {1, 2} and len(live["every"]) == 6
            for ws in sockets.values():
                await ws.close()
        finally:
            for http in sessions.values():
                await http.close()
    finally:
        await stop_traccar_server(server)


async def test_without_accounts_the_demo_account_sees_every_device() -> None:
    server = await start_traccar_server(scenario(), rate=STILL)
    try:
        _seed(server)
        demo = {"email": "demo@fleetsim.local", "password": "demo"}
        async with aiohttp.ClientSession() as http:
            assert [d["id"] for d in (await _get(http, f"{server.url}/api/devices", demo))[1]] == [1, 2]
            assert (await _get(http, f"{server.url}/api/devices", ALICE))[0] == 401
    finally:
        await stop_traccar_server(server)


async def test_events_reach_the_socket_only_through_a_web_notification_of_their_type() -> None:
    for setting, pushed in ((["geofenceExit"], ["geofenceExit"]), ("none", []), ("all", ["alarm", "geofenceExit"]),
                            (None, ["alarm", "geofenceExit"])):
        settings = {"powunity": {} if setting is None else {"web_notifications": setting}}
        server = await start_traccar_server(scenario(), settings, rate=STILL)
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                ws = await _socket(http, server.url, {"email": "demo@fleetsim.local", "password": "demo"})
                await ws.receive()  # the first positions frame
                for number, kind in enumerate(("alarm", "geofenceExit"), 1):
                    server.player.play(orjson.dumps({"events": [{"id": number, "deviceId": 1, "type": kind,
                                                                 "serverTime": _time(8)}]}))
                server.player.play(orjson.dumps({"devices": [{"id": 1}]}))  # devices frames go out regardless
                frames = await _drain(ws)
                assert [f["events"][0]["type"] for f in frames if "events" in f] == pushed, setting
                assert frames[-1] == {"devices": [{"id": 1}]}
                for number in (1, 2):  # stored either way
                    status, _ = await _get(http, f"{server.url}/api/events/{number}",
                                           {"email": "demo@fleetsim.local", "password": "demo"})
                    assert status == 200
                await ws.close()
        finally:
            await stop_traccar_server(server)


def test_an_unknown_web_notification_type_is_named(tmp_path: Any) -> None:
    from simulator.errors import ScenarioError
    from simulator.settings import load_settings

    path = tmp_path / "s.yaml"
    path.write_text("providers:\n  powunity:\n    web_notifications: [alarm, geofenceExti]\n")
    try:
        load_settings(path)
    except ScenarioError as exc:
        assert "web_notifications[1]: unknown Traccar event type 'geofenceExti'; did you mean" in str(exc)
    else:
        raise AssertionError("accepted an unknown event type")
