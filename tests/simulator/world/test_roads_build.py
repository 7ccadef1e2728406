"""The street network's build is written for speed (random.gauss and haversine_m written out, no object per
edge): it must build exactly the network the plain code built, the RNG left exactly where the plain code left it
(the world draws its drivers and devices from the same RNG next)."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.model import LatLon
from simulator.world.roads import (
    RoadNetwork,
    _candidates,
    _candidates_reference,
    _gauss_draws,
    _largest_component,
    _lines,
)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(0, 9), spare=st.booleans(),
       sigma=st.sampled_from([0.0, 1.0, 6.0, 0.0125, 3.75]))
def test_gauss_draws_are_random_gauss_value_for_value_and_leave_the_rng_as_it_does(
        seed: int, count: int, spare: bool, sigma: float) -> None:
    fast, plain = random.Random(seed), random.Random(seed)
    if spare:  # a pending spare deviate (random.gauss makes two at a time) is used first
        fast.gauss()
        plain.gauss()
    assert _gauss_draws(fast, count, sigma) == [plain.gauss(0.0, sigma) for _ in range(count)]
    assert fast.getstate() == plain.getstate()
    assert [fast.gauss(), fast.random()] == [plain.gauss(), plain.random()]


def test_a_random_subclass_is_asked_for_each_value() -> None:
    class Fixed(random.Random):
        def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
            return mu + 0.5 * sigma

    assert _gauss_draws(Fixed(1), 3, 2.0) == [1.0, 1.0, 1.0]


def network_digest(net: RoadNetwork) -> str:
    """Everything the world reads of a network: junctions, their neighbours, every directed edge's segment and
    routing cost, and the heuristic's speed."""
    h = hashlib.sha256()
    for n in range(net.node_count):
        h.update(repr((net.node_latlon(n), net.neighbours(n))).encode())
        for m in net.neighbours(n):
            seg = net._segment(n, m)
            k = n * 4 + net._nbr[n * 4: n * 4 + 4].index(m)
            h.update(repr((seg, net._ncost[k], net._nart[k])).encode())
    h.update(repr((net.edge_count, net._h_per_m, net._hub)).encode())
    return h.hexdigest()[:16]


#: (centre, radius km, seed) -> the digest of the network main at 31d3aec built, and the RNG's next two draws
PINNED = [
    ((-23.55, -46.63), 20.0, 1, "f2c7a43d51dfa382", 0.6675622364196904, 1.4145038194618949),
    ((-23.55, -46.63), 3.0, 7, "1c408e11f614465e", 0.8904074411483086, 0.5823911597341785),
    ((48.2, 16.37), 0.05, 3, "6fd23785358232eb", 0.9442197591517493, -1.2715415912561958),
    ((41.9, -87.6), 1.0, 5, "943b753819ed87a8", 0.6744654121991172, -0.7232719815374997),
    ((0.0, 179.99), 5.0, 9, "c0aba0692dea6b9e", 0.043255733026823506, -0.7051812566854132),
]


@pytest.mark.parametrize(("center", "radius_km", "seed", "digest", "next_random", "next_gauss"), PINNED)
def test_the_network_and_the_rng_after_it_are_what_the_plain_build_made(
        center: tuple[float, float], radius_km: float, seed: int, digest: str, next_random: float,
        next_gauss: float) -> None:
    rng = random.Random(seed)
    rng.gauss(0, 1)  # leaves a spare deviate pending: the build must use it first, as random.gauss would
    net = RoadNetwork(LatLon(*center), radius_km, rng)
    assert (network_digest(net), rng.random(), rng.gauss(0.0, 1.0)) == (digest, next_random, next_gauss)


@settings(max_examples=300, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), data=st.data())
def test_largest_component_by_runs_is_the_reference_walk(rows: int, cols: int, data: st.DataObject) -> None:
    """Any candidate set on a small grid (islands, ties of equal size, holes): the same junctions."""
    cells = data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols))
    width = cols + 1
    cand = {(i, j): (0.0, 0.0) for i in range(rows) for j in range(cols) if cells[i * cols + j]}
    if not cand:
        cand[(0, 0)] = (0.0, 0.0)
    codes = sorted(i * width + j for i, j in cand)
    runs = _largest_component(codes, width)
    got = [divmod(codes[first + k], width) for first, count in runs for k in range(count)]
    assert got == RoadNetwork._largest_component_reference(cand, width)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), radius_km=st.sampled_from([0.01, 0.05, 0.3, 1.0, 2.5, 7.0]),
       spare=st.booleans())
def test_candidates_are_the_reference_points_and_leave_the_rng_as_it_does(
        seed: int, radius_km: float, spare: bool) -> None:
    """The same kept points, floats and RNG state (the points beyond the disc skipped by getrandbits), also with a
    spare deviate pending (then the reference's draws are used)."""
    radius = radius_km * 1000.0
    scale = min(1.0, radius / 1500.0)
    lines = random.Random(seed ^ 1)
    us = _lines(lines, radius, 200.0 * scale, 400.0 * scale)
    vs = _lines(lines, radius, 200.0 * scale, 400.0 * scale)
    fast, plain = random.Random(seed), random.Random(seed)
    if spare:
        fast.gauss()
        plain.gauss()
    got = _candidates(fast, us, vs, radius, 6.0 * scale, 15.0 * scale)
    assert got == _candidates_reference(plain, us, vs, radius, 6.0 * scale, 15.0 * scale)
    assert fast.getstate() == plain.getstate()
