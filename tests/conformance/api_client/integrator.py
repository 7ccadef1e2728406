"""An integrator's SmartGPS activation service, written as one would write it: an aiohttp app exposing seed
000's `POST /api/integrations/smartgps/activate`, calling SmartGPS with httpx. The careful version caches its
token until shortly before expiry, refreshes once on a 401, waits Retry-After on a 429, retries a call whose
connection dropped, and looks a tracker up by IMEI (and an object by plate) before creating one, or after a 409.
Each flaw breaks one of those habits, so the API-client checks can be shown to fail:

- token-per-request: a new token for every call;
- no-refresh: a 401 is passed on as an error;
- retry-at-once: a 429 is retried at once, without waiting;
- duplicates: creates the tracker and object without looking them up first, nor handling a 409;
- wrong-order: creates the object before registering the tracker.

Run as a process: `python -m tests.conformance.api_client.integrator --port P [--flaw F] [--tls CERT KEY]`,
reading SmartGPS's base URL and client from FLEETSIM_SMARTGPS_URL, _CLIENT_ID, _CLIENT_SECRET.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import time
from typing import Any

import httpx
from aiohttp import web

FLAWS = ("token-per-request", "no-refresh", "retry-at-once", "duplicates", "wrong-order")
ACTIVATE = "/api/integrations/smartgps/activate"


class SmartGps:
    """The integrator's SmartGPS client."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, flaws: frozenset[str] = frozenset()) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10.0)
        self.client_id, self.client_secret, self.flaws = client_id, client_secret, flaws
        self.token: str | None = None
        self.expires_at = 0.0

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(20):
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError:  # the connection dropped: try again (a POST may have been carried out)
                if attempt >= 2:
                    raise
                continue
            if response.status_code != 429:
                return response
            if "retry-at-once" not in self.flaws:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    async def _bearer(self) -> str:
        margin = min(30.0, (self.expires_at - self.issued_at) / 4) if self.token else 0.0
        if "token-per-request" in self.flaws or self.token is None or time.monotonic() > self.expires_at - margin:
            response = await self._send("POST", "/auth/token", data={
                "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret})
            response.raise_for_status()
            body = response.json()
            self.issued_at = time.monotonic()
            self.token, self.expires_at = body["access_token"], self.issued_at + body["expires_in"]
        assert self.token is not None
        return self.token

    issued_at = 0.0

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        refreshed = False
        while True:
            token = await self._bearer()
            response = await self._send(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if response.status_code == 401 and not refreshed and "no-refresh" not in self.flaws:
                self.token, refreshed = None, True
                continue
            return response

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


async def activate(api: SmartGps, imei: str, plate: str, model: str, name: str) -> dict[str, Any]:
    careful = "duplicates" not in api.flaws
    if "wrong-order" in api.flaws:
        vehicle = await api.ok("POST", "/objects", json={"plate": plate, "name": name})
        tracker = await api.ok("POST", "/trackers", json={"imei": imei, "model": model})
        await api.ok("POST", f"/trackers/{tracker['id']}/assign", json={"objectId": vehicle["id"]})
        return {"trackerId": tracker["id"], "objectId": vehicle["id"]}
    found = (await api.ok("GET", "/trackers", params={"imei": imei}))["data"] if careful else []
    tracker = found[0] if found else await register(api, imei, model)
    if tracker["objectId"]:  # activated before: nothing to do
        return {"trackerId": tracker["id"], "objectId": tracker["objectId"]}
    found = (await api.ok("GET", "/objects", params={"plate": plate}))["data"] if careful else []
    vehicle = found[0] if found else await api.ok("POST", "/objects", json={"plate": plate, "name": name})
    await api.ok("POST", f"/trackers/{tracker['id']}/assign", json={"objectId": vehicle["id"]})
    return {"trackerId": tracker["id"], "objectId": vehicle["id"]}


async def register(api: SmartGps, imei: str, model: str) -> dict[str, Any]:
    response = await api.call("POST", "/trackers", json={"imei": imei, "model": model})
    if response.status_code == 409 and "duplicates" not in api.flaws:  # registered already (a lost answer)
        found: dict[str, Any] = (await api.ok("GET", "/trackers", params={"imei": imei}))["data"][0]
        return found
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


def make_app(base_url: str, client_id: str, client_secret: str, flaws: frozenset[str] = frozenset()) -> web.Application:
    api = SmartGps(base_url, client_id, client_secret, flaws)

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            done = await activate(api, body["imei"], body["plate"], body.get("model", ""), body.get("name", ""))
        except httpx.HTTPStatusError as exc:
            return web.json_response({"error": f"SmartGPS answered {exc.response.status_code}"}, status=502)
        except httpx.TransportError as exc:
            return web.json_response({"error": f"SmartGPS unreachable: {exc}"}, status=502)
        return web.json_response({"status": "ATIVO", **done})

    async def close(app: web.Application) -> None:
        await api.http.aclose()

    app = web.Application()
    app.router.add_post(ACTIVATE, handle)
    app.on_cleanup.append(close)
    return app


async def activate_once(imei: str, plate: str, flaws: frozenset[str]) -> int:
    """The activation as a script: one run per activation, its exit status the outcome."""
    env = os.environ
    api = SmartGps(env["FLEETSIM_SMARTGPS_URL"], env["FLEETSIM_SMARTGPS_CLIENT_ID"],
                   env["FLEETSIM_SMARTGPS_CLIENT_SECRET"], flaws)
    try:
        done = await activate(api, imei, plate, "FMB920", f"Truck {plate}")
    except httpx.HTTPStatusError as exc:
        print(f"SmartGPS answered {exc.response.status_code}")
        return 1
    finally:
        await api.http.aclose()
    print(f"ATIVO {done}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, help="serve the activation endpoint on this port")
    parser.add_argument("--once", nargs=2, metavar=("IMEI", "PLATE"), help="activate one tracker and exit")
    parser.add_argument("--flaw", choices=FLAWS, action="append", default=[])
    parser.add_argument("--pid-file", help="write this process's id here (tests check it was stopped)")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve the endpoint over https")
    args = parser.parse_args()
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(str(os.getpid()))
    if args.once:
        imei, plate = args.once
        raise SystemExit(asyncio.run(activate_once(imei, plate, frozenset(args.flaw))))
    env = os.environ
    app = make_app(env["FLEETSIM_SMARTGPS_URL"], env["FLEETSIM_SMARTGPS_CLIENT_ID"],
                   env["FLEETSIM_SMARTGPS_CLIENT_SECRET"], frozenset(args.flaw))
    tls = None
    if args.tls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*args.tls)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, ssl_context=tls)


if __name__ == "__main__":
    main()
