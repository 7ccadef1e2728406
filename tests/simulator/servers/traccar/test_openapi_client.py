"""A client generated from current Traccar's OpenAPI spec (traccar-api-python-client, from PyPI, unchanged) against
`fleetsim serve` under the traccar-6 profile: it logs in (form session, Bearer token, `?token=`) and every REST
response it asks for parses into its models with the values the world holds.

The generated parsers are lenient in one way (unknown keys go to `additional_properties`, a missing key is UNSET)
and strict in others (a `null` where an object is expected, a time that is not ISO 8601, a body that is not the
documented shape raise). So besides "it parsed", the tests check that the fields a 6.x client reads are there and
typed: `eventTime` (4.12's `serverTime` would leave it UNSET), zoned `fixTime`/`lastUpdate`, ids that agree.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, TypeVar

from traccar_api_client import AuthenticatedClient, Client
from traccar_api_client.api.devices import get_devices
from traccar_api_client.api.events import get_events_id
from traccar_api_client.api.geofences import get_geofences
from traccar_api_client.api.positions import get_positions
from traccar_api_client.api.reports import get_reports_events
from traccar_api_client.api.server import get_server
from traccar_api_client.api.session import delete_session, get_session, post_session
from traccar_api_client.models import Device, Event, Geofence, Position, PostSessionBody, Server, User
from traccar_api_client.types import Response, Unset

from .support import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, serving

T = TypeVar("T")

# the test scenario starts 2026-09-21 07:00 Vienna (05:00 UTC); a day around it holds everything it has played
DAY_FROM, DAY_TO = datetime(2026, 9, 21, tzinfo=UTC), datetime(2026, 9, 22, tzinfo=UTC)


def _parsed(response: Response[Any], kind: type[T]) -> T:
    """The model the client made of a 200 response; anything else (an error status, no model) fails here."""
    assert response.status_code == 200, (response.status_code, response.content[:200])
    assert isinstance(response.parsed, kind), type(response.parsed)
    return response.parsed


def _parsed_list(response: Response[Any], kind: type[T]) -> list[T]:
    items = _parsed(response, list)
    assert all(isinstance(item, kind) for item in items), [type(item) for item in items]
    return items


def _zoned(value: datetime | Unset | None) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, value
    return value


async def test_the_generated_client_reads_every_resource_after_a_form_login() -> None:
    async with serving(profile="traccar-6") as server, Client(base_url=f"{server.url}/api") as client:
        await asyncio.sleep(1.0)  # a few frames into the world: both bikes have reported, the first ride is on

        info = _parsed(await get_server.asyncio_detailed(client=client), Server)  # @PermitAll: no login needed
        assert isinstance(info.version, str) and info.version.startswith("6.")

        login = PostSessionBody(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        user = _parsed(await post_session.asyncio_detailed(client=client, body=login), User)
        assert user.email == DEMO_EMAIL
        assert not isinstance(user.password, str)  # written as null, never echoed (the model types it str | Unset)
        assert "JSESSIONID" in client.get_async_httpx_client().cookies  # the rest rides on the session cookie
        again = _parsed(await get_session.asyncio_detailed(client=client), User)
        assert again.id == user.id

        devices = _parsed_list(await get_devices.asyncio_detailed(client=client), Device)
        assert sorted(str(d.name) for d in devices) == ["Bike 1", "Bike 2"]
        assert all(d.category == "bicycle" and d.status == "online" for d in devices)
        ids = {d.id for d in devices}
        assert all(isinstance(i, int) and i > 0 for i in ids) and len(ids) == 2
        for device in devices:
            _zoned(device.last_update)

        latest = _parsed_list(await get_positions.asyncio_detailed(client=client), Position)
        assert {p.device_id for p in latest} == ids
        assert all(p.protocol == "h02" and isinstance(p.latitude, float) for p in latest)
        for position in latest:
            _zoned(position.fix_time)
            _zoned(position.server_time)

        bike = min(i for i in ids if isinstance(i, int))
        only = _parsed_list(await get_positions.asyncio_detailed(client=client, device_id=bike), Position)
        assert [p.device_id for p in only] == [bike]

        window = _parsed_list(await get_positions.asyncio_detailed(
            client=client, device_id=bike, from_=DAY_FROM, to=DAY_TO), Position)
        assert len(window) > 1 and {p.device_id for p in window} == {bike}
        times = [_zoned(p.fix_time) for p in window]
        assert times == sorted(times) and DAY_FROM <= times[0] <= times[-1] <= DAY_TO
        # a narrower window is a true filter: the first fix alone
        first = _parsed_list(await get_positions.asyncio_detailed(
            client=client, device_id=bike, from_=times[0], to=times[0]), Position)
        assert [p.id for p in first] == [window[0].id]

        events = _parsed_list(await get_reports_events.asyncio_detailed(
            client=client, device_id=sorted(i for i in ids if isinstance(i, int)), from_=DAY_FROM, to=DAY_TO), Event)
        assert events, "the bikes' first messages raise events (ignition, moving)"
        assert {e.device_id for e in events} <= ids
        assert all(isinstance(e.type_, str) for e in events)
        for event in events:
            _zoned(event.event_time)  # 6.x names it eventTime; a 4.12 event (serverTime) would leave it UNSET
        moving = _parsed_list(await get_reports_events.asyncio_detailed(
            client=client, device_id=[bike], type_=["deviceMoving"], from_=DAY_FROM, to=DAY_TO), Event)
        assert moving and {(e.type_, e.device_id) for e in moving} == {("deviceMoving", bike)}

        chosen = events[0]
        assert isinstance(chosen.id, int)
        one = _parsed(await get_events_id.asyncio_detailed(chosen.id, client=client), Event)
        assert (one.id, one.type_, one.device_id, one.event_time) == (
            chosen.id, chosen.type_, chosen.device_id, chosen.event_time)

        fences = _parsed_list(await get_geofences.asyncio_detailed(client=client), Geofence)
        assert [f.name for f in fences] == ["Home"]
        assert isinstance(fences[0].area, str) and fences[0].area.startswith("CIRCLE (48.2082 16.3738, 3000")

        logout = await delete_session.asyncio_detailed(client=client)
        assert logout.status_code == 204
        after = await get_devices.asyncio_detailed(client=client)
        assert after.status_code == 401 and after.parsed is None


async def test_the_generated_client_uses_a_bearer_token_and_a_session_token() -> None:
    async with serving(profile="traccar-6") as server:
        await asyncio.sleep(0.5)
        async with AuthenticatedClient(base_url=f"{server.url}/api", token=DEMO_TOKEN) as bearer:
            devices = _parsed_list(await get_devices.asyncio_detailed(client=bearer), Device)
            assert sorted(str(d.name) for d in devices) == ["Bike 1", "Bike 2"]
        async with AuthenticatedClient(base_url=f"{server.url}/api", token="not-a-token") as wrong:
            refused = await get_devices.asyncio_detailed(client=wrong)
            assert refused.status_code == 401 and refused.parsed is None
        async with Client(base_url=f"{server.url}/api") as client:
            user = _parsed(await get_session.asyncio_detailed(client=client, token=DEMO_TOKEN), User)
            assert user.email == DEMO_EMAIL
            # GET /api/session?token= opens a session: the cookie alone now reads the devices
            devices = _parsed_list(await get_devices.asyncio_detailed(client=client), Device)
            assert len(devices) == 2


async def test_the_generated_client_is_refused_with_a_wrong_password() -> None:
    async with serving(profile="traccar-6") as server, Client(base_url=f"{server.url}/api") as client:
        login = PostSessionBody(email=DEMO_EMAIL, password="wrong")
        refused = await post_session.asyncio_detailed(client=client, body=login)
        assert refused.status_code == 401 and refused.parsed is None
        assert "JSESSIONID" not in client.get_async_httpx_client().cookies


async def test_a_device_with_no_position_yet_has_an_empty_latest_list_under_6() -> None:
    # a device becomes known with its `devices` frame; the player plays its first position right after, so the
    # gap is held open here by playing a devices frame alone, through the same door the player uses
    for profile, expected in (("traccar-6", []), ("traccar-4.12", [None])):
        async with serving(profile=profile) as server, Client(base_url=f"{server.url}/api") as client:
            await asyncio.sleep(0.3)
            world = server.state.world
            known = world.devices[min(world.devices)]
            newcomer = {**known, "id": 99, "name": "Bike 99", "uniqueId": "352565127420099", "positionId": 0}
            world.apply({"devices": [newcomer]})
            auth = {"Authorization": f"Bearer {DEMO_TOKEN}"} if profile == "traccar-6" else {}
            login = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            if not auth:  # no tokens under 4.12: the form session
                assert (await client.get_async_httpx_client().post("/session", data=login)).status_code == 200
            raw = await client.get_async_httpx_client().get("/positions", params={"deviceId": 99}, headers=auth)
            assert raw.status_code == 200 and raw.json() == expected, (profile, raw.text)
            if profile == "traccar-6":
                # 6.x's own client reads it as "no position" (4.12's [null] makes Position.from_dict fail)
                async with AuthenticatedClient(base_url=f"{server.url}/api", token=DEMO_TOKEN) as bearer:
                    none = await get_positions.asyncio_detailed(client=bearer, device_id=99)
                    assert _parsed_list(none, Position) == []
