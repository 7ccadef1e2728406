"""A small PowUnity scenario served on a real port, for the `fleetsim serve` tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from simulator.scenario.loader import load_scenario_text
from simulator.scenario.model import Rate, Scenario
from simulator.servers.traccar import TraccarServer, start_traccar_server, stop_traccar_server
from simulator.servers.traccar.accounts import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "DEMO_TOKEN", "SCENARIO", "scenario", "serving"]

# two bikes in Vienna, parked and armed at first (as e-bikes begin), riding from about two minutes in, a fix every
# 5 s: at x240 the first ride starts within half a second, then a frame every ~20 ms for ~10 s
SCENARIO = """\
name: serve-test
seed: 11
start: "2026-09-21T07:00:00"
duration: 40m
region: {city: vienna}
report_intervals: {moving: 5s}
fleet:
  - {name: bikes, count: 2, provider: powunity, profile: e-bike, stops_per_trip: 1, dwell: 5m}
geofences:
  - {name: Home, circle: {center: {lat: 48.2082, lon: 16.3738}, radius_m: 3000}}
delivery:
  rate: x240
"""


def scenario(text: str = SCENARIO) -> Scenario:
    return load_scenario_text(text, "serve-test.yaml")


@asynccontextmanager
async def serving(*, profile: str = "traccar-4.12", rate: Rate | None = None, **options: Any,
                  ) -> AsyncIterator[TraccarServer]:
    server = await start_traccar_server(scenario(), profile=profile, rate=rate, **options)
    try:
        yield server
    finally:
        await stop_traccar_server(server)
