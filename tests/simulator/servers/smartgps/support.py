"""A small SmartGPS scenario served on a real port, for the `fleetsim serve --api smartgps` tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Rate, Scenario
from simulator.servers.smartgps.app import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SmartGpsServer,
    start_smartgps_server,
    stop_smartgps_server,
)

__all__ = ["CREDENTIALS", "SCENARIO", "scenario", "serving", "token"]

# three trucks in Sao Paulo, a fix every 10 s; at x120 the first trips start within a second or two
SCENARIO = """\
name: smartgps-serve-test
seed: 5
start: "2026-02-09T04:00:00"
duration: 2h
region: {city: sao-paulo}
report_intervals: {moving: 10s}
fleet:
  - {name: trucks, count: 3, provider: smartgps, profile: truck, stops_per_trip: 2, dwell: 2m}
delivery:
  rate: x120
  providers:
    smartgps: {secret: "smartgps-serve-test-secret"}
"""

CREDENTIALS = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}


def scenario(text: str = SCENARIO) -> Scenario:
    return load_scenario_text(text, "smartgps-serve-test.yaml")


@asynccontextmanager
async def serving(*, rate: Rate | None = None, settings: Mapping[str, Any] | None = None,
                  clock: Callable[[], float] | None = None) -> AsyncIterator[SmartGpsServer]:
    """`settings`: laid over the scenario's smartgps settings."""
    loaded = scenario()
    providers: dict[str, Any] = dict(loaded.delivery.providers)
    providers["smartgps"] = {**providers.get("smartgps", {}), **(settings or {})}
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    server = await start_smartgps_server(loaded, providers, rate=rate, **extra)
    try:
        yield server
    finally:
        await stop_smartgps_server(server)


async def token(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/auth/token", data=CREDENTIALS)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
