"""What every Traccar version adds to its REST answers on its own (docs/traccar-server.md, "CORS, OPTIONS and
HEAD"): CorsResponseFilter's headers on every answer under /api, errors included; Jersey's OPTIONS and HEAD."""

from __future__ import annotations

import base64

import aiohttp
import pytest

from .support import DEMO_EMAIL, DEMO_PASSWORD, serving

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_PASSWORD}".encode()).decode()}
DASHBOARD = "http://localhost:3000"
CORS = {"Access-Control-Allow-Headers": "origin, content-type, accept, authorization",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS"}


def cors_of(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("profile", ["traccar-4.12", "traccar-6"])
async def test_every_rest_answer_carries_the_cors_headers_errors_included(profile: str) -> None:
    async with serving(profile=profile) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/server") as anyone:
            assert anyone.status == 200
            assert cors_of(anyone) == {**CORS, "Access-Control-Allow-Origin": "*"}  # no Origin sent
        async with http.get(f"{server.url}/api/devices", headers={**BASIC, "Origin": DASHBOARD}) as mine:
            assert mine.status == 200
            assert cors_of(mine) == {**CORS, "Access-Control-Allow-Origin": DASHBOARD}  # web.origin unset: any
        async with http.get(f"{server.url}/api/devices", headers={"Origin": DASHBOARD}) as refused:
            assert refused.status == 401  # the browser can read why
            assert cors_of(refused) == {**CORS, "Access-Control-Allow-Origin": DASHBOARD}
        async with http.get(f"{server.url}/api/nothing", headers={"Origin": DASHBOARD}) as unknown:
            assert unknown.status == 404 and cors_of(unknown)["Access-Control-Allow-Origin"] == DASHBOARD
        async with http.get(f"{server.url}/openapi.json") as document:  # fleetsim's own, not a Jersey resource
            assert document.status == 200 and cors_of(document) == {}


async def test_a_browser_preflight_is_answered_with_the_resources_methods() -> None:
    preflight = {"Origin": DASHBOARD, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    async with serving() as server, aiohttp.ClientSession() as http:
        async with http.options(f"{server.url}/api/devices", headers=preflight) as devices:
            assert devices.status == 200 and await devices.read() == b""
            assert devices.headers["Allow"] == "GET,HEAD,OPTIONS"
            assert cors_of(devices) == {**CORS, "Access-Control-Allow-Origin": DASHBOARD}
        async with http.options(f"{server.url}/api/session", headers=preflight) as session:
            assert session.headers["Allow"] == "DELETE,GET,HEAD,OPTIONS,POST"
        async with http.options(f"{server.url}/api/events/7") as event:
            assert (event.status, event.headers["Allow"]) == (200, "GET,HEAD,OPTIONS")
        async with http.options(f"{server.url}/api/nothing", headers=preflight) as unknown:
            assert unknown.status == 404 and cors_of(unknown)["Access-Control-Allow-Origin"] == DASHBOARD


async def test_head_answers_as_get_without_a_body() -> None:
    async with serving() as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/devices", headers=BASIC) as get:
            body = await get.read()
        async with http.head(f"{server.url}/api/devices", headers=BASIC) as head:
            assert head.status == 200 and await head.read() == b""
            assert head.headers["Content-Type"] == get.headers["Content-Type"]
            assert int(head.headers["Content-Length"]) == len(body)
        async with http.head(f"{server.url}/api/devices") as unauthorised:
            assert unauthorised.status == 401
