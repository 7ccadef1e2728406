"""The route cache stays bounded however long the run, and keeps the routes that recur."""

from __future__ import annotations

import random

import pytest

from simulator.scenario.model import LatLon
from simulator.world import roads
from simulator.world.roads import RoadNetwork


def test_the_route_cache_is_bounded_and_evicts_the_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(roads, "ROUTE_CACHE_MAX", 8)
    net = RoadNetwork(LatLon(-23.55, -46.63), 2.0, random.Random(3))
    depot = net.route(0, 1)
    for b in range(2, 9):  # seven more distinct trips: the cache is full
        net.route(0, b)
    assert net.route(0, 1) is depot  # a trip that recurs is used again (and becomes the most recent)
    for b in range(9, 30):
        net.route(0, b)
        assert net.cached_routes <= 8
    assert net.cached_routes == 8
    before = net.route(0, 29)
    assert net.route(0, 29) is before
    rebuilt = net.route(0, 3)  # long evicted: searched again, the same route
    assert rebuilt.nodes == RoadNetwork(LatLon(-23.55, -46.63), 2.0, random.Random(3)).route(0, 3).nodes

