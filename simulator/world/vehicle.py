"""One device's day: shifts, trips along the road network, parking, reports and the events that follow
from its motion. Pure and lazy: `DeviceSim.events()` yields WorldEvents in device-time order.

What makes the stream realistic is that events are derived, not drawn: speeding comes from the drive plan
exceeding the segment limit, harsh events from accelerations above the profile's thresholds, geofence
crossings from reported positions against geometry, fatigue from continuous driving time. Only driver
behaviour that no physics produces (a phone in hand, a cigarette) is a Poisson process, at the group's rates.

Clocks: `t` is the device's fix time (UTC). `send_t` is when the platform pushes the event: a fraction of a
second to a few seconds later — or, for everything recorded during a coverage gap, just after the gap ends
(`backfill=True`).
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.rounding import rounded
from ..scenario.model import FleetGroup, Geofence, Injection, LatLon, Scenario
from .events import KINDS, Fix, WorldEvent
from .fleet import Device, Driver
from .geo import point_in_polygon
from .motion import Drive, plan_drive
from .places import Places
from .profiles import VehicleProfile, get_profile
from .roads import RoadNetwork, Route

STATUS_EVERY_S = 300.0  # device health report cadence while the ignition is on
SENSOR_EVERY_S = 300.0  # reefer probe readings
REEFER_ALERT_BAND_C = 3.0  # a cold-chain alert fires this far from the reefer setpoint (the alert's limit)
OFFLINE_AFTER_S = 180.0  # platforms flag a device offline after this much silence
REST_RESETS_FATIGUE_S = 900.0  # a break this long resets continuous driving time
NOISE_M_PER_HDOP = 1.5  # horizontal GPS error (1 sigma) per unit of HDOP
_DMS = (("phone", "phone_per_h"), ("smoking", "smoking_per_h"), ("distraction", "distraction_per_h"),
        ("seat_belt", "seat_belt_per_h"))
_ADAS = (("lane_departure", "lane_departure_per_h"), ("forward_collision", "forward_collision_per_h"))
_M_PER_DEG = 111_320.0
#: activation speeds of dashcam alerts (typical DMS/ADAS units stay silent below these)
_MIN_ALERT_KMH = {"phone": 10.0, "smoking": 10.0, "distraction": 10.0, "seat_belt": 10.0,
                  "lane_departure": 40.0, "forward_collision": 20.0}
# A fixed table of standard normal deviates (seeded constant, not global random state): cheap GPS noise.
_NORMAL_MASK = 4095
_TABLE_RNG = random.Random(0x5EED)
_NORMALS = tuple(_TABLE_RNG.gauss(0.0, 1.0) for _ in range(_NORMAL_MASK + 1))
_Batches = Iterator[list[WorldEvent]]  # the day's generators yield the events they made, in batches (`events`)
_TIME_THEN_ORDER = operator.itemgetter(0, 1)  # a drive's points sort on (t, order); equal ones keep their order


@dataclass
class _Gap:
    start: float
    end: float
    emitted: int = 0  # reports buffered on the device so far
    flagged: bool = False  # offline event emitted
    closed: bool = False  # online event emitted


@dataclass
class _State:
    lat: float
    lon: float
    course: int = 0
    odometer_m: float = 0.0
    ignition: bool = False
    moving: bool = False
    speed_mps: float = 0.0
    limit_kmh: float | None = None
    power: bool = True
    blocked: bool = False
    armed: bool = False
    battery_pct: float = 100.0
    satellites: int = 10
    gsm: int = 24
    altitude_m: float = 850.0
    driving_s: float = 0.0  # continuous driving time since the last long rest
    fatigue_sent: bool = False
    last_ignition_change: float = 0.0
    inside: set[int] = field(default_factory=set)
    inside_ids: tuple[int, ...] = ()  # `inside` sorted, rebuilt only when it changes (every fix carries it)
    reefer_c: float | None = None


class DeviceSim:
    def __init__(
        self,
        scenario: Scenario,
        group: FleetGroup,
        device: Device,
        drivers: list[Driver],
        network: RoadNetwork,
        injections: list[Injection],
        rng: random.Random,
        places: Places | None = None,
        kinds: Collection[str] | None = None,
    ) -> None:
        """`kinds` (None = all): the event kinds `events` yields (see there)."""
        self.scenario = scenario
        self.group = group
        self.device = device
        self.drivers = drivers
        self.network = network
        self.rng = rng
        self.places = places  # addresses for stops and geofence events (attrs "address"), when known
        self.profile: VehicleProfile = get_profile(group.profile)
        self.injections = sorted(injections, key=lambda i: i.at_s)
        self._fences = [(n, fence, _containment(fence)) for n, fence in enumerate(scenario.geofences, 1)]
        self.depot = network.random_node(rng)
        here = network.node_latlon(self.depot)
        self.state = _State(lat=here.lat, lon=here.lon, altitude_m=rng.uniform(20, 900),
                            odometer_m=rng.uniform(5_000, 250_000) * 1000, satellites=rng.randint(8, 13))
        self.state.reefer_c = group.reefer_setpoint_c if "reefer" in group.features else None
        # a device already standing in a geofence when the scenario begins is in it, not entering it
        self.state.inside = {n for n, _fence, inside_fn in self._fences if inside_fn(here.lat, here.lon)}
        self.state.inside_ids = tuple(sorted(self.state.inside))
        self.driver: Driver | None = None
        self.seq = 0
        self.gaps = self._draw_gaps()
        self.reefer_fault: tuple[float, float] | None = None
        self.reefer_alarm_sent = False
        self.stolen = False
        self._theft_due: Injection | None = None
        self._clock = scenario.start
        self._gap_i = 0
        self._noise_i = rng.getrandbits(16) & _NORMAL_MASK
        self._noise_stride = 3 + 2 * rng.getrandbits(8)  # odd: walks the whole table
        self._m_to_deg_lon = 1.0 / (_M_PER_DEG * math.cos(math.radians(self.state.lat)))
        self._rest_started = scenario.start
        self._out: list[WorldEvent] = []
        #: the kinds made into events; the others are quiet (`events`)
        self._loud: frozenset[str] = KINDS if kinds is None else frozenset(kinds)

    # -- scheduling helpers -------------------------------------------------------------------------------

    def _draw_gaps(self) -> list[_Gap]:
        s, rng = self.scenario, self.rng
        gaps = [_Gap(s.start + i.at_s, s.start + i.at_s + i.duration_s) for i in self.injections
                if i.event == "coverage_loss"]
        rate = self.group.offline_per_day / 86_400.0
        t = s.start
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= s.end:
                break
            gaps.append(_Gap(t, t + rng.uniform(120, 1500)))
        gaps.sort(key=lambda g: g.start)
        return gaps

    # -- emission -------------------------------------------------------------------------------------------

    def _fix(self, t: float) -> Fix:
        """A report at time t from the current state, with GPS noise on the position: `_advance`'s draws, then
        `_build_fix` from them."""
        return self._build_fix(t, self._advance())

    def _advance(self) -> float:
        """The state changes and draws of one report, without the report: the satellite and GSM drift and the
        step of the noise walk. Returns the uniform `_build_fix` reads (HDOP, voltage noise). A report nobody
        reads (a quiet event, see `events`) stops here, and every later report is the same as if it was built.

        Hot path (one call per report): noise comes from a fixed table of normal deviates walked with a
        per-device stride instead of rng.gauss, and one uniform draw drives the satellite and GSM drift."""
        st = self.state
        r = self.rng.random()
        # satellites and GSM drift slowly; HDOP follows the satellite count
        sats = st.satellites + (r < 0.08) - (r > 0.92)
        st.satellites = 16 if sats > 16 else 4 if sats < 4 else sats
        r2 = r * 13.0 % 1.0
        gsm = st.gsm + (r2 < 0.1) - (r2 > 0.9)
        st.gsm = 31 if gsm > 31 else 5 if gsm < 5 else gsm
        self._noise_i = (self._noise_i + self._noise_stride) & _NORMAL_MASK
        return r2

    def _build_fix(self, t: float, r2: float) -> Fix:
        """The report at time t that `_advance` drew (`r2`, its return), from the current state: call it before
        the next `_advance`.

        Hot path (once per report built, six roundings each): `rounded` written out, its fast path on the very
        same operations (x * 10**n + 0.5, its floor, the distance to it, m / 10**n; `y // 1.0` is floor(y) as a
        float, exact below 2**52, and m / 10**n the same double whether m is an int or that float), and `rounded`
        itself for whatever its fast path leaves (ties, zero, huge values). `_build_fix_reference` is the plain
        version; written out, bench-mixed ran 1.1 % fewer instructions (cachegrind, --limit 100000)."""
        st, prof = self.state, self.profile
        sats = st.satellites
        i = self._noise_i
        n1, n2, n3 = _NORMALS[i], _NORMALS[(i + 1) & _NORMAL_MASK], _NORMALS[(i + 2) & _NORMAL_MASK]
        x = 0.6 + 6.0 / sats + r2 * 0.3
        y = x * 10.0 + 0.5
        hdop = m / 10.0 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 1)
        sigma = NOISE_M_PER_HDOP * hdop
        x = st.lat + n1 * sigma / _M_PER_DEG
        y = x * 1e6 + 0.5
        lat = m / 1e6 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 6)
        x = st.lon + n2 * sigma * self._m_to_deg_lon
        y = x * 1e6 + 0.5
        lon = m / 1e6 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 6)
        speed_mps = st.speed_mps
        x = speed_mps * 3.6
        y = x * 10.0 + 0.5
        speed = m / 10.0 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 1)
        x = st.altitude_m + n3 * prof.altitude_noise_m
        y = x * 10.0 + 0.5
        alt = m / 10.0 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 1)
        ignition = st.ignition
        if not st.power:
            x = 0.0
        elif ignition and prof.has_engine:
            x = prof.charging_voltage_v + 0.3 * r2 - 0.15
        else:
            x = prof.resting_voltage_v + 0.2 * r2 - 0.1
        y = x * 100.0 + 0.5
        volts = m / 100.0 if -1e9 < y < 1e9 and 1e-6 < y - (m := y // 1.0) < 0.999999 and m else rounded(x, 2)
        return Fix(t, lat, lon, speed, st.course, alt, sats, hdop, True, ignition, speed_mps > 0.5, st.odometer_m,
                   st.gsm, volts, int(st.battery_pct), st.limit_kmh, st.inside_ids)

    def _build_fix_reference(self, t: float, r2: float) -> Fix:
        """`_build_fix` as written first, each value rounded by `rounded` (tests/simulator/world/test_build_fix.py
        compares them)."""
        st, prof = self.state, self.profile
        sats = st.satellites
        i = self._noise_i
        n1, n2, n3 = _NORMALS[i], _NORMALS[(i + 1) & _NORMAL_MASK], _NORMALS[(i + 2) & _NORMAL_MASK]
        hdop = rounded(0.6 + 6.0 / sats + r2 * 0.3, 1)
        sigma = NOISE_M_PER_HDOP * hdop
        lat = st.lat + n1 * sigma / _M_PER_DEG
        lon = st.lon + n2 * sigma * self._m_to_deg_lon
        if not st.power:
            volts = 0.0
        elif prof.has_engine and st.ignition:
            volts = prof.charging_voltage_v + 0.3 * r2 - 0.15
        else:
            volts = prof.resting_voltage_v + 0.2 * r2 - 0.1
        speed_mps = st.speed_mps
        return Fix(
            t, rounded(lat, 6), rounded(lon, 6), rounded(speed_mps * 3.6, 1), st.course,
            rounded(st.altitude_m + n3 * prof.altitude_noise_m, 1), sats, hdop, True, st.ignition,
            speed_mps > 0.5, st.odometer_m, st.gsm, rounded(volts, 2), int(st.battery_pct), st.limit_kmh,
            st.inside_ids,
        )

    def _report(self, kind: str, t: float) -> None:
        """A periodic report (position, status) of the current state: built only when its kind is wanted."""
        r2 = self._advance()
        if kind in self._loud:
            self._push(kind, self._build_fix(t, r2), {})
        else:
            self._send(kind, t)

    def _emit(self, kind: str, fix: Fix, **attrs: Any) -> None:
        self._push(kind, fix, attrs)

    def _push(self, kind: str, fix: Fix, attrs: dict[str, Any]) -> None:
        """`_emit` with the attrs dict handed over as it is (the event keeps it: the caller must not reuse it).
        An event of a kind not wanted (`events`) is sent (`_send`) but not made.

        Hot path (once per event): a drive hands its points' own dicts here instead of re-packing keywords, and
        `_send` is written out (`_push_reference` calls it): one call and one tuple fewer per event (0.4 % of
        bench-mixed's instructions, cachegrind --limit 100000)."""
        t = fix.t
        gaps = self.gaps
        i, n = self._gap_i, len(gaps)
        while i < n and gaps[i].end <= t:
            i += 1
        self._gap_i = i
        self.seq = seq = self.seq + 1
        if kind == "offline":
            send_t, backfill = t + OFFLINE_AFTER_S, False
        elif i < n and gaps[i].start <= t:
            gap = gaps[i]
            emitted = gap.emitted
            gap.emitted = emitted + 1
            send_t, backfill = gap.end + 1.0 + 0.2 * emitted, True
        else:
            send_t, backfill = t + 0.3 + 2.2 * self.rng.random(), False
        if kind in self._loud:
            self._out.append(WorldEvent(kind, self.device, fix, send_t, seq, self.driver, backfill, attrs))

    def _push_reference(self, kind: str, fix: Fix, attrs: dict[str, Any]) -> None:
        """`_push` as written first, through `_send` (tests/simulator/world/test_build_fix.py compares them)."""
        send_t, backfill = self._send(kind, fix.t)
        if kind in self._loud:
            self._out.append(WorldEvent(kind, self.device, fix, send_t, self.seq, self.driver, backfill, attrs))

    def _send(self, kind: str, t: float) -> tuple[float, bool]:
        """(send time, backfill) of the next event, device time t, and its `seq`: what every event costs the
        device, made or not (the gap's buffer position, the rng draw of a send delay, the sequence number)."""
        gap = None
        gaps = self.gaps
        i, n = self._gap_i, len(gaps)
        while i < n and gaps[i].end <= t:
            i += 1  # times only move forward, so passed gaps never matter again
        self._gap_i = i
        if i < n and gaps[i].start <= t:
            gap = gaps[i]
        self.seq += 1
        if kind == "offline":
            return t + OFFLINE_AFTER_S, False
        if gap is not None:
            emitted = gap.emitted
            gap.emitted = emitted + 1
            return gap.end + 1.0 + 0.2 * emitted, True  # buffered on the device, uploaded after the gap
        return t + 0.3 + 2.2 * self.rng.random(), False

    def _take(self) -> list[WorldEvent]:
        """The events made so far, handed over as one batch (`events` flattens the batches)."""
        out, self._out = self._out, []
        return out

    # -- the day --------------------------------------------------------------------------------------------

    def events(self) -> Iterator[WorldEvent]:
        """The device's events in device-time order: with `kinds` given, only those of its kinds.

        An event of another kind is quiet: the device makes every state change and every rng draw it makes for
        it, in the same order (its report's drift and noise step, its gap bookkeeping and send delay, its `seq`),
        so every event yielded is the very event yielded among all of them, but no Fix, attrs or WorldEvent is
        built for it (a renderer that reads a tenth of the kinds does not pay for the rest: `device_messages`).

        The day's generators hand over batches of events (`_take`), flattened here: an event passes through one
        generator frame instead of the whole chain (events, shift, drive, ...). The device is no further ahead of
        its consumer than before: a batch is made in full before its first event is yielded either way."""
        for batch in self._day():
            yield from batch

    def batches(self) -> _Batches:
        """The events of `events` in the batches the day hands over (`_take`), for a consumer that loops over
        them itself: `World.device_events`, where it saves a generator resume per event (0.4 % of bench-mixed's
        instructions)."""
        return self._day()

    def _day(self) -> _Batches:
        s, g, rng = self.scenario, self.group, self.rng
        # an e-bike stands parked and armed when the scenario begins (its rider armed it on leaving it), so a
        # theft before the first ride raises the movement alarm
        self._guard(True)
        if self._out:
            yield self._take()
        day = 0
        while True:
            shift_start = s.start + g.shift_start_s + day * 86_400.0 + rng.uniform(-600, 600)
            if shift_start >= s.end:
                yield from self._park_until(s.end)
                return
            yield from self._park_until(max(shift_start, s.start))
            yield from self._shift(min(shift_start + g.shift_s, s.end))
            day += 1

    def _shift(self, shift_end: float) -> _Batches:
        g, rng, st = self.group, self.rng, self.state
        if self.stolen:  # nobody rides a stolen bike; it keeps reporting from where the thief left it
            yield from self._park_until(shift_end)
            return
        t = self._clock
        previous = self.driver
        self.driver = rng.choice(self.drivers)
        fix = self._fix(t)
        if previous is None or previous.id != self.driver.id:
            self._emit("driver_change", fix, previous=previous.name if previous else None)
        mismatch = rng.random() < g.face_mismatch_share
        if "face_check" in g.features:
            similarity = rng.randint(1500, 5500) if mismatch else rng.randint(7200, 9900)
            self._emit("face_check", fix, matched=not mismatch, similarity=similarity,
                       result=1 if mismatch else 0, face_id=self.driver.face_id)
        if "rfid" in g.features:
            card = rng.choice(self.drivers).rfid if mismatch and len(self.drivers) > 1 else self.driver.rfid
            self._emit("rfid", fix, status="enter", card=card, matched=card == self.driver.rfid)
        if st.armed:
            st.armed = False
            self._emit("disarmed", fix)
        if self._out:
            yield self._take()
        stops = [self.network.random_node(rng) for _ in range(g.stops_per_trip)] + [self.depot]
        here = self.network.nearest_node(LatLon(st.lat, st.lon))
        for stop in stops:
            if self._clock >= shift_end or self.stolen:
                break
            if st.blocked:
                yield from self._park_until(shift_end)
                break
            self._guard(False)
            yield from self._ignition(True)
            yield from self._idle(rng.uniform(*self.profile.idle_before_s))
            yield from self._drive(self.network.route(here, stop))
            here = stop
            idle_after = rng.uniform(*self.profile.idle_after_s)
            if rng.random() < self.profile.long_idle_share * (1.0 + 4 * self.group.risk.harsh_share):
                idle_after = rng.uniform(*self.profile.long_idle_s)
            yield from self._idle(min(idle_after, max(0.0, shift_end - self._clock)))
            yield from self._ignition(False)
            self._guard(True)
            yield from self._park_until(min(self._clock + g.dwell_s * rng.uniform(0.5, 1.5), shift_end))
        fix = self._fix(self._clock)
        if "rfid" in g.features and self.driver is not None:
            self._emit("rfid", fix, status="exit", card=self.driver.rfid, matched=True)
        self._guard(True)
        if self._out:
            yield self._take()

    def _guard(self, armed: bool) -> None:
        """E-bike riders arm the tracker whenever they leave the bike and disarm it to ride."""
        if self.profile.name != "e-bike" or self.state.armed == armed:
            return
        self.state.armed = armed
        self._emit("armed" if armed else "disarmed", self._fix(self._clock))

    def _ignition(self, on: bool) -> _Batches:
        st = self.state
        if st.ignition == on:
            return
        t = self._clock = max(self._clock, self.scenario.start)
        st.ignition = on
        st.last_ignition_change = t
        fix = self._fix(t)
        self._emit("ignition_on" if on else "ignition_off", fix)
        self._emit("status", fix)
        if self._out:
            yield self._take()

    def _idle(self, seconds: float) -> _Batches:
        """Engine on, standing still."""
        if seconds <= 0:
            return
        start = self._clock
        yield from self._park_until(start + seconds)
        if seconds >= 300 and self.state.ignition:
            self._emit("idling", self._fix(self._clock), duration_s=round(seconds))
            if self._out:
                yield self._take()

    # -- standing still -------------------------------------------------------------------------------------

    def _park_until(self, until: float) -> _Batches:
        st, rep = self.state, self.group.report
        t = self._clock
        if until <= t:
            return
        every = rep.parked_s if st.ignition else rep.heartbeat_s
        next_report = t + every
        next_status = t + (STATUS_EVERY_S if st.ignition else every)
        next_sensor = t + SENSOR_EVERY_S if st.reefer_c is not None else math.inf
        while True:
            point_t = min(next_report, next_status, next_sensor, self._next_scheduled(t), until)
            if point_t >= until:
                break
            t = self._clock = point_t
            self._run_scheduled(t)
            if self._theft_due is not None:
                if self._out:
                    yield self._take()
                yield from self._theft()
                yield from self._park_until(until)  # parked again wherever the thief left it
                return
            if t >= next_sensor:
                self._reefer_reading(t)
                next_sensor += SENSOR_EVERY_S
            if t >= next_status:
                self._report("status", t)
                next_status += STATUS_EVERY_S if st.ignition else every
            if t >= next_report:
                self._report("position", t)
                next_report += every
            if st.driving_s and t - self._rest_started >= REST_RESETS_FATIGUE_S:
                st.driving_s, st.fatigue_sent = 0.0, False
            if self._out:
                yield self._take()
        self._clock = until

    # -- driving --------------------------------------------------------------------------------------------

    def _drive(self, route: Route) -> _Batches:
        st, g, rng = self.state, self.group, self.rng
        drive: Drive = plan_drive(route, self.profile, g.risk, rng)
        t0 = self._clock
        end = min(t0 + drive.duration_s, self.scenario.end)
        every = g.report.moving_s
        # reports at t0 + k * every for k = 1, 2, ... while before the end: the count estimated, then settled on
        # the very comparison a report-by-report loop makes (float products are monotonic in k)
        last = max(0, int((end - t0) / every)) if every > 0 else 0
        while t0 + (last + 1) * every < end:
            last += 1
        while last > 0 and not t0 + last * every < end:
            last -= 1
        # the other points, (t, order, kind, attrs): far fewer than the reports, which are merged in below as they
        # come instead of being listed and sorted with them
        points: list[tuple[float, int, str, dict[str, Any]]] = []
        at = STATUS_EVERY_S
        while at < drive.duration_s:
            points.append((t0 + at, 6, "status", {}))
            at += STATUS_EVERY_S
        # injections and coverage-gap edges during the drive happen at their exact positions on the route
        for inj in self.injections:
            if t0 < self.scenario.start + inj.at_s < end:
                points.append((self.scenario.start + inj.at_s, 0, "tick", {}))
        for gap in self.gaps:
            for edge in (gap.start, gap.end):
                if t0 < edge < end:
                    points.append((edge, 0, "tick", {}))
        for at, kind, peak_g in drive.harsh_events:
            points.append((t0 + at, 2, kind, {"g": round(peak_g, 2)}))
        for t_start, t_stop, limit, top in drive.speeding_intervals:
            points.append((t0 + t_start, 2, "speeding_start", {"limit_kmh": limit}))
            points.append((t0 + t_stop, 2, "speeding_end",
                           {"limit_kmh": limit, "max_kmh": round(top, 1), "duration_s": round(t_stop - t_start)}))
        for behaviours, feature in ((_DMS, "dms"), (_ADAS, "adas")):
            if feature in g.features:
                for name, rate_field in behaviours:
                    rate = getattr(g.risk, rate_field) / 3600.0
                    at = rng.expovariate(rate) if rate > 0 else math.inf
                    while at < drive.duration_s:
                        points.append((t0 + at, 3, feature, {"behavior": name}))
                        at += rng.expovariate(rate)
        if st.reefer_c is not None:
            at = SENSOR_EVERY_S
            while at < drive.duration_s:
                points.append((t0 + at, 7, "sensor", {}))
                at += SENSOR_EVERY_S
        points.sort(key=_TIME_THEN_ORDER)
        loud, fences = self._loud, self._fences
        rng_random, stride = rng.random, self._noise_stride
        fatigue_s = g.risk.fatigue_after_h * 3600.0
        fix = self._fix(t0)
        st.moving = True
        self._emit("moving", fix)
        if self._out:
            yield self._take()
        travelled = 0.0
        # the points in (t, order) order with the reports (order 5: no other point has it) merged in: report k goes
        # first unless a point comes earlier, or at the same time with a lower order
        k, report_t = 1, t0 + every
        i, n_points = 0, len(points)
        attrs: dict[str, Any]
        rows, ci = drive.rows, 0
        row_t0, row_t1, x0, v0, acc, lat_a, lat_b, lon_a, lon_b, course, limit_kmh, _seg = rows[0]
        due = self._scheduled_due()
        # reports nobody reads whole (a quiet position with no geofence to check: `_quiet_reports`)
        quiet = self.QUIET_RUNS and "position" not in loud and not fences
        while True:
            if quiet and k <= last and report_t < end and report_t < due:
                # the reports before the next point, the scheduled work, the end and the fatigue alert, in one call
                point_t, point_order = (points[i][0], points[i][1]) if i < n_points else (math.inf, 0)
                if report_t < point_t or (report_t == point_t and point_order > 5):
                    k, report_t, travelled, ci = self._quiet_reports(
                        drive, t0, every, k, last, point_t, point_order, min(end, due), fatigue_s, travelled, ci)
                    row_t0, row_t1, x0, v0, acc, lat_a, lat_b, lon_a, lon_b, course, limit_kmh, _seg = rows[ci]
            if k <= last and (i == n_points or report_t < points[i][0]
                              or (report_t == points[i][0] and points[i][1] > 5)):
                at, kind = report_t, "position"
                k += 1
                report_t = t0 + k * every
            elif i < n_points:
                at, _order, kind, attrs = points[i]
                i += 1
            else:
                break
            if at >= end:
                break
            self._clock = at
            # drive.state_at(tau), inline (the same operations on the same row: `Drive.rows`): the points come in
            # non-decreasing time, so the phase cursor only moves forward
            tau = at - t0
            if tau >= row_t1:
                ci += 1
                while tau >= rows[ci][1]:
                    ci += 1
                row_t0, row_t1, x0, v0, acc, lat_a, lat_b, lon_a, lon_b, course, limit_kmh, _seg = rows[ci]
            dt = tau - row_t0
            v = v0 + acc * dt
            x = x0 + (v0 + 0.5 * acc * dt) * dt
            st.odometer_m += x - travelled
            travelled = x
            st.lat, st.lon, st.course = lat_a + lat_b * x, lon_a + lon_b * x, course
            st.speed_mps = speed = v if v > 0.0 else 0.0
            st.limit_kmh = limit_kmh
            if at >= due:  # before `due` it has nothing to do
                self._run_scheduled(at)
                due = self._scheduled_due()
            if kind == "tick":
                continue
            if kind in ("dms", "adas") and speed * 3.6 < _MIN_ALERT_KMH[attrs["behavior"]]:
                continue  # dashcams suppress these below their activation speed
            # `_advance`, written out (hot path: once per point that reports, most of a drive's events; 0.3 % of
            # bench-mixed's instructions)
            r = rng_random()
            sats = st.satellites + (r < 0.08) - (r > 0.92)
            st.satellites = 16 if sats > 16 else 4 if sats < 4 else sats
            r2 = r * 13.0 % 1.0
            gsm = st.gsm + (r2 < 0.1) - (r2 > 0.9)
            st.gsm = 31 if gsm > 31 else 5 if gsm < 5 else gsm
            self._noise_i = (self._noise_i + stride) & _NORMAL_MASK
            if kind == "position":
                # a quiet position's fix is still built when a geofence check or the fatigue alert reads it
                elapsed = at - t0
                fatigue = not st.fatigue_sent and st.driving_s + elapsed >= fatigue_s
                if "position" in loud or fences or fatigue:
                    fix = self._build_fix(at, r2)
                    self._push(kind, fix, {})  # its own dict, which its event keeps
                    if fences:
                        self._check_geofences(fix)
                    if fatigue:
                        st.fatigue_sent = True
                        self._emit("fatigue", fix, driving_s=round(st.driving_s + elapsed))
                else:
                    self._send(kind, at)
            elif kind == "sensor":
                self._reefer_reading(at, r2)
            elif kind not in loud:
                self._send(kind, at)
            elif kind == "speeding_start":
                fix = self._build_fix(at, r2)
                self._emit(kind, fix, speed_kmh=fix.speed_kmh, **attrs)
            else:
                self._push(kind, self._build_fix(at, r2), attrs)
            if len(self._out) >= 64:  # hand over in batches: fewer generator hops on the hot path
                yield self._take()
        final = drive.state_at(end - t0)
        st.odometer_m += final.x_m - travelled
        st.lat, st.lon = final.lat, final.lon
        st.speed_mps, st.limit_kmh = final.speed_mps, final.limit_kmh
        st.driving_s += end - t0
        self._clock = end
        if end < t0 + drive.duration_s:  # the scenario ends mid-drive: nothing more to report
            return
        if self.profile.name == "e-bike":
            st.battery_pct = max(3.0, st.battery_pct - final.x_m / 600.0)
            if st.battery_pct < 20 and final.x_m > 0:
                self._emit("low_battery", self._fix(end), battery_pct=int(st.battery_pct))
        st.moving = False
        st.speed_mps, st.limit_kmh = 0.0, None
        fix = self._fix(end)
        self._check_geofences(fix)
        if self.places is not None and route.nodes:
            stop = self.places.stop(route.nodes[-1])
            self._emit("stopped", fix, stop=stop.id, address=stop.address)
        else:
            self._emit("stopped", fix)
        self._rest_started = end
        if self._out:
            yield self._take()

    #: `_drive` hands runs of quiet reports to `_quiet_reports` (False: each goes through the loop, the reference)
    QUIET_RUNS = True

    def _quiet_reports(self, drive: Drive, t0: float, every: float, k: int, last: int, point_t: float,
                       point_order: int, stop_t: float, fatigue_s: float, travelled: float,
                       ci: int) -> tuple[int, float, float, int]:
        """For `_drive`, with positions quiet and no geofence: reports k, k + 1, ... (at t0 + k * every, up to
        report `last`) while each comes before the next point (at `point_t`, or at the same time when its order is
        above 5), before `stop_t` (the drive's end, or when `_run_scheduled` is due) and before the fatigue alert,
        which `_drive` makes itself. Each costs what the loop makes it cost — the state moved along the drive (the
        odometer summed report by report), `_advance`'s drift and draw, `_send`'s gap bookkeeping, draw and
        `seq` — and the state's position and speed are the last report's. Returns (k, report_t, travelled,
        row) of the first report left to `_drive`.

        Hot path of a device whose provider renders a few kinds (Samsara, SmartGPS: most of their events are
        positions nobody renders): one call per run of reports instead of the loop's dispatch and two calls per
        report. tests/simulator/world/test_quiet_events.py compares with the loop (`QUIET_RUNS = False`)."""
        st, rows, rng_random = self.state, drive.rows, self.rng.random
        gaps = self.gaps
        n_gaps, gi = len(gaps), self._gap_i
        sats, gsm, noise_i, stride = st.satellites, st.gsm, self._noise_i, self._noise_stride
        seq, odometer = self.seq, st.odometer_m
        fatigue_open = not st.fatigue_sent
        driving_s = st.driving_s
        row_t0, row_t1, x0, v0, acc = rows[ci][:5]
        report_t = t0 + k * every
        first = k
        at = x = v = 0.0
        while k <= last and (report_t < point_t or (report_t == point_t and point_order > 5)) \
                and report_t < stop_t:
            if fatigue_open and driving_s + (report_t - t0) >= fatigue_s:
                break  # the fatigue alert reads this report's fix: `_drive` makes it
            at = report_t
            tau = at - t0
            if tau >= row_t1:
                ci += 1
                while tau >= rows[ci][1]:
                    ci += 1
                row_t0, row_t1, x0, v0, acc = rows[ci][:5]
            dt = tau - row_t0
            v = v0 + acc * dt
            x = x0 + (v0 + 0.5 * acc * dt) * dt
            odometer += x - travelled
            travelled = x
            # _advance
            r = rng_random()
            sats = sats + (r < 0.08) - (r > 0.92)
            sats = 16 if sats > 16 else 4 if sats < 4 else sats
            r2 = r * 13.0 % 1.0
            gsm = gsm + (r2 < 0.1) - (r2 > 0.9)
            gsm = 31 if gsm > 31 else 5 if gsm < 5 else gsm
            noise_i = (noise_i + stride) & _NORMAL_MASK
            # _send
            while gi < n_gaps and gaps[gi].end <= at:
                gi += 1
            seq += 1
            if gi < n_gaps and gaps[gi].start <= at:
                gaps[gi].emitted += 1
            else:
                rng_random()  # the send delay
            k += 1
            report_t = t0 + k * every
        if k > first:
            row = rows[ci]
            st.lat, st.lon, st.course = row[5] + row[6] * x, row[7] + row[8] * x, row[9]
            st.speed_mps = v if v > 0.0 else 0.0
            st.limit_kmh = row[10]
            st.odometer_m = odometer
            st.satellites, st.gsm = sats, gsm
            self._noise_i, self.seq, self._gap_i = noise_i, seq, gi
            self._clock = at
        return k, report_t, travelled, ci

    def _check_geofences(self, fix: Fix) -> None:
        for number, fence, inside_fn in self._fences:
            inside = inside_fn(fix.lat, fix.lon)
            was = number in self.state.inside
            if inside == was:
                continue
            attrs: dict[str, Any] = {"geofence": fence.name, "geofence_id": number, "fence": fence}
            if self.places is not None:
                attrs["address"] = self.places.geofences[number - 1].address
            if inside:
                self.state.inside.add(number)
            else:
                self.state.inside.discard(number)
            # the crossing fix already reports the new set, as Traccar's GeofenceEventHandler stores it
            fix.geofences = self.state.inside_ids = tuple(sorted(self.state.inside))
            self._emit("geofence_enter" if inside else "geofence_exit", fix, **attrs)

    # -- injections and sensors ------------------------------------------------------------------------------

    def _next_scheduled(self, after: float) -> float:
        start = self.scenario.start
        for inj in self.injections:
            if start + inj.at_s > after:
                return start + inj.at_s
        for gap in self.gaps:
            if gap.start > after:
                return gap.start
            if gap.end > after:
                return gap.end
        return math.inf

    def _scheduled_due(self) -> float:
        """The earliest time at which `_run_scheduled` has anything to do: the next injection, the start of a gap
        not yet flagged, the end of one not yet closed (inf when none is left)."""
        due = self.scenario.start + self.injections[0].at_s if self.injections else math.inf
        for gap in self.gaps:  # sorted by start
            if gap.start >= due:
                break
            if not gap.flagged:
                due = gap.start
            elif not gap.closed and gap.end < due:
                due = gap.end
        return due

    def _run_scheduled(self, t: float) -> None:
        start, st = self.scenario.start, self.state
        while self.injections and start + self.injections[0].at_s <= t:
            inj = self.injections.pop(0)
            fix = self._fix(start + inj.at_s)
            event = inj.event
            if event == "power_cut":
                st.power = False
                self._emit("power_cut", fix)
                if inj.duration_s:
                    self.injections.append(Injection(inj.at_s + inj.duration_s, inj.group, inj.index,
                                                     "power_restored"))
                    self.injections.sort(key=lambda i: i.at_s)
            elif event == "power_restored":
                st.power = True
                self._emit("power_restored", fix)
            elif event in ("block", "unblock"):
                st.blocked = event == "block"
                self._emit(event, fix)
            elif event == "reefer_fault":
                self.reefer_fault = (start + inj.at_s, start + inj.at_s + inj.duration_s)
            elif event == "collision":
                self._emit("collision", fix, g=round(self.rng.uniform(2.5, 6.0), 2))
            elif event == "harsh_brake":
                self._emit("harsh_brake", fix, g=round(self.profile.harsh_brake_mps2 / 9.81 + 0.1, 2))
            elif event == "theft" and not self.stolen:
                self._theft_due = inj  # carried off at the next moment the bike stands parked
            elif event in ("sos", "tamper"):
                self._emit(event, fix)
        for gap in self.gaps:
            if gap.start > t:
                break
            long_gap = gap.end - gap.start >= OFFLINE_AFTER_S
            if not gap.flagged:
                gap.flagged = True
                if long_gap:
                    self._emit("offline", self._fix(gap.start))
            if gap.end <= t and not gap.closed:
                gap.closed = True
                if long_gap:
                    self._emit("online", self._fix(gap.end), gap_s=round(gap.end - gap.start))

    def _theft(self) -> _Batches:
        """A parked e-bike carried off: it moves with its motor off, so an armed tracker raises the movement
        alarm, and the thief's route leads away from wherever it was parked."""
        self._theft_due = None
        self.stolen = True
        st = self.state
        fix = self._fix(self._clock)
        if st.armed:
            self._emit("movement_alarm", fix)
        if self._out:
            yield self._take()
        here = self.network.nearest_node(LatLon(st.lat, st.lon))
        far = max((self.network.random_node(self.rng) for _ in range(6)),
                  key=lambda n: abs(self.network.node_latlon(n).lat - st.lat)
                  + abs(self.network.node_latlon(n).lon - st.lon))
        yield from self._drive(self.network.route(here, far))

    def _reefer_reading(self, t: float, r2: float | None = None) -> None:
        """A probe reading at time t, on the report `_advance` drew before it (`r2`) or else on its own report,
        drawn after the reading."""
        st, g = self.state, self.group
        if st.reefer_c is None or g.reefer_setpoint_c is None:
            return
        target = g.reefer_setpoint_c
        fault = self.reefer_fault
        if fault and fault[0] <= t <= fault[1]:
            target += min(12.0, (t - fault[0]) / 120.0)
        st.reefer_c += (target - st.reefer_c) * 0.5 + self.rng.gauss(0.0, 0.3)
        if r2 is None:
            r2 = self._advance()
        excursion = st.reefer_c - g.reefer_setpoint_c
        alarm = (fault is not None and fault[0] <= t and abs(excursion) > REEFER_ALERT_BAND_C
                 and not self.reefer_alarm_sent)
        if "sensor" not in self._loud and not alarm:
            self._send("sensor", t)
            return
        fix = self._build_fix(t, r2)
        self._emit("sensor", fix, temp_c=round(st.reefer_c, 1))
        if alarm and fault is not None:
            self.reefer_alarm_sent = True
            above = excursion > 0
            threshold = g.reefer_setpoint_c + (REEFER_ALERT_BAND_C if above else -REEFER_ALERT_BAND_C)
            self._emit("temperature", fix, temp_c=round(st.reefer_c, 1), setpoint_c=g.reefer_setpoint_c,
                       threshold_c=threshold, direction="above" if above else "below",
                       duration_s=round(t - fault[0]))


def _containment(fence: Geofence) -> Callable[[float, float], bool]:
    """A fast inside-test for one fence: local metres for circles, a bounding box before the polygon test."""
    if fence.kind == "circle" and fence.center is not None:
        c_lat, c_lon = fence.center.lat, fence.center.lon
        kx = _M_PER_DEG * math.cos(math.radians(c_lat))
        r2 = fence.radius_m * fence.radius_m

        def in_circle(lat: float, lon: float) -> bool:
            dy = (lat - c_lat) * _M_PER_DEG
            dx = (lon - c_lon) * kx
            return dx * dx + dy * dy <= r2

        return in_circle
    points = fence.points
    lat_lo, lat_hi = min(p.lat for p in points), max(p.lat for p in points)
    lon_lo, lon_hi = min(p.lon for p in points), max(p.lon for p in points)

    def in_polygon(lat: float, lon: float) -> bool:
        if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
            return False
        return point_in_polygon(LatLon(lat, lon), points)

    return in_polygon
