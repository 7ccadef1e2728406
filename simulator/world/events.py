"""The world's vocabulary: positions and domain events, before any provider renders them.

Every event sits on a position (`fix`). Times are UTC epoch seconds (floats). `send_t` is when the
platform would push it: a moment after the device time normally, much later for reports back-filled after
a coverage gap (`backfill=True`, MettaX `actual=false`).

Event kinds and their `attrs`:

| kind | attrs |
|---|---|
| position | — (a periodic fix) |
| status | — (periodic device health report: power, GSM, odometer) |
| ignition_on / ignition_off | — |
| moving | — (trip started) |
| stopped | stop (road-network node), address (its one-line street address): came to rest at a trip's end |
| speeding_start | limit_kmh, speed_kmh |
| speeding_end | limit_kmh, max_kmh, duration_s |
| harsh_brake / harsh_accel / harsh_turn | g (peak acceleration magnitude in g) |
| collision | g |
| geofence_enter / geofence_exit | geofence (name), geofence_id (1-based), address, fence (the scenario's Geofence) |
| idling | duration_s (engine on, not moving) |
| fatigue | driving_s (continuous driving time) |
| rfid | status (enter/exit), card, matched (card belongs to the assigned driver) |
| face_check | matched, similarity (0..10000, 0.01 %), result (MettaX compaResult 0..6), face_id |
| driver_change | previous (driver name or None) |
| dms | behavior: phone / smoking / distraction / seat_belt |
| adas | behavior: lane_departure / forward_collision |
| sos / tamper / power_cut / power_restored / block / unblock | — |
| offline / online | gap_s (length of the coverage loss, on online) |
| sensor | temp_c (periodic reefer reading) |
| temperature | temp_c, setpoint_c, threshold_c (the alert limit crossed), direction (above/below), duration_s |
| armed / disarmed | — (e-bike guard) |
| movement_alarm | — (moved while armed: the theft alarm) |
| low_battery | battery_pct |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fleet import Device, Driver

KINDS = frozenset({
    "position", "status", "ignition_on", "ignition_off", "moving", "stopped", "speeding_start", "speeding_end",
    "harsh_brake", "harsh_accel", "harsh_turn", "collision", "geofence_enter", "geofence_exit", "idling",
    "fatigue", "rfid", "face_check", "driver_change", "dms", "adas", "sos", "tamper", "power_cut",
    "power_restored", "block", "unblock", "offline", "online", "sensor", "temperature", "armed", "disarmed",
    "movement_alarm", "low_battery",
})


@dataclass(slots=True)
class Fix:
    t: float  # device time, UTC epoch seconds
    lat: float
    lon: float
    speed_kmh: float
    course: int  # 0..359, bearing of travel
    altitude_m: float
    satellites: int
    hdop: float
    valid: bool
    ignition: bool
    moving: bool
    odometer_m: float
    gsm_signal: int  # 0..31 (CSQ)
    ext_voltage: float  # external power (0 when cut)
    battery_pct: int  # internal backup battery / e-bike battery
    limit_kmh: float | None = None  # speed limit of the road under the vehicle, when on a road
    #: numbers (1-based, scenario order) of the geofences the device was in at its last geofence check: a
    #: platform that keeps the set on the device (Traccar 4.x `device.geofenceIds`) reads it from here
    geofences: tuple[int, ...] = ()


@dataclass(slots=True)
class WorldEvent:
    kind: str
    device: Device
    fix: Fix
    send_t: float
    seq: int  # per-device sequence number, stable for a seed
    driver: Driver | None = None
    backfill: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
