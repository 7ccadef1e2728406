"""Seed 000's activation flow as an integrator writes it, with a plain httpx client against the served API:
token → registerTracker → createObject → assignTracker → position/last → BLOCK → the BLOCKED webhook reaches a
real receiver (the reference receiver, which verifies its signature) → ack."""

from __future__ import annotations

import asyncio

import httpx

from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store

from .support import scenario, serving


async def test_the_activation_flow_of_seed_000_end_to_end() -> None:
    store = Store()
    receiver, receiver_url = await start_receiver(scenario().delivery.providers, store)
    try:
        async with serving(settings={"url": f"{receiver_url}/smartgps"}) as server, \
                httpx.AsyncClient(base_url=server.url) as http:
            # OAuth2 client credentials, form-encoded
            granted = (await http.post("/auth/token", data={"grant_type": "client_credentials",
                                                             "client_id": "fleetsim-demo",
                                                             "client_secret": "fleetsim-demo-secret"})).json()
            assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3600
            auth = {"Authorization": f"Bearer {granted['access_token']}"}
            assert (await http.get("/account/me", headers=auth)).status_code == 200

            tracker = await http.post("/trackers", json={"imei": "356938035643809", "model": "GT06"}, headers=auth)
            assert tracker.status_code == 201 and tracker.json()["status"] == "INACTIVE"
            vehicle = await http.post("/objects", json={"plate": "ABC-1234", "name": "Truck 99"}, headers=auth)
            assert vehicle.status_code == 201 and vehicle.json()["id"] == "SGO-ABC1234"
            tracker_id, object_id = tracker.json()["id"], vehicle.json()["id"]
            bound = await http.post(f"/trackers/{tracker_id}/assign", json={"objectId": object_id}, headers=auth)
            assert bound.status_code == 200 and bound.json()["status"] == "ACTIVE"

            # the tracker reports as soon as it is installed: a position from the running scenario
            async with asyncio.timeout(10):
                while (last := await http.get(f"/objects/{object_id}/position/last", headers=auth)).status_code \
                        == 404:
                    await asyncio.sleep(0.05)
            assert last.status_code == 200 and {"lat", "lng", "speed", "timestamp"} <= set(last.json())

            command = await http.post(f"/trackers/{tracker_id}/commands", json={"type": "BLOCK"}, headers=auth)
            assert command.status_code == 202 and command.json()["type"] == "BLOCK"
            async with asyncio.timeout(20):  # executed when the truck is at a safe speed, then pushed
                while not any(d.event == "BLOCKED" and d.object_id == object_id for d in server.deliveries):
                    await asyncio.sleep(0.05)
            delivered = next(d for d in server.deliveries if d.event == "BLOCKED" and d.object_id == object_id)
            assert delivered.status == 200 and delivered.outcome == "2xx"  # its signature verified

            shown = (await http.get(f"/objects/{object_id}", headers=auth)).json()
            assert shown["status"] == "BLOCKED"
            stopped = (await http.get(f"/objects/{object_id}/position/last", headers=auth)).json()
            assert stopped["speed"] == 0
            await asyncio.sleep(0.5)  # the world moves on; the blocked truck does not
            assert (await http.get(f"/objects/{object_id}/position/last", headers=auth)).json() == stopped

            events = (await http.get(f"/objects/{object_id}/events", params={"type": "BLOCKED"},
                                     headers=auth)).json()["data"]
            assert [e["severity"] for e in events] == ["CRITICAL"] and events[0]["acked"] is False
            acked = await http.post(f"/events/{events[0]['id']}/ack", headers=auth)
            assert acked.status_code == 200 and acked.json()["acked"] is True
            again = (await http.get(f"/objects/{object_id}/events", params={"type": "BLOCKED"},
                                    headers=auth)).json()["data"]
            assert again[0]["acked"] is True and again[0]["ackedAt"]

            unblocked = await http.post(f"/trackers/{tracker_id}/commands", json={"type": "UNBLOCK"}, headers=auth)
            assert unblocked.json()["status"] == "EXECUTED"
            assert (await http.get(f"/objects/{object_id}", headers=auth)).json()["status"] == "ACTIVE"
        counts = await store.counts(["smartgps"])
    finally:
        await stop_receiver(receiver)
        await store.close()
    assert counts["smartgps"]["accepted"] >= 1
    # the call log: every call, with which token (never the token itself)
    paths = [(c.method, c.path, c.status) for c in server.calls]
    assert paths[:5] == [("POST", "/auth/token", 200), ("GET", "/account/me", 200), ("POST", "/trackers", 201),
                         ("POST", "/objects", 201), ("POST", f"/trackers/{tracker_id}/assign", 200)]
    assert {c.token for c in server.calls} == {1} and {c.client_id for c in server.calls} == {"fleetsim-demo"}
    assert granted["access_token"] not in repr(server.calls)
