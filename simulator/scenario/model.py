"""A loaded, validated scenario: plain frozen data, no I/O. Built by scenario.loader from a YAML file.

Times are absolute UTC epoch seconds (floats) or durations in seconds; the scenario's IANA time zone is
kept for devices that report local wall-clock time (MettaX `reportCt`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LatLon:
    lat: float
    lon: float


@dataclass(frozen=True)
class Region:
    name: str
    center: LatLon
    radius_km: float
    city: str = ""  # the built-in city's slug (scenario.cities), "" for a region given by centre and radius


@dataclass(frozen=True)
class ReportIntervals:
    """Seconds between position reports: while moving, while parked with ignition on, and heartbeats
    while parked with ignition off."""

    moving_s: float = 10.0
    parked_s: float = 120.0
    heartbeat_s: float = 900.0


@dataclass(frozen=True)
class RiskProfile:
    """How a group's drivers behave. Rates are expected events per hour of driving; shares are 0..1."""

    name: str = "medium"
    speeding_share: float = 0.15  # share of road segments driven above the limit
    speeding_margin: float = 0.15  # how far above the limit, as a fraction of the limit
    harsh_share: float = 0.05  # share of stops/turns/starts taken harshly
    phone_per_h: float = 0.2
    smoking_per_h: float = 0.1
    distraction_per_h: float = 0.3
    seat_belt_per_h: float = 0.1
    lane_departure_per_h: float = 0.4
    forward_collision_per_h: float = 0.1
    fatigue_after_h: float = 4.0  # continuous driving before a fatigue alarm


@dataclass(frozen=True)
class FleetGroup:
    name: str
    count: int
    provider: str
    profile: str  # vehicle profile: car | van | truck | bus | e-bike
    features: frozenset[str] = frozenset()  # dms, adas, rfid, face_check, reefer, serial, camera
    risk: RiskProfile = field(default_factory=RiskProfile)
    report: ReportIntervals = field(default_factory=ReportIntervals)
    stops_per_trip: int = 4
    dwell_s: float = 600.0  # parked time at each stop
    shift_start_s: float = 0.0  # offset from the scenario start
    shift_s: float = 8 * 3600.0
    face_mismatch_share: float = 0.05  # face checks / RFID swipes by the wrong driver
    offline_per_day: float = 0.5  # coverage losses per device per day (besides injections)
    reefer_setpoint_c: float | None = None


@dataclass(frozen=True)
class Geofence:
    name: str
    kind: str  # circle | polygon
    center: LatLon | None = None
    radius_m: float = 0.0
    points: tuple[LatLon, ...] = ()


@dataclass(frozen=True)
class Injection:
    at_s: float  # offset from the scenario start
    group: str
    index: int  # 1-based device number within the group
    event: str  # sos | power_cut | tamper | collision | coverage_loss | block | theft | reefer_fault | ...
    duration_s: float = 0.0


@dataclass(frozen=True)
class Rate:
    mode: str  # realtime | factor | max
    factor: float = 1.0

    def describe(self) -> str:
        return {"realtime": "realtime", "max": "max"}.get(self.mode, f"x{self.factor:g}")


@dataclass(frozen=True)
class Faults:
    duplicate: float = 0.0  # share of events delivered twice (same event id, fresh signature)
    reorder_window: int = 0  # events shuffled within windows of this many
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    drop: float = 0.0  # share never sent (accounted as skipped: fault_drop)
    tamper_signature: float = 0.0
    stale_timestamp: float = 0.0
    future_timestamp: float = 0.0
    corrupt_body: float = 0.0


@dataclass(frozen=True)
class Delivery:
    rate: Rate = field(default_factory=lambda: Rate("realtime"))
    faults: Faults = field(default_factory=Faults)
    #: per-provider settings: secrets, MettaX envelope json|form, Samsara payload_version 1|2, org_id, ...
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    start: float  # UTC epoch seconds
    timezone: str
    duration_s: float
    region: Region
    groups: tuple[FleetGroup, ...]
    geofences: tuple[Geofence, ...] = ()
    injections: tuple[Injection, ...] = ()
    delivery: Delivery = field(default_factory=Delivery)
    description: str = ""
    source: str = "<scenario>"

    @property
    def end(self) -> float:
        return self.start + self.duration_s

    def providers(self) -> list[str]:
        return sorted({g.provider for g in self.groups})

    def device_count(self, providers: Collection[str] | None = None) -> int:
        """How many devices the scenario simulates: all of them, or those of `providers`."""
        return sum(g.count for g in self.groups if providers is None or g.provider in providers)
