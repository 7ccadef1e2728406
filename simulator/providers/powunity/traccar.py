"""What differs between the Traccar versions fleetsim emulates, and the server-side derivations that do not
(distance rounding, motion events, geofence areas, HTML encoding). Pure: no clock, no randomness.

Versions never mix (provider-facts §9): a profile fixes every version-dependent field at once.

| | traccar-4.12 (PowUnity) | traccar-6 |
|---|---|---|
| event time | `serverTime` (the server's clock) | `eventTime` (the position's deviceTime; status: the clock) |
| socket event `attributes.message` | never (arrived in 5.1) | always |
| position `type: null`, `outdated: false` | written | not written (5.0, 6.10) |
| position `geofenceIds` | — | the geofences the fix is in, null when none (5.8) |
| device `geofenceIds` | the geofences the device is in | — (moved to Position in 5.8) |
| device `calendarId`, `expirationTime` | — | written, 0 and null (5.9, 5.3) |
| strings | HTML-encoded (SanitizerModule, 4.12-4.15) | as they are |
| status change | the status event frame first, then the devices frame | devices, then events, then positions |

Both write `geofenceId` and `maintenanceId` on every event, 0 when unset (Java longs; Event has no NON_NULL),
and every null (provider-facts §1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from math import copysign, floor
from typing import Generic, TypeVar

from ...scenario.model import Geofence


@dataclass(frozen=True, slots=True)
class TraccarProfile:
    name: str
    event_time: str  # "serverTime" | "eventTime"
    web_message: bool  # socket event copies carry attributes.message
    legacy_position: bool  # position `type` and `outdated`
    device_geofences: bool  # geofenceIds on the device (else on the position)
    device_calendar: bool  # device calendarId and expirationTime
    sanitize: bool  # strings HTML-encoded on output
    #: 4.12's ConnectionManager hands status events to the notifier before it pushes the device (§1.2, §9)
    status_event_first: bool


PROFILES = {
    "traccar-4.12": TraccarProfile("traccar-4.12", "serverTime", False, True, True, False, True, True),
    "traccar-6": TraccarProfile("traccar-6", "eventTime", True, False, False, True, False, False),
}
DEFAULT_PROFILE = "traccar-4.12"  # PowUnity's (provider-facts §2)


def profile_of(name: object) -> TraccarProfile:
    if name is None:
        return PROFILES[DEFAULT_PROFILE]
    try:
        return PROFILES[str(name)]
    except KeyError:
        raise ValueError(f"unknown Traccar profile {name!r} (known: {', '.join(PROFILES)})") from None


# OWASP Encode.forHtml, which 4.12's SanitizerModule applies to every string it writes (provider-facts §1.3)
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def html(text: str) -> str:
    return text.translate(_HTML)


_CENT = Decimal("0.01")


def round2(value: float) -> float:
    """`BigDecimal.valueOf(value).setScale(2, HALF_EVEN).doubleValue()`, as DistanceHandler rounds distances
    (provider-facts §1.4): half-even on the decimal digits Java prints, so 2.675 becomes 2.68, where Python's
    round() on the binary value would give 2.67.

    Hot path (twice per moving bike's fix), in the manner of core.rounding.rounded: the cent count m is clear
    when y = value * 100 + 0.5 is not within 1e-6 of an integer (below 1e9, y's two rounding errors and the
    distance between a double and its repr, times 100, stay under 3e-7, so they cannot move y across one);
    then the decimal rounding of the printed digits is m as well, and m / 100 (both exact, IEEE division
    correctly rounded) is the double nearest that decimal. Less than half the instructions of the former fast
    path, whose round(value, 2) ran dtoa. Everything else (half cents and near ones, huge values, NaN) takes the decimal
    path (`round2_reference`, which tests compare). A zero keeps value's sign, as the decimal path's does."""
    y = value * 100.0 + 0.5
    if -1e9 < y < 1e9:
        m = floor(y)
        if 1e-6 < y - m < 0.999999:
            return m / 100.0 if m else copysign(0.0, value)
    return round2_reference(value)


def round2_reference(value: float) -> float:
    """The straightforward BigDecimal rounding `round2` must match."""
    return float(Decimal(repr(value)).quantize(_CENT, ROUND_HALF_EVEN))


def area_wkt(fence: Geofence) -> str:
    """A scenario geofence as Traccar stores its area: `CIRCLE (lat lon, radius)` or a closed
    `POLYGON ((lat lon, ...))`, latitude first as Traccar's GeofenceCircle/GeofencePolygon read it."""
    if fence.kind == "circle" and fence.center is not None:
        return f"CIRCLE ({fence.center.lat} {fence.center.lon}, {float(fence.radius_m)})"
    points = list(fence.points)
    if points and points[0] != points[-1]:
        points.append(points[0])
    return "POLYGON ((" + ", ".join(f"{p.lat} {p.lon}" for p in points) + "))"


#: Traccar's trip defaults (report.trip.minimalTripDistance / minimalTripDuration / minimalParkingDuration)
MIN_TRIP_DISTANCE_M = 500.0
MIN_TRIP_MS = 300_000
MIN_PARKING_MS = 300_000


#: a stored position, whatever form the renderer keeps it in (its dict, or the facts it is written from)
P = TypeVar("P")


class MotionState(Generic[P]):
    """Traccar 4.12's MotionEventHandler for one device (provider-facts §1.4, §9): when `motion` changes, the
    first position with the new value is remembered; the event fires once the new state has lasted
    MIN_TRIP_MS or MIN_TRIP_DISTANCE_M (moving) or MIN_PARKING_MS (stopped), and it points at that first
    position. A reversal before then forgets it. When it fires, `state` is already the new state, which is the
    first position's `motion`."""

    __slots__ = ("first", "first_ms", "first_total", "state")

    def __init__(self) -> None:
        self.state: bool | None = None
        self.first: P | None = None
        self.first_ms = 0
        self.first_total = 0.0

    def update(self, position: P, motion: bool, fix_ms: int, total: float) -> P | None:
        """Feed the latest stored position; the first position of the new state when an event is due."""
        if self.state is None:
            self.state = motion
            return None
        if motion == self.state:
            self.first = None
            return None
        if self.first is None:
            self.first, self.first_ms, self.first_total = position, fix_ms, total
        if motion:
            due = fix_ms - self.first_ms >= MIN_TRIP_MS or total - self.first_total >= MIN_TRIP_DISTANCE_M
        else:
            due = fix_ms - self.first_ms >= MIN_PARKING_MS
        return self._fire() if due else None

    def on_status_change(self, now_ms: int) -> P | None:
        """ConnectionManager.updateDeviceState: a device going unknown/offline settles a change whose time
        has come even though no position arrived to settle it."""
        if self.first is None or self.state is None:
            return None
        duration = MIN_TRIP_MS if not self.state else MIN_PARKING_MS
        return self._fire() if self.first_ms + duration <= now_ms else None

    def _fire(self) -> P | None:
        first = self.first
        self.state = not self.state
        self.first = None
        return first
