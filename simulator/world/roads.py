"""A synthetic street network for a region, and routes over it.

The network is a rotated street grid laid over a disc of `radius_km` around the region centre: grid lines
200–400 m apart (blocks of different sizes, like a real city), junctions jittered by a few metres so streets
are not ruler-straight, and every few lines an arterial. Streets have 30/40/50 km/h limits, arterials
60/70/80 km/h. Each line is one named road, so a route reads like "down Oak Street, left on 3rd Avenue".

Routing is A* over (junction, heading) states: edge cost is travel time at the limit (streets weighted up so
drivers prefer arterials), plus a penalty per turn so routes do not staircase through the grid. It runs once
per trip, never per event; results are cached per (from, to) pair.

Pure: randomness only from the `random.Random` passed in; the same seed gives the same network and routes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import operator
import random
from collections import OrderedDict
from dataclasses import dataclass
from functools import reduce

from ..scenario.model import LatLon
from .geo import _DEG, _RAD, EARTH_RADIUS_M, LocalProjection, angle_diff_deg, initial_bearing_deg

BLOCK_MIN_M = 200.0
BLOCK_MAX_M = 400.0
JITTER_M = 6.0  # 1-σ displacement of a junction from its ideal grid position
JITTER_MAX_M = 15.0
ARTERIAL_EVERY = (4, 6)  # an arterial every 4 to 6 grid lines (≈ 1–2 km)
STREET_LIMITS = ((30.0, 2), (40.0, 3), (50.0, 5))  # (km/h, weight)
ARTERIAL_LIMITS = ((60.0, 4), (70.0, 4), (80.0, 2))
STREET_COST_FACTOR = 1.25  # routing prefers arterials: a street minute "costs" 1.25 minutes
TURN_PENALTY_S = 10.0  # routing cost of a left/right turn
UTURN_PENALTY_S = 120.0  # only when nothing else works (dead ends at the region's rim)
HEURISTIC_KMH = 75.0  # A* heuristic speed (see RoadNetwork.__init__)
ROUTE_CACHE_MAX = 2048  # routes kept by RoadNetwork.route (each holds its segments: a few kB)

STREET = "street"
ARTERIAL = "arterial"

_WORDS = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Birch", "Willow", "Chestnut", "Walnut", "Aspen", "Laurel", "Magnolia",
    "Acacia", "Cypress", "Poplar", "Spruce", "Juniper", "Hawthorn", "Linden", "Sycamore", "Palm", "Olive", "Ivy",
    "Rose", "Lily", "Orchid", "Jasmine", "Lotus", "Harbor", "River", "Lake", "Hill", "Valley", "Meadow", "Forest",
    "Park", "Garden", "Market", "Mill", "Bridge", "Church", "School", "Station", "College", "Union", "Liberty",
    "Franklin", "Lincoln", "Madison", "Jefferson", "Jackson", "Monroe", "Hamilton", "Adams", "Grant", "Sherman",
    "Sunset", "Sunrise", "Highland", "Central", "Spring", "Summer", "Autumn", "Winter", "Lakeview", "Riverside",
)
_STREET_SUFFIX = ("Street", "Road", "Lane", "Way", "Drive")
_ARTERIAL_SUFFIX = ("Avenue", "Boulevard", "Parkway")
_TWOPI = 2.0 * math.pi  # as random.TWOPI
#: _astar's turn costs, [arrival direction][departure direction]; arrival 4 = the start (no turn). Directions are
#: 0:+i 1:-i 2:+j 3:-j, so d ^ 1 is the opposite one (a U-turn); -1.0 = not allowed (local searches)
_TURNS = tuple(tuple(0.0 if d_in in (4, d) else UTURN_PENALTY_S if d == d_in ^ 1 else TURN_PENALTY_S
                     for d in range(4)) for d_in in range(5))
_TURNS_NO_UTURN = tuple(tuple(-1.0 if d_in != 4 and d == d_in ^ 1 else pen for d, pen in enumerate(row))
                        for d_in, row in enumerate(_TURNS))


@dataclass(frozen=True, slots=True)
class Segment:
    """One edge of a route, junction to junction."""

    start: LatLon
    end: LatLon
    length_m: float
    bearing_deg: float  # initial bearing start → end, [0, 360)
    limit_kmh: float
    road: str
    road_class: str  # street | arterial


@dataclass(frozen=True, slots=True)
class Route:
    """A path through the network.

    `turn_angles[k]` is the signed deflection (degrees, positive = right turn, (-180, 180]) at the junction
    between `segments[k]` and `segments[k + 1]`; `controlled[k]` says whether that junction has a traffic
    light (two arterials) or a give-way (a street entering an arterial), where the driver may have to stop.
    `cum_m[k]` is the distance from the start to the beginning of segment k; `cum_m[-1] == length_m`.
    A route from a node to itself has no segments."""

    nodes: tuple[int, ...]
    segments: tuple[Segment, ...]
    turn_angles: tuple[float, ...]
    controlled: tuple[bool, ...]
    cum_m: tuple[float, ...]
    start: LatLon
    end: LatLon

    @property
    def length_m(self) -> float:
        return self.cum_m[-1]

    @property
    def free_flow_s(self) -> float:
        """Travel time at exactly the limits, ignoring corners and stops (a lower bound for planning)."""
        return sum(s.length_m / (s.limit_kmh / 3.6) for s in self.segments)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _weighted(rng: random.Random, table: tuple[tuple[float, int], ...]) -> float:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _lines(rng: random.Random, reach: float, lo: float, hi: float) -> list[float]:
    """Grid line positions covering [-reach, reach], spaced uniformly in [lo, hi], randomly phased."""
    first = rng.uniform(-0.5, 0.5) * hi
    pos = [first]
    while pos[-1] < reach:
        pos.append(pos[-1] + rng.uniform(lo, hi))
    neg: list[float] = []
    p = first
    while p > -reach:
        p -= rng.uniform(lo, hi)
        neg.append(p)
    return neg[::-1] + pos


class RoadNetwork:
    """A rotated, jittered street grid over the disc of `radius_km` around `center`.

    Nodes are junctions, identified by ints 0..node_count-1."""

    def __init__(self, center: LatLon, radius_km: float, rng: random.Random) -> None:
        if not radius_km > 0.0:
            raise ValueError(f"radius_km must be positive, got {radius_km}")
        self.center = center
        self.radius_m = radius_km * 1000.0
        self.proj = LocalProjection(center)
        radius = self.radius_m
        # small regions get proportionally smaller blocks so there is still a grid to drive on
        scale = min(1.0, radius / 1500.0)
        lo, hi = BLOCK_MIN_M * scale, BLOCK_MAX_M * scale
        jitter_sd, jitter_max = JITTER_M * scale, JITTER_MAX_M * scale
        self.rotation_deg = rng.uniform(0.0, 90.0)
        rot = math.radians(self.rotation_deg)
        self._cos, self._sin = math.cos(rot), math.sin(rot)
        us = _lines(rng, radius, lo, hi)
        vs = _lines(rng, radius, lo, hi)
        self._us, self._vs = us, vs

        def line_attrs(count: int, numbered: bool) -> tuple[list[bool], list[str], list[float]]:
            every = rng.randint(*ARTERIAL_EVERY)
            phase = rng.randrange(every)
            arterial = [(k - phase) % every == 0 for k in range(count)]
            words = list(_WORDS)
            rng.shuffle(words)
            names: list[str] = []
            used: set[str] = set()
            for k in range(count):
                if numbered:
                    name = f"{_ordinal(k + 1)} {'Avenue' if arterial[k] else 'Street'}"
                else:
                    suffixes = _ARTERIAL_SUFFIX if arterial[k] else _STREET_SUFFIX
                    base = f"{words[k % len(words)]} {suffixes[rng.randrange(len(suffixes))]}"
                    name, n = base, 2
                    while name in used:
                        name, n = f"{base} {n}", n + 1
                used.add(name)
                names.append(name)
            limits = [_weighted(rng, ARTERIAL_LIMITS if a else STREET_LIMITS) for a in arterial]
            return arterial, names, limits

        # i-lines (u constant) carry the edges between (i, j) and (i, j+1); j-lines the edges (i, j)-(i+1, j)
        self._i_art, self._i_name, self._i_limit = line_attrs(len(us), numbered=True)
        self._j_art, self._j_name, self._j_limit = line_attrs(len(vs), numbered=False)

        # candidate junctions inside the disc, jittered: two draws per grid point, u's then v's, whether or not
        # the point is kept (the RNG's later draws depend on how many were made). A candidate is kept by its
        # position on the junction grid, code = i * width + j (a spare column j = len(vs) that never holds one, so
        # two consecutive codes are always neighbours on one i-line), in (i, j) order
        width = len(vs) + 1
        codes, cus, cvs = _candidates(rng, us, vs, radius, jitter_sd, jitter_max)
        if not codes:  # pathological tiny radius: a single junction at the centre
            codes, cus, cvs = [0], [0.0], [0.0]
        # junctions are the largest component's candidates, numbered in (i, j) order, taken a run (consecutive
        # junctions of one i-line) at a time; `grid` finds one by position: grid[i * width + j] (-1 = none; a
        # spare row and column of -1 past the ends, so i + 1 and j + 1 need no bounds check, and i - 1 or j - 1
        # at 0 reads the spare row at the end, as a negative index)
        runs = _largest_component(codes, width)
        grid = [-1] * ((len(us) + 1) * width)
        self._ij: list[tuple[int, int]] = []
        gu: list[float] = []
        gv: list[float] = []
        #: two arterials cross at the junction (a traffic light), one arterial at least passes it
        self._hub: list[bool] = []
        self._on_arterial: list[bool] = []
        i_art, j_art = self._i_art, self._j_art
        node_codes: list[int] = []
        ii: list[int] = []  # each junction's i and j
        jj: list[int] = []
        for first, count in runs:
            code = codes[first]
            i, j = divmod(code, width)
            n = len(node_codes)
            grid[code:code + count] = range(n, n + count)
            node_codes.extend(range(code, code + count))
            ii.extend(itertools.repeat(i, count))
            jj.extend(range(j, j + count))
            self._ij.extend(zip(itertools.repeat(i, count), range(j, j + count), strict=False))
            gu.extend(cus[first:first + count])
            gv.extend(cvs[first:first + count])
            if i_art[i]:
                self._hub.extend(j_art[j:j + count])
                self._on_arterial.extend(itertools.repeat(True, count))
            else:
                self._hub.extend(itertools.repeat(False, count))
                self._on_arterial.extend(j_art[j:j + count])
        self._gu, self._gv = gu, gv
        # each junction's latitude and longitude: proj.to_latlon(uu * cos_r - vv * sin_r, uu * sin_r + vv * cos_r)
        # (self._to_xy), written out, its latitude in radians and that one's cosine kept for the edge lengths
        # (to_latlon's cos(lat * _DEG) is the same float)
        cos_r, sin_r = self._cos, self._sin
        lat0, lon0 = self.proj.center.lat, self.proj.center.lon
        lats = [lat0 + (uu * sin_r + vv * cos_r) / EARTH_RADIUS_M * _RAD for uu, vv in zip(gu, gv, strict=True)]
        rad = [lat * _DEG for lat in lats]
        cos_lat = list(map(math.cos, rad))
        lons = [(lon0 + ((uu * cos_r - vv * sin_r) / (EARTH_RADIUS_M * c) * _RAD if c > 1e-12 else 0.0)
                 + 540.0) % 360.0 - 180.0 for uu, vv, c in zip(gu, gv, cos_lat, strict=True)]
        self._lat, self._lon = lats, lons

        # flat adjacency, indexed node * 4 + direction; directions 0:+i 1:-i 2:+j 3:-j (d ^ 1 = opposite): the
        # neighbour (-1 = none), the edge's length (m), its routing cost (s), whether it is part of an arterial.
        # No object or id per edge (bench-mixed has ~27,000 of them): each list is made a direction at a time
        # (the edges to +i and to +j computed, the other two directions copies of them from the far end), and
        # _segment reads an edge's road and limit off its grid line when a route first uses it
        n_nodes = len(node_codes)
        nbr: list[int] = [-1] * (4 * n_nodes)
        nlen: list[float] = [0.0] * (4 * n_nodes)
        ncost: list[float] = [0.0] * (4 * n_nodes)
        nart: list[bool] = [False] * (4 * n_nodes)
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        two_r = 2.0 * EARTH_RADIUS_M
        for d, step, arts, limits, lines in ((0, width, j_art, self._j_limit, jj), (2, 1, i_art, self._i_limit, ii)):
            ahead = [grid[c + step] for c in node_codes]
            behind = [grid[c - step] for c in node_codes]
            # haversine_m(lats[n], lons[n], lats[m], lons[m]) of each edge n -> m ahead, written out with the
            # per-node terms
            length = [two_r * asin(root if (root := sqrt(
                sin((rad[m] - rad_n) * 0.5) ** 2 + cos_n * cos_lat[m] * sin((lons[m] - lon_n) * _DEG * 0.5) ** 2))
                < 1.0 else 1.0) if m >= 0 else 0.0
                for m, rad_n, cos_n, lon_n in zip(ahead, rad, cos_lat, lons, strict=True)]
            # length / (limit / 3.6) * (1.0 if arterial else STREET_COST_FACTOR), the line's, a double per edge
            speed = [limit / 3.6 for limit in limits]
            factor = [1.0 if art else STREET_COST_FACTOR for art in arts]
            cost = [x / speed[k] * factor[k] if m >= 0 else 0.0
                    for x, m, k in zip(length, ahead, lines, strict=True)]
            art_ahead = [arts[k] if m >= 0 else False for m, k in zip(ahead, lines, strict=True)]
            nbr[d::4] = ahead
            nbr[d + 1::4] = behind
            nlen[d::4] = length
            nlen[d + 1::4] = [length[m] if m >= 0 else 0.0 for m in behind]
            ncost[d::4] = cost
            ncost[d + 1::4] = [cost[m] if m >= 0 else 0.0 for m in behind]
            nart[d::4] = art_ahead
            nart[d + 1::4] = [art_ahead[m] if m >= 0 else False for m in behind]
        self._nbr, self._nlen, self._ncost, self._nart = nbr, nlen, ncost, nart
        self._edge_count = 2 * n_nodes - nbr[0::4].count(-1) - nbr[2::4].count(-1)
        self._i_art_idx = [k for k, a in enumerate(self._i_art) if a]
        self._j_art_idx = [k for k, a in enumerate(self._j_art) if a]
        # the top limit of the lines that have an edge
        j_edged = {k for k, m in zip(jj, nbr[0::4], strict=True) if m >= 0}
        i_edged = {k for k, m in zip(ii, nbr[2::4], strict=True) if m >= 0}
        max_limit = max([self._j_limit[k] for k in j_edged] + [self._i_limit[k] for k in i_edged], default=50.0)
        # A* heuristic: Manhattan metres at a brisk arterial speed. Slightly optimistic networks-wide (so routes
        # are within a few % of the fastest, like a driver's), and it keeps the search ~2x narrower than the
        # strictly admissible top speed would.
        self._h_per_m = 1.0 / (min(max_limit, HEURISTIC_KMH) / 3.6)
        self._segments: dict[int, Segment] = {}  # built lazily per directed edge (node * 4 + direction)
        self._points: dict[int, LatLon] = {}
        self._cache: OrderedDict[tuple[int, int], Route] = OrderedDict()
        # what _astar reads, built per junction / arterial edge on first use (see _out, _run)
        self._outs: dict[int, tuple[tuple[int, int, int, float, bool], ...]] = {}
        self._runs: dict[int, tuple[tuple[int, ...], tuple[float, ...], bool]] = {}
        self._grid, self._width = grid, width  # for _local

    # -- geometry ----------------------------------------------------------------------------------------

    def _to_xy(self, u: float, v: float) -> tuple[float, float]:
        return u * self._cos - v * self._sin, u * self._sin + v * self._cos

    def _to_uv(self, x: float, y: float) -> tuple[float, float]:
        return x * self._cos + y * self._sin, -x * self._sin + y * self._cos

    @staticmethod
    def _largest_component_reference(cand: dict[tuple[int, int], tuple[float, float]],
                                     width: int) -> list[tuple[int, int]]:
        """`_largest_component` as it was written before, kept as its reference (tests/simulator/world/
        test_roads_build.py): the largest 4-connected set of candidate junctions (the first found, in (i, j)
        order, of the largest size), sorted. `width` is more than any j: a junction's code i * (width + 1) + j + 1
        makes its four neighbours code ± 1 and code ± (width + 1), never another junction's code off the grid."""
        stride = width + 1
        codes = {i * stride + j + 1 for i, j in cand}
        seen: set[int] = set()
        best: set[int] = set()
        for start in sorted(codes):
            if start in seen:
                continue
            comp = {start}
            stack = [start]
            while stack:
                c = stack.pop()
                for nb in (c + stride, c - stride, c + 1, c - 1):
                    if nb in codes and nb not in comp:
                        comp.add(nb)
                        stack.append(nb)
            seen |= comp
            if len(comp) > len(best):
                best = comp
                if 2 * len(best) > len(codes):
                    break  # the rest is smaller
        return [divmod(c - 1, stride) for c in sorted(best)]

    # -- queries -----------------------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        return len(self._ij)

    @property
    def edge_count(self) -> int:
        return self._edge_count

    def node_latlon(self, node: int) -> LatLon:
        return LatLon(self._lat[node], self._lon[node])

    def neighbours(self, node: int) -> list[int]:
        return [m for m in self._nbr[node * 4: node * 4 + 4] if m >= 0]

    def random_node(self, rng: random.Random) -> int:
        """A junction chosen uniformly (junctions are spread evenly, so this is uniform over the region)."""
        return rng.randrange(len(self._ij))

    def nearest_node(self, p: LatLon) -> int:
        """The junction closest to `p` (inside or outside the region)."""
        x, y = self.proj.to_xy(p.lat, p.lon)
        u, v = self._to_uv(x, y)
        i0 = _nearest_index(self._us, u)
        j0 = _nearest_index(self._vs, v)
        best, best_d = -1, math.inf
        grid, width, n_i, n_j = self._grid, self._width, len(self._us), len(self._vs)
        for i in range(max(0, i0 - 2), min(n_i, i0 + 3)):
            for j in range(max(0, j0 - 2), min(n_j, j0 + 3)):
                n = grid[i * width + j]
                if n >= 0:
                    d = (self._gu[n] - u) ** 2 + (self._gv[n] - v) ** 2
                    if d < best_d:
                        best, best_d = n, d
        if best < 0:  # far outside the grid: scan everything (rare)
            for n in range(len(self._ij)):
                d = (self._gu[n] - u) ** 2 + (self._gv[n] - v) ** 2
                if d < best_d:
                    best, best_d = n, d
        return best

    def route(self, a: int, b: int) -> Route:
        """Fastest route from junction `a` to junction `b` (cached, least recently used first out)."""
        key = (a, b)
        cache = self._cache
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            return hit
        r = self._build_route(self._search(a, b))
        cache[key] = r
        if len(cache) > ROUTE_CACHE_MAX:
            # bounded whatever the run's length: a month of a large fleet draws tens of thousands of distinct
            # trips; the ones that recur (to and from a depot) stay
            cache.popitem(last=False)
        return r

    @property
    def cached_routes(self) -> int:
        return len(self._cache)

    # -- routing -----------------------------------------------------------------------------------------

    def _local(self, a: int, b: int) -> set[int]:
        """`_zone(a) | _zone(b)`, the same set, read off the junction grid a row of a cell at a time: junctions
        (i, j0..j1) are one slice of `_grid` (-1 where there is none). Once per trip, ~100 junctions: per junction
        `_zone` makes a tuple and looks it up in a dict (bench-mixed --limit 100000: 0.67 % of the command's
        instructions went with them)."""
        ij, grid, width = self._ij, self._grid, self._width
        i_art, j_art, last_i, last_j = self._i_art_idx, self._j_art_idx, len(self._us) - 1, len(self._vs) - 1
        local: set[int] = set()
        update = local.update
        for node in (a, b):
            i, j = ij[node]
            i0, i1 = _around(i_art, i, last_i)
            j0, j1 = _around(j_art, j, last_j)
            for row in range(i0 * width, i1 * width + 1, width):
                update(grid[row + j0:row + j1 + 1])
        local.discard(-1)
        return local

    def _zone(self, node: int) -> set[int]:
        """Junctions of the arterial cell(s) around `node`, boundary arterials included: where a driver uses
        streets. A node on an arterial gets the cells on both sides; at the rim the zone runs to the edge.
        Kept as `_local`'s reference (tests/simulator/world/test_astar.py)."""
        i, j = self._ij[node]
        i0, i1 = _around(self._i_art_idx, i, len(self._us) - 1)
        j0, j1 = _around(self._j_art_idx, j, len(self._vs) - 1)
        grid, width = self._grid, self._width
        zone: set[int] = set()
        for ii in range(i0, i1 + 1):
            for jj in range(j0, j1 + 1):
                n = grid[ii * width + jj]
                if n >= 0:
                    zone.add(n)
        return zone

    def _search(self, a: int, b: int) -> list[int]:
        n_nodes = len(self._ij)
        if not (0 <= a < n_nodes and 0 <= b < n_nodes):
            raise IndexError(f"node out of range: {a}, {b} (network has {n_nodes})")
        if a == b:
            return [a]
        # streets near both ends, arterials in between (what drivers do, and ~50x fewer states to search);
        # the unrestricted search is the fallback for odd corners at the rim
        path = self._astar(a, b, self._local(a, b))
        if path is None:
            path = self._astar(a, b, None)
        if path is None:  # cannot happen on a connected network
            raise RuntimeError(f"no route from {a} to {b}")
        return path

    def _astar(self, a: int, b: int, local: set[int] | None) -> list[int] | None:
        """A* over (junction, arrival direction) states with turn costs.

        With `local`, streets may only be used inside `local`; elsewhere the search runs along arterials,
        hopping straight from one arterial crossing (or local junction) to the next in one step. Without it,
        every edge is open and U-turns are allowed at a high cost.

        The search of `_astar_reference`, step for step: the same heap entries (so the same ties, broken the
        same way) and the same float sums in the same order. Faster in how it reads the network: a junction's
        edges come from `_out` (no empty directions), the turn costs from a table, and a hop along an arterial
        from `_run` (its junctions and edge costs, found once per arterial edge instead of walked junction by
        junction in every search)."""
        gu, gv, hpm = self._gu, self._gv, self._h_per_m
        outs, out_of, runs, run_of = self._outs, self._out, self._runs, self._run
        turns = _TURNS if local is None else _TURNS_NO_UTURN
        bu, bv = gu[b], gv[b]
        # state = node * 4 + arrival direction; the start state is -1 - a (no arrival direction, no turn cost)
        start = -1 - a
        g: dict[int, float] = {start: 0.0}
        parent: dict[int, int] = {}
        heap: list[tuple[float, float, int]] = [(0.0, 0.0, start)]
        push, pop = heapq.heappush, heapq.heappop
        get = g.get
        add = operator.add
        inf = math.inf
        goal: int | None = None
        while heap:
            _, gs, s = pop(heap)
            if gs > g[s]:
                continue
            if s < 0:
                node, d_in = -1 - s, 4
            else:
                node, d_in = s >> 2, s & 3
            if node == b:
                goal = s
                break
            out = outs.get(node)
            if out is None:
                out = out_of(node)
            penalty = turns[d_in]
            for d, k, m, edge_cost, arterial in out:
                pen = penalty[d]
                if pen < 0.0:
                    continue  # no U-turn in a local search
                # as the reference: the edge's cost, then the turn's (adding 0.0 going straight changes nothing)
                cost = gs + edge_cost + pen
                if local is not None and m not in local:
                    if not arterial:
                        continue  # no streets away from the ends
                    run = runs.get(k)
                    if run is None:
                        run = run_of(k)
                    nodes, costs, crossing = run
                    if local.isdisjoint(nodes):  # straight along the arterial to the next crossing
                        if not crossing:
                            continue  # the arterial ends at the rim
                        m = nodes[-1]
                        cost = reduce(add, costs, cost)  # left to right, as the reference's walk adds them
                    else:  # up to the first local junction on the way
                        for step, n in enumerate(nodes):
                            if n in local:
                                break
                            cost += costs[step]
                        m = n
                t = m * 4 + d
                if cost < get(t, inf):
                    g[t] = cost
                    parent[t] = s
                    push(heap, (cost + (abs(gu[m] - bu) + abs(gv[m] - bv)) * hpm, cost, t))
        return None if goal is None else self._path(parent, goal)

    def _out(self, node: int) -> tuple[tuple[int, int, int, float, bool], ...]:
        """The edges leaving `node`, for `_astar`: (direction, node * 4 + direction, neighbour, routing cost,
        arterial) for each direction that has one, in direction order. Built on first use and kept."""
        nbr, ncost, nart = self._nbr, self._ncost, self._nart
        out = tuple((d, k, nbr[k], ncost[k], nart[k]) for d, k in enumerate(range(node * 4, node * 4 + 4))
                    if nbr[k] >= 0)
        self._outs[node] = out
        return out

    def _run(self, k: int) -> tuple[tuple[int, ...], tuple[float, ...], bool]:
        """The hop along arterial edge `k` (node * 4 + direction) in a local search: the junctions it passes,
        from the edge's far end up to and including the next crossing of two arterials (or the last junction
        before the rim), the costs of the edges after the first in driving order, and whether it ends at a
        crossing (False: at the rim, a dead end). Built on first use and kept."""
        nbr, ncost, hub = self._nbr, self._ncost, self._hub
        d = k & 3
        m = nbr[k]
        nodes = [m]
        costs: list[float] = []
        while not hub[m]:
            step = m * 4 + d
            if nbr[step] < 0:
                break
            costs.append(ncost[step])
            m = nbr[step]
            nodes.append(m)
        run = (tuple(nodes), tuple(costs), hub[m])
        self._runs[k] = run
        return run

    def _path(self, parent: dict[int, int], goal: int) -> list[int]:
        """The junctions of the search's path to `goal`, from its states' parents (`_astar` and its reference):
        a state is -1 - node at the start, else node * 4 + the direction it was entered by."""
        nbr = self._nbr
        states = [goal]
        while states[-1] >= 0:
            states.append(parent[states[-1]])
        states.reverse()
        path = [-1 - states[0]]
        for s in states[1:]:
            node, d = s >> 2, s & 3
            m = path[-1]
            while m != node:  # re-walk a hop (a single edge, or a straight run along an arterial)
                m = nbr[m * 4 + d]
                path.append(m)
        return path

    def _astar_reference(self, a: int, b: int, local: set[int] | None) -> list[int] | None:
        """`_astar` as it was first written, kept as its reference (tests/simulator/world/test_astar.py: both
        return the same path for many queries on every shipped scenario's network). A* over (junction, arrival
        direction) states with turn costs.

        With `local`, streets may only be used inside `local`; elsewhere the search runs along arterials,
        hopping straight from one arterial crossing (or local junction) to the next in one step. Without it,
        every edge is open and U-turns are allowed at a high cost."""
        gu, gv, hpm = self._gu, self._gv, self._h_per_m
        nbr, ncost, nart, hub = self._nbr, self._ncost, self._nart, self._hub
        bu, bv = gu[b], gv[b]
        # state = node * 4 + arrival direction; the start state is -1 - a (no arrival direction, no turn cost)
        start = -1 - a
        g: dict[int, float] = {start: 0.0}
        parent: dict[int, int] = {}
        heap: list[tuple[float, float, int]] = [(0.0, 0.0, start)]
        push, pop = heapq.heappush, heapq.heappop
        goal: int | None = None
        while heap:
            _, gs, s = pop(heap)
            if gs > g[s]:
                continue
            if s < 0:
                node, d_in = -1 - s, -1
            else:
                node, d_in = s >> 2, s & 3
            if node == b:
                goal = s
                break
            base = node * 4
            for d in range(4):
                m = nbr[base + d]
                if m < 0:
                    continue
                cost = gs + ncost[base + d]
                if d_in >= 0 and d != d_in:
                    if d == d_in ^ 1:
                        if local is not None:
                            continue
                        cost += UTURN_PENALTY_S
                    else:
                        cost += TURN_PENALTY_S
                if local is not None and m not in local:
                    if not nart[base + d]:
                        continue  # no streets away from the ends
                    while not hub[m] and m not in local:  # straight along the arterial to the next decision
                        k = m * 4 + d
                        if nbr[k] < 0:
                            break
                        cost += ncost[k]
                        m = nbr[k]
                    if not hub[m] and m not in local:
                        continue  # the arterial ends at the rim
                t = m * 4 + d
                if cost < g.get(t, math.inf):
                    g[t] = cost
                    parent[t] = s
                    push(heap, (cost + (abs(gu[m] - bu) + abs(gv[m] - bv)) * hpm, cost, t))
        return None if goal is None else self._path(parent, goal)

    def _segment(self, n: int, m: int) -> Segment:
        """The segment n → m, built once per directed edge and shared by every route using it."""
        key = n * 4
        for d in range(4):
            if self._nbr[n * 4 + d] == m:
                key += d
                break
        else:
            raise KeyError((n, m))
        seg = self._segments.get(key)
        if seg is None:
            # the edge's grid line: a j-line (its junctions' j) for directions 0 and 1, else an i-line
            i, j = self._ij[n]
            if key & 2:
                limit, road = self._i_limit[i], self._i_name[i]
            else:
                limit, road = self._j_limit[j], self._j_name[j]
            lat, lon = self._lat, self._lon
            seg = Segment(
                start=self._latlon(n),
                end=self._latlon(m),
                length_m=self._nlen[key],
                bearing_deg=initial_bearing_deg(lat[n], lon[n], lat[m], lon[m]),
                limit_kmh=limit,
                road=road,
                road_class=ARTERIAL if self._nart[key] else STREET,
            )
            self._segments[key] = seg
        return seg

    def _latlon(self, n: int) -> LatLon:
        p = self._points.get(n)
        if p is None:
            p = self._points[n] = LatLon(self._lat[n], self._lon[n])
        return p

    def _build_route(self, path: list[int]) -> Route:
        """The route along `path` (junctions, each next to the one before): `_build_route_reference`'s, the
        same floats in the same order.

        Once per trip, ~80 segments each in a large region: a segment comes from `_segments` by its directed
        edge (found by comparing the four neighbours in place, not in a method call), the cumulative distances
        by `accumulate` (the same left-to-right sums), the turn angles as `angle_diff_deg` computes them, and
        whether a junction is controlled from per-junction flags (`_hub`, `_on_arterial`)."""
        nbr, segments = self._nbr, self._segments
        segs: list[Segment] = []
        append = segs.append
        for n, m in itertools.pairwise(path):
            k = n * 4
            if nbr[k] != m:
                k += 1
                if nbr[k] != m:
                    k += 1
                    if nbr[k] != m:
                        k += 1
            seg = segments.get(k) if nbr[k] == m else None
            append(self._segment(n, m) if seg is None else seg)
        cum = tuple(itertools.accumulate([sg.length_m for sg in segs], initial=0.0))
        angles: list[float] = []
        controlled: list[bool] = []
        hub, on_arterial = self._hub, self._on_arterial
        bearing = segs[0].bearing_deg if segs else 0.0
        for k in range(len(segs) - 1):
            seg = segs[k]
            after = segs[k + 1].bearing_deg
            d = (after - bearing) % 360.0  # angle_diff_deg(bearing, after)
            angles.append(d - 360.0 if d > 180.0 else d)
            bearing = after
            node = path[k + 1]
            controlled.append(hub[node] or (on_arterial[node] and seg.road_class == STREET))
        return Route(
            nodes=tuple(path),
            segments=tuple(segs),
            turn_angles=tuple(angles),
            controlled=tuple(controlled),
            cum_m=cum,
            start=self._latlon(path[0]),
            end=self._latlon(path[-1]),
        )

    def _build_route_reference(self, path: list[int]) -> Route:
        """`_build_route` as first written, kept as its reference (tests/simulator/world/test_roads.py)."""
        segs = [self._segment(n, m) for n, m in itertools.pairwise(path)]
        cum = [0.0]
        total = 0.0
        for sg in segs:
            total += sg.length_m
            cum.append(total)
        angles: list[float] = []
        controlled: list[bool] = []
        i_art, j_art, ij = self._i_art, self._j_art, self._ij
        for k in range(len(segs) - 1):
            angles.append(angle_diff_deg(segs[k].bearing_deg, segs[k + 1].bearing_deg))
            i, j = ij[path[k + 1]]
            both = i_art[i] and j_art[j]
            one = i_art[i] or j_art[j]
            controlled.append(both or (one and segs[k].road_class == STREET))
        return Route(
            nodes=tuple(path),
            segments=tuple(segs),
            turn_angles=tuple(angles),
            controlled=tuple(controlled),
            cum_m=tuple(cum),
            start=self._latlon(path[0]),
            end=self._latlon(path[-1]),
        )


def _largest_component(codes: list[int], width: int) -> list[tuple[int, int]]:
    """The largest 4-connected set of the candidate junctions at grid positions `codes` (i * width + j, ascending,
    j < width - 1), the first in (i, j) order of the largest size, as `_largest_component_reference` finds it: as
    runs (the index in `codes` of the first junction, how many), in order. A run is consecutive junctions of one
    i-line; runs on neighbouring i-lines that share a j are joined (union-find over the runs, ~2 per line, instead
    of a walk over ~14,000 junctions and their four neighbours)."""
    starts = [0]
    starts += [k for k, (a, b) in enumerate(itertools.pairwise(codes), 1) if b != a + 1]
    ends = [*starts[1:], len(codes)]
    parent = list(range(len(starts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = x = parent[parent[x]]
        return x

    # the runs of the line before (`above`) and of this one, as (run, first j, last j)
    row = -2
    above: list[tuple[int, int, int]] = []
    here: list[tuple[int, int, int]] = []
    for r, (k0, k1) in enumerate(zip(starts, ends, strict=True)):
        i, j0 = divmod(codes[k0], width)
        j1 = j0 + k1 - k0 - 1
        if i != row:
            above, here = (here if i == row + 1 else []), []
            row = i
        for q, q0, q1 in above:
            if q0 <= j1 and j0 <= q1:
                a, b = find(q), find(r)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        here.append((r, j0, j1))
    size: dict[int, int] = {}
    for r, (k0, k1) in enumerate(zip(starts, ends, strict=True)):
        root = find(r)
        size[root] = size.get(root, 0) + k1 - k0
    best = max(size, key=lambda root: (size[root], -root))  # roots are each component's first run
    return [(k0, k1 - k0) for r, (k0, k1) in enumerate(zip(starts, ends, strict=True)) if find(r) == best]


def _candidates_reference(rng: random.Random, us: list[float], vs: list[float], radius: float, sigma: float,
                          jitter_max: float) -> tuple[list[int], list[float], list[float]]:
    """`_candidates` as it was written before, kept as its reference (tests/simulator/world/test_roads_build.py):
    every grid point's two draws made first, then each point jittered and tested."""
    width = len(vs) + 1
    jitter = _gauss_draws(rng, 2 * len(us) * len(vs), sigma)
    codes: list[int] = []
    cus: list[float] = []
    cvs: list[float] = []
    keep_code, keep_u, keep_v = codes.append, cus.append, cvs.append
    r2, lo_j = radius * radius, -jitter_max
    draw = 0
    for i, u in enumerate(us):
        code = i * width
        for v in vs:
            du, dv = jitter[draw], jitter[draw + 1]
            draw += 2
            # max(-jitter_max, min(jitter_max, d)), written out
            du = du if du < jitter_max else jitter_max
            du = du if du > lo_j else lo_j
            dv = dv if dv < jitter_max else jitter_max
            dv = dv if dv > lo_j else lo_j
            uu, vv = u + du, v + dv
            if uu * uu + vv * vv <= r2:
                keep_code(code)
                keep_u(uu)
                keep_v(vv)
            code += 1
    return codes, cus, cvs


def _candidates(rng: random.Random, us: list[float], vs: list[float], radius: float, sigma: float,
                jitter_max: float) -> tuple[list[int], list[float], list[float]]:
    """The candidate junctions: each grid point (u, v) jittered by two `rng.gauss(0.0, sigma)` draws (u's, then
    v's), each clamped to ±jitter_max, and kept if inside the disc; as their grid codes (i * (len(vs) + 1) + j,
    ascending) and jittered positions. Every point draws, kept or not (the RNG's later draws depend on it).

    `_candidates_reference`'s points, floats and RNG state, in less work: random.gauss's polar method written out
    in the loop (no list of ~36,000 draws for a 20 km region), and the ~quarter of the grid's square that lies
    beyond the disc grown by twice the largest jitter (so none of it can be kept) not jittered at all: its points'
    random() pairs, 128 bits each, are consumed by one getrandbits call per stretch, the same Mersenne Twister
    words. Only when `rng` is a plain Random with no spare normal deviate pending (so each point's two draws are
    one pair of the polar method); otherwise the reference."""
    if type(rng) is not random.Random or getattr(rng, "gauss_next") is not None:  # noqa: B009 - not in typeshed
        return _candidates_reference(rng, us, vs, radius, sigma, jitter_max)
    width, nv = len(vs) + 1, len(vs)
    rnd, skip = rng.random, rng.getrandbits
    cos, sin, log, sqrt = math.cos, math.sin, math.log, math.sqrt
    codes: list[int] = []
    cus: list[float] = []
    cvs: list[float] = []
    keep_code, keep_u, keep_v = codes.append, cus.append, cvs.append
    r2, lo_j = radius * radius, -jitter_max
    # a jitter moves a point at most jitter_max * sqrt(2): past `reach` from the centre it stays out of the disc
    reach = radius * (1.0 + 1e-9) + 2.0 * jitter_max
    reach2 = reach * reach
    skipped = 0  # points passed over and not yet drawn for
    for i, u in enumerate(us):
        rest = reach2 - u * u
        if rest < 0.0:
            skipped += nv
            continue
        w = sqrt(rest)
        lo, hi = bisect.bisect_left(vs, -w), bisect.bisect_right(vs, w)
        skipped += lo
        if skipped:
            skip(128 * skipped)
            skipped = 0
        code = i * width + lo
        for v in vs[lo:hi]:
            # as random.gauss: x2pi = random() * TWOPI; g2rad = sqrt(-2 log(1 - random())); cos(x2pi) * g2rad
            # (the u draw), then sin(x2pi) * g2rad (the v draw, the spare of random.gauss)
            x2pi = rnd() * _TWOPI
            g2rad = sqrt(-2.0 * log(1.0 - rnd()))
            du = 0.0 + cos(x2pi) * g2rad * sigma
            dv = 0.0 + sin(x2pi) * g2rad * sigma
            # max(-jitter_max, min(jitter_max, d)), written out
            du = du if du < jitter_max else jitter_max
            du = du if du > lo_j else lo_j
            dv = dv if dv < jitter_max else jitter_max
            dv = dv if dv > lo_j else lo_j
            uu, vv = u + du, v + dv
            if uu * uu + vv * vv <= r2:
                keep_code(code)
                keep_u(uu)
                keep_v(vv)
            code += 1
        skipped += nv - hi
    if skipped:
        skip(128 * skipped)
    return codes, cus, cvs


def _gauss_draws(rng: random.Random, count: int, sigma: float) -> list[float]:
    """`[rng.gauss(0.0, sigma) for _ in range(count)]`, the same floats, and `rng` left in the same state (its
    spare normal deviate, `gauss_next`, included): random.gauss's polar method written out, without a method
    call per value (the network draws ~36,000 of them for a 20 km region). A subclass of Random may draw its
    own way: it is asked value by value."""
    if type(rng) is not random.Random:
        return [rng.gauss(0.0, sigma) for _ in range(count)]
    out: list[float] = []
    if count <= 0:
        return out
    spare: float | None = getattr(rng, "gauss_next")  # noqa: B009 - not in typeshed's Random
    if spare is not None:
        out.append(0.0 + spare * sigma)
    setattr(rng, "gauss_next", None)  # noqa: B010
    rnd, cos, sin, log, sqrt = rng.random, math.cos, math.sin, math.log, math.sqrt
    append = out.append
    # as random.gauss: x2pi = random() * TWOPI; g2rad = sqrt(-2 log(1 - random())); cos(x2pi) * g2rad, then
    # sin(x2pi) * g2rad as the spare the next call returns
    while len(out) < count - 1:
        x2pi = rnd() * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - rnd()))
        append(0.0 + cos(x2pi) * g2rad * sigma)
        append(0.0 + sin(x2pi) * g2rad * sigma)
    if len(out) < count:
        x2pi = rnd() * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - rnd()))
        append(0.0 + cos(x2pi) * g2rad * sigma)
        setattr(rng, "gauss_next", sin(x2pi) * g2rad)  # noqa: B010
    return out


def _around(arterials: list[int], k: int, last: int) -> tuple[int, int]:
    """The nearest arterial line indices strictly below and above k (0 / last when there is none)."""
    pos = bisect.bisect_left(arterials, k)
    lo = arterials[pos - 1] if pos > 0 else 0
    pos = bisect.bisect_right(arterials, k)
    hi = arterials[pos] if pos < len(arterials) else last
    return lo, hi


def _nearest_index(lines: list[float], x: float) -> int:
    """Index of the grid line closest to coordinate x (lines sorted ascending)."""
    lo, hi = 0, len(lines) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if lines[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and abs(lines[lo - 1] - x) < abs(lines[lo] - x):
        return lo - 1
    return lo
