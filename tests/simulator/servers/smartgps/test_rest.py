"""The REST API's rules: filters, token expiry, the rate limit, the one error shape (400/401/404/409/413/422), and
geofences created through the API firing GEOFENCE_ENTER / GEOFENCE_EXIT."""

from __future__ import annotations

import asyncio

import httpx

from simulator.providers import APIS
from simulator.scenario.model import Rate
from simulator.validation import validate

from .support import CREDENTIALS, serving, token


def _shape(response: httpx.Response, status: int, code: str) -> None:
    body = response.json()
    assert response.status_code == status and body["error"] == code and body["status"] == status, body
    assert isinstance(body["message"], str) and body["message"]


async def test_filters_pick_trackers_and_objects() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        everything = (await http.get("/trackers", headers=auth)).json()
        assert everything["total"] == 3 and {t["status"] for t in everything["data"]} == {"ACTIVE"}
        one = everything["data"][1]
        by_imei = (await http.get("/trackers", params={"imei": one["imei"]}, headers=auth)).json()["data"]
        assert [t["id"] for t in by_imei] == [one["id"]]
        await http.post("/trackers", json={"imei": "356938035643817", "groupId": "spare"}, headers=auth)
        inactive = (await http.get("/trackers", params={"status": "INACTIVE"}, headers=auth)).json()["data"]
        assert [t["imei"] for t in inactive] == ["356938035643817"]
        assert (await http.get("/trackers", params={"groupId": "spare"}, headers=auth)).json()["total"] == 1
        # a status no tracker can have is a mistake (422, as an event severity), not an empty list
        bogus = await http.get("/trackers", params={"status": "BOGUS"}, headers=auth)
        _shape(bogus, 422, "validation_failed")
        assert bogus.json()["fields"] == [{"field": "status", "message": "one of ACTIVE, INACTIVE"}]
        _shape(await http.get("/objects", params={"status": "active"}, headers=auth), 422, "validation_failed")
        assert (await http.get("/trackers", params={"groupId": "trucks"}, headers=auth)).json()["total"] == 3
        objects = (await http.get("/objects", headers=auth)).json()["data"]
        plate = objects[2]["plate"]
        found = (await http.get("/objects", params={"plate": plate.replace("-", "")}, headers=auth)).json()["data"]
        assert [o["id"] for o in found] == [objects[2]["id"]]
        assert (await http.get("/objects", params={"status": "BLOCKED"}, headers=auth)).json()["total"] == 0


async def test_a_token_expires_after_its_ttl_and_401_names_it() -> None:
    now = [1000.0]
    async with serving(settings={"api_token_ttl_s": 5}, clock=lambda: now[0]) as server, \
            httpx.AsyncClient(base_url=server.url) as http:
        granted = (await http.post("/auth/token", json=CREDENTIALS)).json()  # JSON is accepted as well
        assert granted["expires_in"] == 5
        auth = {"Authorization": f"Bearer {granted['access_token']}"}
        assert (await http.get("/account/me", headers=auth)).status_code == 200
        now[0] += 5.0
        expired = await http.get("/account/me", headers=auth)
        _shape(expired, 401, "invalid_token")
        assert expired.headers["WWW-Authenticate"].startswith("Bearer")
        _shape(await http.get("/trackers"), 401, "invalid_token")
        _shape(await http.post("/auth/token", data={**CREDENTIALS, "client_secret": "wrong"}), 401, "invalid_client")
        _shape(await http.post("/auth/token", data={**CREDENTIALS, "grant_type": "password"}), 400,
               "unsupported_grant_type")
        # HTTP Basic client authentication works too
        basic = await http.post("/auth/token", data={"grant_type": "client_credentials"},
                                auth=(CREDENTIALS["client_id"], CREDENTIALS["client_secret"]))
        assert basic.status_code == 200
        same_id = await http.post("/auth/token", data={"grant_type": "client_credentials",
                                                       "client_id": CREDENTIALS["client_id"]},
                                  auth=(CREDENTIALS["client_id"], CREDENTIALS["client_secret"]))
        assert same_id.status_code == 200  # a client_id beside Basic that names the same client is harmless
        # RFC 6749 §2.3: one authentication method; §5.2: a failed Basic login names its scheme
        _shape(await http.post("/auth/token", data=CREDENTIALS,
                               auth=(CREDENTIALS["client_id"], CREDENTIALS["client_secret"])), 400, "invalid_request")
        _shape(await http.post("/auth/token", data={"grant_type": "client_credentials", "client_id": "someone-else"},
                               auth=(CREDENTIALS["client_id"], CREDENTIALS["client_secret"])), 400, "invalid_request")
        wrong = await http.post("/auth/token", data={"grant_type": "client_credentials"},
                                auth=(CREDENTIALS["client_id"], "wrong"))
        _shape(wrong, 401, "invalid_client")
        assert wrong.headers["WWW-Authenticate"] == 'Basic realm="smartgps"'
    assert [c.status for c in server.calls] == [200, 200, 401, 401, 401, 400, 200, 200, 400, 400, 401]
    assert [c.token for c in server.calls] == [1, 1, None, None, None, None, 2, 3, None, None, None]


async def test_a_client_over_the_rate_limit_gets_429_with_retry_after() -> None:
    async with serving(settings={"api_rate_limit": 3}) as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        statuses = [(await http.get("/account/me", headers=auth)) for _ in range(5)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
        _shape(statuses[3], 429, "rate_limited")
        wait = int(statuses[3].headers["Retry-After"])
        assert 1 <= wait <= 1
        await asyncio.sleep(wait)
        assert (await http.get("/account/me", headers=auth)).status_code == 200


async def test_errors_have_one_shape() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        _shape(await http.get("/trackers/TRK-999999", headers=auth), 404, "not_found")
        _shape(await http.get("/nowhere", headers=auth), 404, "not_found")
        _shape(await http.post("/trackers", content=b"{not json", headers=auth), 400, "invalid_json")
        bad = await http.post("/trackers", json={"imei": "12"}, headers=auth)
        _shape(bad, 422, "validation_failed")
        assert bad.json()["fields"] == [{"field": "imei", "message": "15 digits"}]
        _shape(await http.post("/objects", json={"plate": "nope"}, headers=auth), 422, "validation_failed")
        _shape(await http.post("/geofences", json={"name": "x", "type": "POLYGON", "points": [{"lat": 1, "lng": 2}]},
                               headers=auth), 422, "validation_failed")
        first = await http.post("/trackers", json={"imei": "356938035643809"}, headers=auth)
        _shape(await http.post("/trackers", json={"imei": "356938035643809"}, headers=auth), 409, "conflict")
        trackers = (await http.get("/trackers", headers=auth)).json()["data"]
        assigned = next(t for t in trackers if t["objectId"])
        _shape(await http.post(f"/trackers/{first.json()['id']}/assign", json={"objectId": assigned["objectId"]},
                               headers=auth), 409, "conflict")
        _shape(await http.post(f"/trackers/{assigned['id']}/assign", json={"objectId": assigned["objectId"]},
                               headers=auth), 409, "conflict")
        _shape(await http.delete(f"/trackers/{assigned['id']}", headers=auth), 409, "conflict")
        _shape(await http.post(f"/trackers/{first.json()['id']}/commands", json={"type": "BLOCK"}, headers=auth),
               409, "conflict")
        _shape(await http.post(f"/trackers/{assigned['id']}/commands", json={"type": "EXPLODE"}, headers=auth),
               422, "validation_failed")
        _shape(await http.post("/events/EVT-999999/ack", headers=auth), 404, "not_found")
        too_big = await http.post("/trackers", content=b'{"imei": "' + b"1" * (1 << 20) + b'"}', headers=auth)
        _shape(too_big, 413, "payload_too_large")
        assert validate(APIS["smartgps_api"], "error", too_big.json()) == [], too_big.json()
        assert (await http.delete(f"/trackers/{first.json()['id']}", headers=auth)).status_code == 204


async def test_a_geofence_created_through_the_api_fires_enter_and_exit() -> None:
    async with serving(rate=Rate("factor", 600.0)) as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        # a circle on the first truck's first fix: it enters it whenever it comes back and leaves when it drives off
        first_id = (await http.get("/objects", headers=auth)).json()["data"][0]["id"]
        async with asyncio.timeout(10):
            while (first := await http.get(f"/objects/{first_id}/position/last", headers=auth)).status_code != 200:
                await asyncio.sleep(0.05)
        here = first.json()
        fence = await http.post("/geofences", json={"name": "Depot", "type": "CIRCLE", "radius": 300,
                                                    "center": {"lat": here["lat"], "lng": here["lng"]}}, headers=auth)
        assert fence.status_code == 201 and fence.json()["type"] == "CIRCLE"
        polygon = await http.post("/geofences", json={"name": "Box", "type": "POLYGON", "points": [
            {"lat": -23.0, "lng": -47.0}, {"lat": -23.0, "lng": -46.0}, {"lat": -24.0, "lng": -46.0}]}, headers=auth)
        assert polygon.status_code == 201
        assert (await http.get("/geofences", headers=auth)).json()["total"] == 2
        async with asyncio.timeout(15):
            while not {"GEOFENCE_EXIT"} <= {e["type"] for e in server.state.fleet.store.events.values()}:
                await asyncio.sleep(0.05)
        assert (await http.delete(f"/geofences/{polygon.json()['id']}", headers=auth)).status_code == 204
        _shape(await http.delete(f"/geofences/{polygon.json()['id']}", headers=auth), 404, "not_found")


async def test_drivers_are_identified_by_ibutton_or_rfid() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.url) as http:
        auth = await token(http)
        made = await http.post("/drivers", json={"name": "Maria da Silva", "identification": "IBUTTON",
                                                 "code": "0A1B2C3D4E5F6071"}, headers=auth)
        assert made.status_code == 201 and made.json()["identification"] == "IBUTTON"
        _shape(await http.post("/drivers", json={"name": "João", "identification": "RFID", "code": "0A1B2C3D4E5F6071"},
                               headers=auth), 409, "conflict")
        _shape(await http.post("/drivers", json={"name": "João", "identification": "NFC", "code": "7C3F88A9"},
                               headers=auth), 422, "validation_failed")
        assert (await http.get("/drivers", headers=auth)).json()["data"] == [made.json()]
