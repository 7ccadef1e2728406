"""RoadNetwork._astar is written for speed (edges per junction and arterial hops read from tables built on first
use, turn costs from a table); `_astar_reference` is the plain search it replaced. Both must return the same
path for every query, ties included: compared here over many node pairs on every shipped scenario's network,
with the local zones `_search` gives them (`_local`, checked against `_zone`) and without (the unrestricted
fallback), and on small random networks."""

from __future__ import annotations

import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import LatLon
from simulator.world.roads import RoadNetwork
from simulator.world.sim import World

SCENARIOS = sorted(p.name for p in scenarios_dir().glob("*.yaml"))


@cache
def scenario_network(name: str) -> RoadNetwork:
    return World(load_scenario(scenarios_dir() / name)).network


def same_paths(net: RoadNetwork, pairs: list[tuple[int, int]], *, local: bool) -> None:
    for a, b in pairs:
        zone = net._zone(a) | net._zone(b) if local else None
        if zone is not None:
            assert net._local(a, b) == zone, (a, b)  # the zones read off the grid: the same junctions
        assert net._astar(a, b, zone) == net._astar_reference(a, b, zone), (a, b, local)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_fast_search_finds_the_reference_path_on_every_shipped_network(name: str) -> None:
    net = scenario_network(name)
    rng = random.Random(f"astar:{name}")
    pairs = [(net.random_node(rng), net.random_node(rng)) for _ in range(400)]
    # neighbours and near neighbours too: the zones overlap, hops end at local junctions
    for a, _ in pairs[:100]:
        for b in net.neighbours(a):
            pairs.append((a, b))
            pairs.extend((b, c) for c in net.neighbours(b) if c != a)
    same_paths(net, pairs, local=True)
    same_paths(net, pairs[:25], local=False)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), radius_km=st.sampled_from([0.05, 0.2, 0.6, 1.5, 3.0]),
       picks=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True)),
                      min_size=1, max_size=20))
def test_the_fast_search_finds_the_reference_path_on_random_networks(
        seed: int, radius_km: float, picks: list[tuple[float, float]]) -> None:
    net = RoadNetwork(LatLon(45.0, 7.0), radius_km, random.Random(seed))
    n = net.node_count
    pairs = [(int(x * n), int(y * n)) for x, y in picks]
    same_paths(net, pairs, local=True)
    same_paths(net, pairs, local=False)


@pytest.mark.parametrize("name", SCENARIOS)
def test_fast_route_building_gives_the_reference_route_on_every_shipped_network(name: str) -> None:
    """`_build_route` reads segments and junction flags from tables: it must give what the plain builder gives,
    for fresh and for already-built segments."""
    net = World(load_scenario(scenarios_dir() / name)).network  # its own: segments not yet built
    rng = random.Random(f"route:{name}")
    pairs = [(net.random_node(rng), net.random_node(rng)) for _ in range(150)]
    pairs += [(a, a) for a, _ in pairs[:3]]  # an empty route
    for a, b in pairs:
        path = net._search(a, b)
        built = net._build_route(path)  # first: builds the segments it is the first to use
        assert built == net._build_route_reference(path), (a, b)
        assert net._build_route(path) == built


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), radius_km=st.sampled_from([0.05, 0.2, 0.6, 1.5]),
       picks=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True)),
                      min_size=1, max_size=10))
def test_fast_route_building_gives_the_reference_route_on_random_networks(
        seed: int, radius_km: float, picks: list[tuple[float, float]]) -> None:
    net = RoadNetwork(LatLon(45.0, 7.0), radius_km, random.Random(seed))
    n = net.node_count
    for x, y in picks:
        a, b = int(x * n), int(y * n)
        path = net._search(a, b)
        assert net._build_route(path) == net._build_route_reference(path)
