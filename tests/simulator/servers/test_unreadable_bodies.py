"""A body the served APIs cannot decode — gzip that is not, a charset Python does not know, bytes not in the
charset given, a multipart body without its boundary — is the client's mistake, answered in each API's own way,
never a 500 (found by a stranger sweep: aiohttp's decoding errors escaped each handler); and, from the same sweep,
the drivers API's 405 keeps its Allow header."""

from __future__ import annotations

import httpx
import pytest

from .drivers.support import MANAGE
from .drivers.support import serving as drivers_serving
from .smartgps.support import serving as smartgps_serving
from .smartgps.support import token
from .traccar.support import DEMO_EMAIL, DEMO_PASSWORD
from .traccar.support import serving as traccar_serving

FORM = "application/x-www-form-urlencoded"
#: (Content-Type, extra headers, body): each is unreadable
UNREADABLE = [
    (FORM + "; charset=bogus", {}, b"grant_type=client_credentials"),
    (FORM + "; charset=utf-16", {}, b"grant_type=client_credentials"),
    (FORM, {}, b"grant_type=client_credentials&client_id=\xff&client_secret=x"),
    ("multipart/form-data; boundary=zzz", {}, b"garbage"),
    (FORM, {"Content-Encoding": "gzip"}, b"grant_type=client_credentials"),
]
IDS = ["unknown charset", "utf-16", "not utf-8", "multipart without boundary", "gzip that is not"]


@pytest.mark.parametrize(("content_type", "extra", "body"), UNREADABLE, ids=IDS)
async def test_smartgps_token_answers_invalid_request(content_type: str, extra: dict[str, str], body: bytes) -> None:
    async with smartgps_serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/auth/token", content=body, headers={"Content-Type": content_type, **extra})
        if response.status_code == 401:  # \xff in a value the parser took: read as an unknown client, not a 500
            assert response.json()["error"] == "invalid_client"
        else:
            assert response.status_code == 400, response.text
            assert response.json()["error"] == "invalid_request" and response.json()["status"] == 400
        assert (await http.post("/auth/token", data={"grant_type": "client_credentials"})).status_code != 500


async def test_smartgps_json_gzip_that_is_not_is_400() -> None:
    async with smartgps_serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        response = await http.post("/trackers", content=b"notgzip", headers={
            **auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text
        assert "Content-Encoding (gzip)" in response.json()["message"]


@pytest.mark.parametrize(("content_type", "extra"), [
    (FORM + "; charset=bogus", {}), (FORM, {"Content-Encoding": "gzip"})], ids=["unknown charset", "gzip"])
async def test_traccar_login_that_cannot_be_read_is_401(content_type: str, extra: dict[str, str]) -> None:
    body = f"email={DEMO_EMAIL}&password={DEMO_PASSWORD}".encode()
    async with traccar_serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/api/session", content=body, headers={"Content-Type": content_type, **extra})
        assert response.status_code == 401
        assert (await http.post("/api/session", content=body, headers={"Content-Type": FORM})).status_code == 200


async def test_drivers_settings_in_gzip_that_is_not_is_400() -> None:
    async with drivers_serving() as api:
        async with api.http.get(api.url + "/drivers", headers=MANAGE) as listed:
            driver = (await listed.json())["data"][0]["id"]
        async with api.http.put(f"{api.url}/drivers/{driver}/settings", data=b"notgzip", headers={
                **MANAGE, "Content-Type": "application/json", "Content-Encoding": "gzip"}) as response:
            assert response.status == 400
            assert "Content-Encoding (gzip)" in (await response.json())["error"]


async def test_a_drivers_api_405_says_which_methods_are_allowed() -> None:
    # the error middleware rebuilt aiohttp's 405 in Laravel's shape and dropped its Allow header (RFC 9110 §15.5.6)
    async with drivers_serving() as api, api.http.delete(api.url + "/drivers/1", headers=MANAGE) as response:
        assert response.status == 405 and response.headers.get("Allow") == "GET"
        assert (await response.json()) == {"error": "Method Not Allowed"}
