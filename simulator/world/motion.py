"""Vehicle kinematics along a route: a piecewise-constant-acceleration speed plan, queried in O(1).

`plan_drive` turns a `Route` into a `Drive` once per trip. The plan is the time-optimal profile under:

* a cruise speed per segment: the limit (times the driver's habitual fraction of it, 92–100 %), or above the
  limit on the segments drawn as speeding (`speeding_share`, `speeding_margin`) — this is the only source of
  speeding; never above the vehicle's top speed;
* a speed cap at every junction: the corner speed v = √(a_lat · r), where r is the radius of the arc that fits
  a turn of deflection θ inside an intersection: r = 12 m / tan(θ/2) (12 m for a right angle, wider for
  gentler bends, tighter for sharper ones), and 0 where the driver stops (trip end, red light, give-way);
* bounded acceleration and deceleration: the profile's typical values, except on the manoeuvres drawn as
  harsh (`harsh_share` of the starts, stops and turns), which use a rate between the profile's harsh threshold
  and its physical maximum (or, for a harsh turn, a lateral acceleration in that band).

The profile is min(cruise cap, forward acceleration envelope, backward braking envelope), computed
analytically per segment, so the phases are exact: accelerate, cruise, brake, and wait at stops.

`Drive.state_at(t)` is a cursor for non-decreasing t: a handful of float operations per call, no
integration. The derived lists (`harsh_events`, `speeding_intervals`, `stops`) are read off the plan itself,
so alarms agree exactly with the positions and speeds a receiver sees.

Pure: randomness only from the `random.Random` passed in.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .profiles import G, VehicleProfile
from .roads import ARTERIAL, Route

TURN_RADIUS_M = 12.0  # arc radius of a right-angle urban turn
MIN_TURN_RADIUS_M = 4.0  # U-turns and hairpins
HARSH_TURN_MIN_DEG = 30.0  # only real turns can be taken harshly
SPEEDING_TOL_KMH = 3.0  # speed must exceed limit + this to count as speeding (GPS/odometer tolerance)
SPEEDING_MIN_S = 5.0  # ...for at least this long
SPEEDING_MIN_EXCESS_KMH = SPEEDING_TOL_KMH + 2.0  # a segment drawn as speeding is always detectably so
CRUISE_FRACTION = (0.92, 1.0)  # habitual speed relative to the limit, per stretch of road
LIGHT_STOP_SHARE = 0.4  # traffic light (arterial x arterial): share of red lights
LIGHT_WAIT_S = (5.0, 45.0)
GIVE_WAY_STOP_SHARE = 0.5  # street entering an arterial: share of times traffic forces a full stop
GIVE_WAY_WAIT_S = (1.0, 8.0)
HARSH_BAND = (0.2, 0.8)  # a harsh rate sits this far into the band [threshold, physical max]
_EPS_T = 1e-9
_HALF_DEG = math.pi / 360.0  # degrees -> radians, halved


class Style(Protocol):
    """A driver's tendencies; `scenario.model.RiskProfile` satisfies it."""

    @property
    def speeding_share(self) -> float: ...

    @property
    def speeding_margin(self) -> float: ...

    @property
    def harsh_share(self) -> float: ...


@dataclass(frozen=True)
class DrivingStyle:
    speeding_share: float = 0.15  # share of segments driven above the limit
    speeding_margin: float = 0.15  # how far above, as a fraction of the limit
    harsh_share: float = 0.05  # share of starts / stops / turns taken harshly


class Phase(NamedTuple):
    """Constant acceleration `a` from time t0 to t1 (seconds from the drive start), starting at distance x0
    along the route with speed v0 (m/s)."""

    t0: float
    t1: float
    x0: float
    v0: float
    a: float


class DriveState(NamedTuple):
    x_m: float  # distance along the route
    lat: float
    lon: float
    speed_mps: float
    accel_mps2: float  # longitudinal
    course: int  # bearing of the current segment, 0..359
    limit_kmh: float | None  # None only on an empty route
    segment: int  # index into route.segments (-1 on an empty route)


# (t0, t1, x0, v0, a, lat_a, lat_b, lon_a, lon_b, course, limit_kmh, segment)
_Row = tuple[float, float, float, float, float, float, float, float, float, int, float | None, int]
_new_tuple = tuple.__new__  # skips NamedTuple's Python-level __new__: 4x cheaper in the hot path
_T = operator.itemgetter(0)  # a harsh event's time


class HarshEvent(NamedTuple):
    t: float
    kind: str  # harsh_brake | harsh_accel | harsh_turn
    g: float  # peak acceleration magnitude in g


class SpeedingInterval(NamedTuple):
    t_start: float
    t_end: float
    limit_kmh: float
    max_kmh: float


def turn_radius_m(deflection_deg: float) -> float:
    """Radius of the arc a vehicle drives through a junction with this deflection (inf when straight on)."""
    th = abs(deflection_deg)
    if th < 1e-6:
        return math.inf
    if th >= 179.999:
        return MIN_TURN_RADIUS_M
    r = TURN_RADIUS_M / math.tan(th * _HALF_DEG)
    return r if r > MIN_TURN_RADIUS_M else MIN_TURN_RADIUS_M


def _harsh_rate(rng: random.Random, threshold: float, maximum: float) -> float:
    return threshold + rng.uniform(*HARSH_BAND) * (maximum - threshold)


class Drive:
    """A planned drive along `route`. Times are seconds from the drive start (0 .. duration_s).

    * `phases`: contiguous constant-acceleration pieces, each inside one segment (`phase_segments[i]`), each
      covering [t0, t1); waits at red lights / give-ways are phases with v0 = a = 0 (listed in `stops`).
    * `harsh_events`: (t, kind, g) wherever the plan's longitudinal acceleration exceeds the profile's harsh
      threshold (one per run of such phases, at its start, with the peak) or a junction is passed with
      v²/r above the harsh lateral threshold.
    * `speeding_intervals`: (t_start, t_end, limit_kmh, max_kmh) wherever speed > limit + 3 km/h for more
      than 5 s (split where the limit changes).
    * `junction_speeds[j]`, `segment_times[j]`, `junction_radii[j]`: speed (m/s), time and turn radius (m)
      when entering segment j (j = 0 is the start)."""

    def __init__(
        self,
        route: Route,
        profile: VehicleProfile,
        phases: list[Phase],
        phase_segments: list[int],
        junction_speeds: list[float],
        segment_times: list[float],
        junction_radii: list[float],
    ) -> None:
        self.route = route
        self.profile = profile
        self.phases: tuple[Phase, ...] = tuple(phases)
        self.phase_segments: tuple[int, ...] = tuple(phase_segments)
        self.junction_speeds: tuple[float, ...] = tuple(junction_speeds)  # m/s at each segment start (0 first)
        self.segment_times: tuple[float, ...] = tuple(segment_times)  # time each segment is entered
        self.junction_radii: tuple[float, ...] = tuple(junction_radii)  # turn radius entering each segment (m)
        self.length_m = route.length_m
        self.duration_s = phases[-1].t1 if phases else 0.0
        segs = route.segments
        prof = profile
        harsh_accel, harsh_brake = prof.harsh_accel_mps2, prof.harsh_brake_mps2
        # one pass over the phases makes the rows (position is linear in x on a segment: lat = lat_a + lat_b * x),
        # the runs of harsh acceleration, the speeding stretches and the stops, instead of one pass for each (once
        # per trip, ~130 phases each in a large region; tests/simulator/world/test_drive_derived.py compares them
        # with plain per-phase references)
        rows: list[_Row] = []
        add_row = rows.append
        harsh: list[HarshEvent] = []
        run_kind = ""
        run_t = 0.0
        run_peak = 0.0
        raw: list[list[float]] = []  # speeding: [t_start, t_end, limit, vmax], stretches merged while the limit stays
        stops: list[tuple[float, float]] = []
        last_k = -1
        lat_a = lat_b = lon_a = lon_b = 0.0
        course = 0
        limit = thr = 0.0
        cum = route.cum_m
        for (t0, t1, x0, v0, a), k in zip(phases, phase_segments, strict=True):
            if k != last_k:  # a segment's phases are consecutive: its line is worked out once
                last_k = k
                sg = segs[k]
                inv = 1.0 / sg.length_m if sg.length_m > 0 else 0.0
                start = sg.start
                lat_b = (sg.end.lat - start.lat) * inv
                lon_b = (sg.end.lon - start.lon) * inv
                x_k = cum[k]
                lat_a = start.lat - lat_b * x_k
                lon_a = start.lon - lon_b * x_k
                course = round(sg.bearing_deg) % 360
                limit = sg.limit_kmh
                thr = (limit + SPEEDING_TOL_KMH) / 3.6
            add_row((t0, t1, x0, v0, a, lat_a, lat_b, lon_a, lon_b, course, limit, k))
            if a > harsh_accel:
                kind = "harsh_accel"
            elif -a > harsh_brake:
                kind = "harsh_brake"
            else:
                kind = ""
            if a == 0.0 and v0 == 0.0:
                stops.append((t0, t1))
            if kind != run_kind:
                if run_kind:
                    harsh.append(HarshEvent(run_t, run_kind, run_peak / G))
                run_kind, run_t, run_peak = kind, t0, 0.0
            if kind:  # the peak is read only for a run (and reset when one starts)
                run_peak = max(run_peak, abs(a))
            v1 = v0 + a * (t1 - t0)
            if v0 > thr and v1 > thr:
                ts, te = t0, t1
            elif v0 > thr:  # braking through the threshold
                ts, te = t0, t0 + (v0 - thr) / -a
            elif v1 > thr:  # accelerating through it
                ts, te = t0 + (thr - v0) / a, t1
            else:
                continue
            vmax = max(v0, v1)
            if raw and raw[-1][2] == limit and ts - raw[-1][1] <= 1e-6:
                raw[-1][1] = te
                raw[-1][3] = max(raw[-1][3], vmax)
            else:
                raw.append([ts, te, limit, vmax])
        if segs:
            first, last = segs[0], segs[-1]
            self._start = DriveState(0.0, first.start.lat, first.start.lon, 0.0, 0.0, round(first.bearing_deg) % 360,
                                     first.limit_kmh, 0)
            self._end = DriveState(self.length_m, last.end.lat, last.end.lon, 0.0, 0.0, round(last.bearing_deg) % 360,
                                   last.limit_kmh, len(segs) - 1)
        else:
            self._start = self._end = DriveState(0.0, route.start.lat, route.start.lon, 0.0, 0.0, 0, None, -1)
        # sentinel: at rest at the destination from duration_s on, so the cursor never runs off the end
        end = self._end
        rows.append((self.duration_s, math.inf, end.x_m, 0.0, 0.0, end.lat, 0.0, end.lon, 0.0, end.course,
                     end.limit_kmh, end.segment))
        #: the phases as rows for a caller that inlines `state_at` (`DeviceSim._drive`): (t0, t1, x0, v0, a,
        #: lat_a, lat_b, lon_a, lon_b, course, limit_kmh, segment), then a sentinel row with t1 = inf
        self.rows: list[_Row] = rows
        self._t1s_list: list[float] | None = None  # for the binary search, made when first needed
        self._cursor = 0
        if run_kind:
            harsh.append(HarshEvent(run_t, run_kind, run_peak / G))
        for j in range(1, len(segs)):
            lateral = self.junction_speeds[j] ** 2 / self.junction_radii[j]
            if lateral > prof.harsh_lateral_mps2:
                harsh.append(HarshEvent(self.segment_times[j], "harsh_turn", lateral / G))
        harsh.sort(key=_T)
        self.harsh_events: tuple[HarshEvent, ...] = tuple(harsh)
        self.speeding_intervals: tuple[SpeedingInterval, ...] = tuple(
            SpeedingInterval(ts, te, limit, vmax * 3.6) for ts, te, limit, vmax in raw if te - ts > SPEEDING_MIN_S
        )
        self.stops: tuple[tuple[float, float], ...] = tuple(stops)

    # -- queries -----------------------------------------------------------------------------------------

    def _t1s(self) -> list[float]:
        """The rows' end times (for `bisect`); most drives are only walked forward and never need them."""
        t1s = self._t1s_list
        if t1s is None:
            t1s = self._t1s_list = [r[1] for r in self.rows]
        return t1s

    def state_at(self, t: float) -> DriveState:
        """State at time t; calls must come with non-decreasing t for O(1) cost (earlier t still works,
        with a binary search). Before 0: the start, at rest; from duration_s on: the destination, at rest."""
        rows = self.rows
        i = self._cursor
        row = rows[i]
        if t >= row[1]:  # phases are half-open [t0, t1): the sentinel (t1 = inf) stops the scan
            i += 1
            row = rows[i]
            while t >= row[1]:
                i += 1
                row = rows[i]
            self._cursor = i
        elif t < row[0]:
            if t < 0.0:
                self._cursor = 0
                return self._start
            i = bisect.bisect_right(self._t1s(), t)
            self._cursor = i
            row = rows[i]
        t0, _, x0, v0, a, lat_a, lat_b, lon_a, lon_b, course, limit, k = row
        tau = t - t0
        v = v0 + a * tau
        x = x0 + (v0 + 0.5 * a * tau) * tau
        return _new_tuple(DriveState, (x, lat_a + lat_b * x, lon_a + lon_b * x, v if v > 0.0 else 0.0, a, course,
                                       limit, k))

    def state(self, t: float) -> DriveState:
        """State at time t, stateless (binary search over the phases)."""
        if t < 0.0:
            return self._start
        t0, _, x0, v0, a, lat_a, lat_b, lon_a, lon_b, course, limit, k = self.rows[bisect.bisect_right(self._t1s(), t)]
        tau = t - t0
        v = v0 + a * tau
        x = x0 + (v0 + 0.5 * a * tau) * tau
        return _new_tuple(DriveState, (x, lat_a + lat_b * x, lon_a + lon_b * x, v if v > 0.0 else 0.0, a, course,
                                       limit, k))

    def reset(self) -> None:
        """Rewind the `state_at` cursor to the start."""
        self._cursor = 0

    @property
    def max_speed_mps(self) -> float:
        return max((max(p.v0, p.v0 + p.a * (p.t1 - p.t0)) for p in self.phases), default=0.0)


def _segment_phases(
    length: float, v_cap: float, acc: float, dec: float, v_in: float, v_out: float
) -> list[tuple[float, float, float, float]]:
    """Phases (s0, v0, a, duration) on one segment under min(v_cap, √(v_in² + 2·acc·s), √(v_out² + 2·dec·(L−s)))."""
    vi2, vo2, vc2 = v_in * v_in, v_out * v_out, v_cap * v_cap
    up_end2 = vi2 + 2.0 * acc * length
    down_start2 = vo2 + 2.0 * dec * length
    s_star = (vo2 - vi2 + 2.0 * dec * length) / (2.0 * (acc + dec))  # where the envelopes cross
    out: list[tuple[float, float, float, float]] = []
    if s_star <= 0.0:  # braking envelope binds from the start
        if down_start2 <= vc2:
            v0 = math.sqrt(down_start2)
            out.append((0.0, v0, -dec, (v0 - v_out) / dec))
        else:
            sd = length - (vc2 - vo2) / (2.0 * dec)
            out.append((0.0, v_cap, 0.0, sd / v_cap))
            out.append((sd, v_cap, -dec, (v_cap - v_out) / dec))
    elif s_star >= length:  # accelerating envelope binds to the end
        if up_end2 <= vc2:
            out.append((0.0, v_in, acc, (math.sqrt(up_end2) - v_in) / acc))
        else:
            sa = (vc2 - vi2) / (2.0 * acc)
            out.append((0.0, v_in, acc, (v_cap - v_in) / acc))
            out.append((sa, v_cap, 0.0, (length - sa) / v_cap))
    else:
        peak2 = vi2 + 2.0 * acc * s_star
        if peak2 <= vc2:
            vp = math.sqrt(peak2)
            out.append((0.0, v_in, acc, (vp - v_in) / acc))
            out.append((s_star, vp, -dec, (vp - v_out) / dec))
        else:
            sa = (vc2 - vi2) / (2.0 * acc)
            sd = length - (vc2 - vo2) / (2.0 * dec)
            out.append((0.0, v_in, acc, (v_cap - v_in) / acc))
            out.append((sa, v_cap, 0.0, (sd - sa) / v_cap))
            out.append((sd, v_cap, -dec, (v_cap - v_out) / dec))
    return [ph for ph in out if ph[3] > _EPS_T]


def plan_drive(route: Route, profile: VehicleProfile, style: Style, rng: random.Random) -> Drive:
    """Plan the speed profile of one drive along `route` (see the module docstring).

    Once per trip, ~80 segments each in a large region: `plan_drive_reference` with `turn_radius_m` and
    `_segment_phases` written out (the same draws, the same floats in the same order; the tests compare),
    which saves two calls, a list and its filtering per segment."""
    segs = route.segments
    n = len(segs)
    if n == 0:
        return Drive(route, profile, [], [], [], [], [])
    vmax_kmh = profile.max_speed_kmh
    speeding_share, margin, harsh = style.speeding_share, style.speeding_margin, style.harsh_share
    uniform, random_ = rng.uniform, rng.random
    # cruise speed per segment
    v_cap: list[float] = []
    fraction = 1.0
    road = None
    for s in segs:
        if s.road != road:
            road = s.road
            fraction = uniform(*CRUISE_FRACTION)
        limit = s.limit_kmh
        if random_() < speeding_share:
            excess = limit * margin * uniform(0.8, 1.25)
            kmh = limit + (excess if excess > SPEEDING_MIN_EXCESS_KMH else SPEEDING_MIN_EXCESS_KMH)
        else:
            kmh = limit * fraction
        v_cap.append((kmh if kmh < vmax_kmh else vmax_kmh) / 3.6)
    acc = [profile.accel_mps2] * n  # rate used when speeding up on segment k
    dec = [profile.brake_mps2] * n  # rate used when slowing down on segment k
    cap = [0.0] * (n + 1)  # speed cap at junction j (start of segment j); 0 at both ends
    dwell = [0.0] * (n + 1)
    radii = [math.inf] * n  # turn radius at junction j (index 0 unused)

    def harsh_accel() -> float:
        return _harsh_rate(rng, profile.harsh_accel_mps2, profile.max_accel_mps2)

    def harsh_brake() -> float:
        return _harsh_rate(rng, profile.harsh_brake_mps2, profile.max_brake_mps2)

    if random_() < harsh:  # the start
        acc[0] = harsh_accel()
    angles, controlled = route.turn_angles, route.controlled
    lateral_mps2 = profile.lateral_mps2
    sqrt, tan = math.sqrt, math.tan
    for j in range(1, n):
        deflection = abs(angles[j - 1])
        # turn_radius_m(deflection), written out
        if deflection < 1e-6:
            radius = math.inf
        elif deflection >= 179.999:
            radius = MIN_TURN_RADIUS_M
        else:
            radius = TURN_RADIUS_M / tan(deflection * _HALF_DEG)
            if not radius > MIN_TURN_RADIUS_M:
                radius = MIN_TURN_RADIUS_M
        radii[j] = radius
        if controlled[j - 1]:
            # arterial x arterial: traffic lights; street entering an arterial: give-way
            if segs[j - 1].road_class == ARTERIAL:
                share, wait = LIGHT_STOP_SHARE, LIGHT_WAIT_S
            else:
                share, wait = GIVE_WAY_STOP_SHARE, GIVE_WAY_WAIT_S
            if random_() < share:
                dwell[j] = uniform(*wait)
                if random_() < harsh:
                    dec[j - 1] = harsh_brake()
                if random_() < harsh:
                    acc[j] = harsh_accel()
                continue  # cap stays 0: a full stop
        lateral = lateral_mps2
        if deflection >= HARSH_TURN_MIN_DEG and random_() < harsh:
            kind = rng.randrange(3)
            if kind == 0:
                lateral = _harsh_rate(rng, profile.harsh_lateral_mps2, profile.max_lateral_mps2)
            elif kind == 1:
                dec[j - 1] = harsh_brake()
            else:
                acc[j] = harsh_accel()
        c = sqrt(lateral * radius)
        if v_cap[j - 1] < c:
            c = v_cap[j - 1]
        cap[j] = c if c < v_cap[j] else v_cap[j]
    if random_() < harsh:  # the final stop
        dec[n - 1] = harsh_brake()

    lengths = [s.length_m for s in segs]
    fwd = [0.0] * (n + 1)  # forward (acceleration-limited) speed at junction j
    for k in range(n):
        reach = sqrt(fwd[k] * fwd[k] + 2.0 * acc[k] * lengths[k])
        reach = reach if reach < v_cap[k] else v_cap[k]
        fwd[k + 1] = reach if reach < cap[k + 1] else cap[k + 1]
    bwd = [0.0] * (n + 1)  # backward (braking-limited) speed at junction j
    for k in range(n - 1, -1, -1):
        reach = sqrt(bwd[k + 1] * bwd[k + 1] + 2.0 * dec[k] * lengths[k])
        reach = reach if reach < v_cap[k] else v_cap[k]
        bwd[k] = reach if reach < cap[k] else cap[k]
    junction_speeds = [f if f < b else b for f, b in zip(fwd[:n], bwd[:n], strict=True)]

    phases: list[Phase] = []
    phase_segs: list[int] = []
    seg_times: list[float] = []
    add_phase, add_seg = phases.append, phase_segs.append
    t = 0.0
    cum = route.cum_m
    pieces: tuple[tuple[float, float, float, float], ...]
    for k in range(n):
        seg_times.append(t)
        x_k = cum[k]
        # _segment_phases(lengths[k], v_cap[k], acc[k], dec[k], fwd[k], bwd[k + 1]), written out: the phases
        # (s0, v0, a, duration) under min(v_cap, √(v_in² + 2·acc·s), √(v_out² + 2·dec·(L−s)))
        length, v_top, up, down, v_in, v_out = lengths[k], v_cap[k], acc[k], dec[k], fwd[k], bwd[k + 1]
        vi2, vo2, vc2 = v_in * v_in, v_out * v_out, v_top * v_top
        s_star = (vo2 - vi2 + 2.0 * down * length) / (2.0 * (up + down))  # where the envelopes cross
        if s_star <= 0.0:  # braking envelope binds from the start
            down_start2 = vo2 + 2.0 * down * length
            if down_start2 <= vc2:
                v0 = sqrt(down_start2)
                pieces = ((0.0, v0, -down, (v0 - v_out) / down),)
            else:
                sd = length - (vc2 - vo2) / (2.0 * down)
                pieces = ((0.0, v_top, 0.0, sd / v_top), (sd, v_top, -down, (v_top - v_out) / down))
        elif s_star >= length:  # accelerating envelope binds to the end
            up_end2 = vi2 + 2.0 * up * length
            if up_end2 <= vc2:
                pieces = ((0.0, v_in, up, (sqrt(up_end2) - v_in) / up),)
            else:
                sa = (vc2 - vi2) / (2.0 * up)
                pieces = ((0.0, v_in, up, (v_top - v_in) / up), (sa, v_top, 0.0, (length - sa) / v_top))
        else:
            peak2 = vi2 + 2.0 * up * s_star
            if peak2 <= vc2:
                vp = sqrt(peak2)
                pieces = ((0.0, v_in, up, (vp - v_in) / up), (s_star, vp, -down, (vp - v_out) / down))
            else:
                sa = (vc2 - vi2) / (2.0 * up)
                sd = length - (vc2 - vo2) / (2.0 * down)
                pieces = ((0.0, v_in, up, (v_top - v_in) / up), (sa, v_top, 0.0, (sd - sa) / v_top),
                          (sd, v_top, -down, (v_top - v_out) / down))
        for s0, v0, a, dur in pieces:
            if dur > _EPS_T:
                add_phase(_new_tuple(Phase, (t, t + dur, x_k + s0, v0, a)))
                add_seg(k)
                t += dur
        if dwell[k + 1] > 0.0 and k + 1 < n:
            add_phase(_new_tuple(Phase, (t, t + dwell[k + 1], cum[k + 1], 0.0, 0.0)))
            add_seg(k)
            t += dwell[k + 1]
    return Drive(route, profile, phases, phase_segs, junction_speeds, seg_times, radii)


def plan_drive_reference(route: Route, profile: VehicleProfile, style: Style, rng: random.Random) -> Drive:
    """`plan_drive` as first written (with `_segment_phases` and `turn_radius_m` called), kept as its reference:
    tests/simulator/world/test_motion.py compares the drives and the rng's state after them."""
    segs = route.segments
    n = len(segs)
    if n == 0:
        return Drive(route, profile, [], [], [], [], [])
    vmax_kmh = profile.max_speed_kmh
    speeding_share, margin, harsh = style.speeding_share, style.speeding_margin, style.harsh_share
    uniform, random_ = rng.uniform, rng.random
    # cruise speed per segment
    v_cap: list[float] = []
    fraction = 1.0
    road = None
    for s in segs:
        if s.road != road:
            road = s.road
            fraction = uniform(*CRUISE_FRACTION)
        limit = s.limit_kmh
        if random_() < speeding_share:
            excess = limit * margin * uniform(0.8, 1.25)
            kmh = limit + (excess if excess > SPEEDING_MIN_EXCESS_KMH else SPEEDING_MIN_EXCESS_KMH)
        else:
            kmh = limit * fraction
        v_cap.append((kmh if kmh < vmax_kmh else vmax_kmh) / 3.6)
    acc = [profile.accel_mps2] * n  # rate used when speeding up on segment k
    dec = [profile.brake_mps2] * n  # rate used when slowing down on segment k
    cap = [0.0] * (n + 1)  # speed cap at junction j (start of segment j); 0 at both ends
    dwell = [0.0] * (n + 1)
    radii = [math.inf] * n  # turn radius at junction j (index 0 unused)

    def harsh_accel() -> float:
        return _harsh_rate(rng, profile.harsh_accel_mps2, profile.max_accel_mps2)

    def harsh_brake() -> float:
        return _harsh_rate(rng, profile.harsh_brake_mps2, profile.max_brake_mps2)

    if random_() < harsh:  # the start
        acc[0] = harsh_accel()
    angles, controlled = route.turn_angles, route.controlled
    for j in range(1, n):
        deflection = abs(angles[j - 1])
        radii[j] = radius = turn_radius_m(deflection)
        if controlled[j - 1]:
            # arterial x arterial: traffic lights; street entering an arterial: give-way
            if segs[j - 1].road_class == ARTERIAL:
                share, wait = LIGHT_STOP_SHARE, LIGHT_WAIT_S
            else:
                share, wait = GIVE_WAY_STOP_SHARE, GIVE_WAY_WAIT_S
            if random_() < share:
                dwell[j] = uniform(*wait)
                if random_() < harsh:
                    dec[j - 1] = harsh_brake()
                if random_() < harsh:
                    acc[j] = harsh_accel()
                continue  # cap stays 0: a full stop
        lateral = profile.lateral_mps2
        if deflection >= HARSH_TURN_MIN_DEG and random_() < harsh:
            kind = rng.randrange(3)
            if kind == 0:
                lateral = _harsh_rate(rng, profile.harsh_lateral_mps2, profile.max_lateral_mps2)
            elif kind == 1:
                dec[j - 1] = harsh_brake()
            else:
                acc[j] = harsh_accel()
        c = math.sqrt(lateral * radius)
        if v_cap[j - 1] < c:
            c = v_cap[j - 1]
        cap[j] = c if c < v_cap[j] else v_cap[j]
    if random_() < harsh:  # the final stop
        dec[n - 1] = harsh_brake()

    lengths = [s.length_m for s in segs]
    sqrt = math.sqrt
    fwd = [0.0] * (n + 1)  # forward (acceleration-limited) speed at junction j
    for k in range(n):
        reach = sqrt(fwd[k] * fwd[k] + 2.0 * acc[k] * lengths[k])
        reach = reach if reach < v_cap[k] else v_cap[k]
        fwd[k + 1] = reach if reach < cap[k + 1] else cap[k + 1]
    bwd = [0.0] * (n + 1)  # backward (braking-limited) speed at junction j
    for k in range(n - 1, -1, -1):
        reach = sqrt(bwd[k + 1] * bwd[k + 1] + 2.0 * dec[k] * lengths[k])
        reach = reach if reach < v_cap[k] else v_cap[k]
        bwd[k] = reach if reach < cap[k] else cap[k]
    junction_speeds = [f if f < b else b for f, b in zip(fwd[:n], bwd[:n], strict=True)]

    phases: list[Phase] = []
    phase_segs: list[int] = []
    seg_times: list[float] = []
    t = 0.0
    cum = route.cum_m
    for k in range(n):
        seg_times.append(t)
        x_k = cum[k]
        for s0, v0, a, dur in _segment_phases(lengths[k], v_cap[k], acc[k], dec[k], fwd[k], bwd[k + 1]):
            phases.append(_new_tuple(Phase, (t, t + dur, x_k + s0, v0, a)))
            phase_segs.append(k)
            t += dur
        if dwell[k + 1] > 0.0 and k + 1 < n:
            phases.append(_new_tuple(Phase, (t, t + dwell[k + 1], cum[k + 1], 0.0, 0.0)))
            phase_segs.append(k)
            t += dwell[k + 1]
    return Drive(route, profile, phases, phase_segs, junction_speeds, seg_times, radii)
