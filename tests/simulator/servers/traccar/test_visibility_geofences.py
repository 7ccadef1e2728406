"""GET /api/geofences is written by the provider unit (the renderer's `geofence_view`), never by the server, so
the geofences a client lists are the very objects the webhooks carry, name encoding and area included."""

from __future__ import annotations

import base64

import aiohttp
import pytest

from simulator.servers.traccar import start_traccar_server, stop_traccar_server

from .support import SCENARIO, scenario

BASIC = {"Authorization": "Basic " + base64.b64encode(b"demo@fleetsim.local:demo").decode()}
#: a name 4.12 HTML-encodes on output (provider-facts §1.3); the server's own writer never did
FENCED = SCENARIO.replace("{name: Home,", '{name: "Home & <Work>",').replace("delivery:", """\
  - {name: Yard, polygon: [{lat: 48.20, lon: 16.37}, {lat: 48.21, lon: 16.37}, {lat: 48.21, lon: 16.38}]}
delivery:""")


@pytest.mark.parametrize(("profile", "name"), [("traccar-4.12", "Home &amp; &lt;Work&gt;"),
                                               ("traccar-6", "Home & <Work>")])
async def test_the_served_geofences_are_the_providers_view(profile: str, name: str) -> None:
    settings = {"powunity": {"geofence_areas": {"Yard": "POLYGON ((1.0 2.0, 3.0 4.0, 5.0 6.0, 1.0 2.0))"}}}
    server = await start_traccar_server(scenario(FENCED), settings, profile=profile)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/api/geofences", headers=BASIC) as r:
            assert r.status == 200
            fences = await r.json()
    finally:
        await stop_traccar_server(server)
    assert [f["id"] for f in fences] == [1, 2]
    assert fences[0] == {"id": 1, "attributes": {}, "calendarId": 0, "name": name, "description": None,
                         "area": "CIRCLE (48.2082 16.3738, 3000.0)"}
    assert fences[1]["area"] == "POLYGON ((1.0 2.0, 3.0 4.0, 5.0 6.0, 1.0 2.0))"  # the setting wins
