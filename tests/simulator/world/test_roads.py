"""The synthetic street grid and its routes."""

from __future__ import annotations

import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.model import LatLon
from simulator.world.geo import angle_diff_deg, distance_m, haversine_m, initial_bearing_deg
from simulator.world.roads import ARTERIAL, STREET, RoadNetwork, Route

SAO_PAULO = LatLon(-23.5505, -46.6333)
OSLO = LatLon(59.9139, 10.7522)
STREET_LIMITS = {30.0, 40.0, 50.0}
ARTERIAL_LIMITS = {60.0, 70.0, 80.0}


@cache
def network(seed: int, center: LatLon = SAO_PAULO, radius_km: float = 4.0) -> RoadNetwork:
    return RoadNetwork(center, radius_km, random.Random(seed))


def check_route(net: RoadNetwork, route: Route, a: int, b: int) -> None:
    segs = route.segments
    assert route.nodes[0] == a and route.nodes[-1] == b
    assert route.start == net.node_latlon(a) and route.end == net.node_latlon(b)
    assert len(route.turn_angles) == len(route.controlled) == max(0, len(segs) - 1)
    assert len(route.cum_m) == len(segs) + 1 and route.cum_m[0] == 0.0
    if not segs:
        assert a == b and route.length_m == 0.0
        return
    assert segs[0].start == route.start and segs[-1].end == route.end
    total = 0.0
    for k, s in enumerate(segs):
        if k:
            assert s.start == segs[k - 1].end  # connected
            assert route.turn_angles[k - 1] == pytest.approx(angle_diff_deg(segs[k - 1].bearing_deg, s.bearing_deg))
        assert route.cum_m[k] == pytest.approx(total)
        assert s.length_m == pytest.approx(distance_m(s.start, s.end))
        assert s.bearing_deg == pytest.approx(initial_bearing_deg(s.start.lat, s.start.lon, s.end.lat, s.end.lon))
        assert s.limit_kmh > 0
        assert s.limit_kmh in (ARTERIAL_LIMITS if s.road_class == ARTERIAL else STREET_LIMITS)
        assert s.road_class in (STREET, ARTERIAL) and s.road
        assert distance_m(net.center, s.end) <= net.radius_m + 50  # inside the region
        total += s.length_m
    assert route.length_m == pytest.approx(total)
    assert len(set(route.nodes)) == len(route.nodes)  # no loops


def test_network_shape() -> None:
    net = network(1)
    assert 300 < net.node_count < 1500  # a 4 km disc with 200-400 m blocks
    assert net.edge_count > 1.7 * net.node_count  # a grid: ~2 edges per junction
    lengths = []
    for n in range(net.node_count):
        p = net.node_latlon(n)
        assert distance_m(net.center, p) <= net.radius_m + 20
        for m in net.neighbours(n):
            assert n in net.neighbours(m)
            lengths.append(distance_m(p, net.node_latlon(m)))
    assert min(lengths) > 150 and max(lengths) < 450
    assert 200 < sum(lengths) / len(lengths) < 400


def test_network_is_connected() -> None:
    net = network(2)
    seen = {0}
    stack = [0]
    while stack:
        for m in net.neighbours(stack.pop()):
            if m not in seen:
                seen.add(m)
                stack.append(m)
    assert len(seen) == net.node_count


def test_same_seed_same_network_and_routes() -> None:
    a = RoadNetwork(SAO_PAULO, 3.0, random.Random(7))
    b = RoadNetwork(SAO_PAULO, 3.0, random.Random(7))
    c = RoadNetwork(SAO_PAULO, 3.0, random.Random(8))
    assert a.node_count == b.node_count
    assert [a.node_latlon(n) for n in range(a.node_count)] == [b.node_latlon(n) for n in range(b.node_count)]
    assert a.route(0, a.node_count - 1) == b.route(0, b.node_count - 1)
    assert [a.node_latlon(n) for n in range(10)] != [c.node_latlon(n) for n in range(10)]


@given(st.integers(0, 3), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_routes_are_connected_and_inside_the_region(net_seed: int, seed: int) -> None:
    net = network(net_seed)
    rng = random.Random(seed)
    a, b = net.random_node(rng), net.random_node(rng)
    check_route(net, net.route(a, b), a, b)


def test_routes_far_north_and_in_a_tiny_region() -> None:
    for net in (network(5, OSLO, 3.0), network(6, SAO_PAULO, 0.6), network(7, SAO_PAULO, 25.0)):
        rng = random.Random(1)
        for _ in range(10):
            a, b = net.random_node(rng), net.random_node(rng)
            check_route(net, net.route(a, b), a, b)


def test_route_to_itself_is_empty() -> None:
    net = network(1)
    r = net.route(5, 5)
    check_route(net, r, 5, 5)
    assert r.segments == () and r.length_m == 0.0


def test_routes_prefer_arterials_and_are_not_detours() -> None:
    net = network(3, SAO_PAULO, 10.0)
    rng = random.Random(3)
    arterial_m = total_m = 0.0
    for _ in range(20):
        a, b = net.random_node(rng), net.random_node(rng)
        r = net.route(a, b)
        crow = distance_m(r.start, r.end)
        if crow < 3000:
            continue
        assert r.length_m < 1.6 * crow  # a grid route is at most √2 × the crow flight, plus a little
        arterial_m += sum(s.length_m for s in r.segments if s.road_class == ARTERIAL)
        total_m += r.length_m
        turns = sum(abs(t) > 30 for t in r.turn_angles)
        assert turns <= 8  # no staircase through the grid
    assert total_m > 0 and arterial_m / total_m > 0.5


def test_route_is_cached() -> None:
    net = network(1)
    assert net.route(1, 40) is net.route(1, 40)


def test_nearest_node() -> None:
    net = network(4)
    for n in range(0, net.node_count, 7):
        assert net.nearest_node(net.node_latlon(n)) == n
    rng = random.Random(4)
    for _ in range(40):
        p = LatLon(net.center.lat + rng.uniform(-0.05, 0.05), net.center.lon + rng.uniform(-0.05, 0.05))
        got = net.nearest_node(p)
        best = min(range(net.node_count), key=lambda n: distance_m(p, net.node_latlon(n)))
        assert distance_m(p, net.node_latlon(got)) == pytest.approx(distance_m(p, net.node_latlon(best)), abs=1.0)


def test_random_node_covers_the_region() -> None:
    net = network(1)
    rng = random.Random(9)
    pts = [net.node_latlon(net.random_node(rng)) for _ in range(400)]
    dists = [haversine_m(net.center.lat, net.center.lon, p.lat, p.lon) for p in pts]
    assert max(dists) <= net.radius_m + 20
    assert sum(d < net.radius_m / 2 for d in dists) / len(dists) == pytest.approx(0.25, abs=0.08)  # uniform area
    assert len({(round(p.lat, 2), round(p.lon, 2)) for p in pts}) > 20


def test_names_and_limits_per_road() -> None:
    net = network(1)
    rng = random.Random(2)
    limits: dict[str, set[float]] = {}
    for _ in range(30):
        r = net.route(net.random_node(rng), net.random_node(rng))
        for s in r.segments:
            limits.setdefault(s.road, set()).add(s.limit_kmh)
    assert all(len(v) == 1 for v in limits.values())  # one limit per named road
    assert any(v & ARTERIAL_LIMITS for v in limits.values()) and any(v & STREET_LIMITS for v in limits.values())


def test_rejects_bad_radius() -> None:
    with pytest.raises(ValueError):
        RoadNetwork(SAO_PAULO, 0.0, random.Random(1))
