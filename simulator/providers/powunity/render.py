"""PowUnity BikeTrax renderer: a Traccar server seen through its WebSocket and its webhook, as the Traccar
version of the `profile` setting writes it (traccar-4.12, PowUnity's, by default; traccar-6; see traccar.py)
(seed 001, provider-facts §1-§2, §9).

Every world event sits on a message the tracker sent, so every event (except `offline`, which the server
detects by silence) renders as the frames Traccar pushes for one incoming device message, in its order:

1. `{"devices":[Device]}`: status online and the new `lastUpdate` (sent for every decoded message; under
   traccar-4.12 a status event — deviceOnline, deviceUnknown, deviceOffline — goes out before it, §9);
2. one `{"events":[Event]}` frame per Traccar event generated (from Traccar 5.1 on with attribute `message`,
   the short notification text; never under traccar-4.12);
3. `{"positions":[Position]}`, unless the fix is older than the last pushed one: Traccar stores historical
   and out-of-order fixes but does not push them (PostProcessHandler), and its state-based event handlers
   (ignition, motion, overspeed, geofence) skip them too, so an old fix yields alarm events only.

Silence: the device turns `unknown` (deviceUnknown) `status_timeout_s` (Traccar's status.timeout, default
600 s) after its last message, and `offline` (deviceOffline) when the server closes its connection,
`offline_after_s` (default 180 s, PowUnity's "offline = nothing received for 3 minutes") after it; whichever
comes first cancels the other's timer, as ConnectionManager does (provider-facts §1.2). Setting
`status_events: false` (Traccar's event.status.enable, off by default since 6.14) keeps the status changes in
the devices frames but generates no status events.

Every Traccar event is also forwarded as a `webhook` `{event, position?, device, geofence?}` (no position for
the status events; `geofence`, the scenario's geofence with its real area, when the event names one), subject
to the account's `webhookTypes` attribute (setting `webhook_types`: a list or a comma-separated string;
absent = all types) and, for non-b2b accounts (setting `b2b: false`), to "non-alert events are ignored".

| world event | Traccar event |
|---|---|
| any report | deviceMoving / deviceStopped from the positions' `motion` (traccar.MotionState), at the first new one |
| ignition_on / ignition_off | ignitionOn / ignitionOff |
| speeding_start | deviceOverspeed {speed, speedLimit} (knots) |
| geofence_enter / geofence_exit | geofenceEnter / geofenceExit (geofenceId); `device.geofenceIds` follows the fix |
| online / offline | deviceOnline / deviceUnknown / deviceOffline (no position); a report after silence: online |
| movement_alarm / power_cut / tamper | alarm movement / powerCut / tampering |
| sos / collision / low_battery | alarm sos / accident / lowBattery |
| harsh_brake / harsh_accel / harsh_turn | alarm hardBraking / hardAcceleration / hardCornering |
| armed / disarmed | — (position attribute `armed`, device attribute `guarded`) |
| anything else | — (the position only) |

Alarm events, harsh-driving alarms included, are generated ONLY while the device is armed (PowUnity's Events
page: "alarm events occur only while the device is armed"); a disarmed bike reports the position without
an `alarm` attribute. Arming state follows the world's armed/disarmed events (setting `initially_armed`,
default false).

Position attributes as PowUnity's h02 trackers report them (aiobiketrax capture, provider-facts §2): integer
`batteryLevel`, `armed`, `charge`, `alarm` (alarm positions only), `ignition`, the h02 `status` bitmask (bit
10 = ignition, H02ProtocolDecoder) and a message `index`, no `sat`; then the server's `distance` and
`totalDistance` (metres, rounded half-even to 2 decimals, counted from the tracker's first message:
DistanceHandler), `motion` (speed above PowUnity's 2 km/h) and `hours` (ms with ignition on, left out while 0:
EngineHoursHandler).

Ids: Traccar's position and event ids are database sequences shared by all devices, but each renderer serves
one device, so ids are `id_base + n * id_stride + <the device's Traccar id>` (settings `id_base`, default 0, and
`id_stride`, default 16384): unique across up to `id_stride` devices, increasing per device, roughly increasing in
time across the fleet. `fleetsim check` sets `id_base` from its seed (`Provider.fresh_id_settings`), so a receiver
that keeps the events of earlier runs sees new ids, as it would from a server whose sequences moved on.

Doubles are Python floats (12.0, never 12) so core.javajson writes them as Jackson does (`5.0E7` for
totalDistance >= 1e7 m); integers (batteryLevel, status, index, hours in ms) stay ints. Every double Java may write
differently (any that can leave [1e-3, 1e7)) is wrapped with `jd` here, so each frame and webhook is a
`JavaDocument`, written without javajson's rewrite scan.

Channels: a renderer asked for `channels={"webhook"}` (a webhook run, where about three messages in four
would be frames it drops) keeps every piece of state the webhooks read — ids, distances, hours, motion,
arming, alarm, status timers, geofences — but builds no frame: a stored position stays a tuple of its facts
(`_Facts`) until a webhook carries it, and the device object is built only for a webhook. Asked for
`{"websocket"}` (`fleetsim serve`), it builds no webhook and draws no webhook delay (the render rng is drawn
for nothing else). Either way its messages are exactly those of the full renderer on that channel.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from ...core.javajson import JavaDocument, JavaDouble, jd
from ...render.base import Message, wants
from ...world.events import WorldEvent
from ...world.fleet import Device
from .traccar import MotionState, TraccarProfile, area_wkt, html, profile_of, round2

PROVIDER = "powunity"
KMH_PER_KNOT = 1.852
DEFAULT_ID_STRIDE = 16384
#: PowUnity: "Offline = nothing received for 3 minutes" (Events page): when the server drops the connection
OFFLINE_AFTER_S = 180.0
#: Traccar's status.timeout (provider-facts §1.2)
STATUS_TIMEOUT_S = 600.0
#: PowUnity's moving/stopped threshold, 2 km/h (provider-facts §2), in knots as MotionHandler compares it
MOTION_SPEED_KN = 2.0 / KMH_PER_KNOT
#: h02 status word with every flag clear (bits set = no alarm), ignition in bit 10 (H02ProtocolDecoder) [I]
H02_STATUS = 0xFFFFFFFF
H02_IGNITION = 1 << 10
#: the webhook leaves right after the event is stored: a few ms to a few hundred ms after the frames [I]
WEBHOOK_DELAY_S = (0.02, 0.25)

#: world kind -> Traccar alarm (Position.ALARM_*)
ALARMS = {
    "movement_alarm": "movement",
    "power_cut": "powerCut",
    "tamper": "tampering",
    "sos": "sos",
    "collision": "accident",
    "low_battery": "lowBattery",
    "harsh_brake": "hardBraking",
    "harsh_accel": "hardAcceleration",
    "harsh_turn": "hardCornering",
}
#: world kind -> Traccar event type, for the state-based events the world marks (latest positions only);
#: deviceMoving/deviceStopped are derived from the positions instead (MotionState)
STATE_EVENTS = {
    "ignition_on": "ignitionOn",
    "ignition_off": "ignitionOff",
    "speeding_start": "deviceOverspeed",
    "geofence_enter": "geofenceEnter",
    "geofence_exit": "geofenceExit",
}
STATUS_EVENTS = frozenset({"deviceOnline", "deviceOffline", "deviceUnknown"})

# Traccar date pieces, so a timestamp is four table lookups instead of a strftime per position
_HOUR_MINUTE = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
_SECOND = tuple(f"{s:02d}." for s in range(60))
_MILLI_ZONE = tuple(f"{ms:03d}+00:00" for ms in range(1000))

_ALARM_TEXT = {
    "movement": "movement", "powerCut": "power cut", "tampering": "tampering", "sos": "SOS",
    "accident": "accident", "lowBattery": "low battery", "hardBraking": "hard braking",
    "hardAcceleration": "hard acceleration", "hardCornering": "hard cornering",
}

#: one Traccar event waiting to be written: type, attributes, geofence id and name, and the stored position it
#: points at when not the current one (deviceMoving/deviceStopped point at the first position of the change)
_Pending = tuple[str, dict[str, Any], int, str | None, "dict[str, Any] | _Facts | None"]

#: a stored position before it is written (`PowUnityRenderer._position` makes it a dict): id, index,
#: batteryLevel, armed, charge, alarm, ignition, distance, totalDistance, motion, hours (ms), serverTime (ms),
#: fixTime (ms), valid, latitude, longitude, speed (knots), course, geofences the fix is in
_Facts = tuple[int, int, int, bool, bool, str | None, bool, float, float, bool, int, int, int, bool, float, float,
               float, int, tuple[int, ...]]


def _webhook_types(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset(t.strip() for t in value.split(",") if t.strip())
    return frozenset(str(t) for t in value)


class PowUnityRenderer:
    """One BikeTrax tracker as Traccar sees it: id counters, last fix, arming, motion and connection state."""

    __slots__ = (
        "_areas",
        "_days",
        "_dev_attrs",
        "_dev_template",
        "_fences",
        "_frames",
        "_geofence_tuple",
        "_id_offset",
        "_last",
        "_minute",
        "_minute_text",
        "_name",
        "_pos_template",
        "_shape",
        "_traccar_id",
        "_webhooks",
        "alarm_active",
        "armed",
        "b2b",
        "device",
        "event_seq",
        "geofence_ids",
        "hours_ms",
        "last_alarm_ms",
        "last_fix_ms",
        "last_ignition",
        "last_odometer",
        "last_update",
        "last_update_ms",
        "motion",
        "offline_after_s",
        "position_id",
        "position_seq",
        "profile",
        "rng",
        "status",
        "status_events",
        "status_timeout_s",
        "stride",
        "total_distance",
        "webhook_types",
    )
    #: the world event kinds it reads (render.base.Renderer.reads): all (every event is a position to Traccar,
    #: and motion, ignition and connection state follow them, whichever channels it renders)
    reads: frozenset[str] | None = None

    def __init__(self, device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                 channels: frozenset[str] | None = None) -> None:
        self.device = device
        self.rng = rng
        self._frames = wants(channels, "websocket")  # build the socket frames
        self._webhooks = wants(channels, "webhook")  # build the webhooks (and draw their delays)
        self.profile: TraccarProfile = profile_of(settings.get("profile"))
        self.webhook_types = _webhook_types(settings.get("webhook_types"))
        self.b2b = bool(settings.get("b2b", True))
        self.stride = int(settings.get("id_stride", DEFAULT_ID_STRIDE))
        if device.vendor_ids["traccar_id"] >= self.stride:
            raise ValueError(f"traccar id {device.vendor_ids['traccar_id']} does not fit id_stride {self.stride}")
        self.armed = bool(settings.get("initially_armed", False))
        self.alarm_active = False
        self.last_alarm_ms: int | None = None
        self.status = "online"
        self.position_seq = 0
        self.event_seq = 0
        self.position_id = 0  # latest stored position (Device.positionId)
        self._last: dict[str, Any] | _Facts | None = None  # the latest pushed position (never mutated)
        self.last_fix_ms: int | None = None  # fixTime of the latest position (pushed or first)
        self.last_update: str | None = None  # None with last_update_ms set: not written yet (no frames)
        self.last_update_ms: int | None = None
        self.offline_after_s = float(settings.get("offline_after_s", OFFLINE_AFTER_S))
        self.status_timeout_s = float(settings.get("status_timeout_s", STATUS_TIMEOUT_S))
        self.status_events = bool(settings.get("status_events", True))
        self.last_odometer: float | None = None
        self.total_distance = 0.0  # DistanceHandler: from the tracker's first message on this server
        self.last_ignition: bool | None = None
        self.hours_ms = 0
        self.motion: MotionState[dict[str, Any] | _Facts] = MotionState()
        self.geofence_ids: list[int] = []  # 4.x Device.geofenceIds: replaced, never mutated
        self._geofence_tuple: tuple[int, ...] = ()  # the fix's geofences `geofence_ids` was made from
        self._days: dict[int, str] = {}
        self._minute: int | None = None  # `_time`'s last minute (ms // 60000) and its text
        self._minute_text = ""
        areas = settings.get("geofence_areas") or {}
        self._areas: dict[str, str] = {str(k): str(v) for k, v in dict(areas).items()}
        self._fences: dict[int, dict[str, Any]] = {}
        self._traccar_id: int = device.vendor_ids["traccar_id"]
        #: where this device's ids start: the server's own id base (setting `id_base`) and the device's Traccar id
        self._id_offset: int = int(settings.get("id_base", 0)) + self._traccar_id
        legacy, device_geofences = self.profile.legacy_position, self.profile.device_geofences
        # which of `_position`'s two displays fits the profile (True: 4.12's, False: 6's), None: neither
        self._shape: bool | None = legacy if legacy == device_geofences else None
        self._name = self._text_out(device.label)
        self._dev_attrs = self._device_attributes()
        self._dev_template = self._device_reference(0)  # `_device` sets what changes: attributes, status, ...
        # `_position` copies it and sets what changes; its constants and key order are `_position_reference`'s
        self._pos_template = self._position_reference(
            (0, 0, 0, False, False, None, False, 0.0, 0.0, False, 0, 0, 0, False, 0.0, 0.0, 0.0, 0, ()))

    # -- helpers -----------------------------------------------------------------------------------------

    def _text_out(self, text: str) -> str:
        """A string as the profile's Jackson writes it (4.12 HTML-encodes every string)."""
        return html(text) if self.profile.sanitize else text

    def _time(self, ms: int) -> str:
        """Jackson StdDateFormat in UTC: 2021-01-01T00:00:00.000+00:00, `_time_reference`'s text (tests compare
        them).

        Hot path (twice per report: serverTime and fixTime, mostly in the same minute): the text up to the
        minute is kept, so a call is two divmods and two table lookups."""
        minute, rest = divmod(ms, 60000)
        if minute != self._minute:
            day, minute_of_day = divmod(minute, 1440)
            self._minute, self._minute_text = minute, self._date(day) + _HOUR_MINUTE[minute_of_day]
        second, milli = divmod(rest, 1000)
        return f"{self._minute_text}{_SECOND[second]}{_MILLI_ZONE[milli]}"

    def _time_reference(self, ms: int) -> str:
        """`_time` with table lookups, the date cached: the plain writer the fast one must match."""
        sec, milli = divmod(ms, 1000)
        day, second_of_day = divmod(sec, 86400)
        minute, second = divmod(second_of_day, 60)
        return f"{self._date(day)}{_HOUR_MINUTE[minute]}{_SECOND[second]}{_MILLI_ZONE[milli]}"

    def _date(self, day: int) -> str:
        """Day `day` since the epoch as "YYYY-MM-DDT", cached (a scenario spans a few days)."""
        date = self._days.get(day)
        if date is None:
            if len(self._days) > 64:
                self._days.clear()
            date = self._days[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
        return date

    def _position(self, facts: _Facts) -> dict[str, Any]:
        """A stored position as Traccar writes it, in the profile's shape: `_position_reference`'s dict, for the
        two shipped profiles a copy of the renderer's template (the reference's keys and constants) with the ten
        fields that change set, and an attributes display (tests compare them).

        Hot path (once per report): `jd`'s test written out as chained comparisons (no abs() call), and the
        template's copy and stores instead of an 18-key display, which cost twice as much (the devices and
        positions frames are three quarters of bench-mixed's records)."""
        shape = self._shape
        if shape is None:
            return self._position_reference(facts)
        (position_id, index, battery, armed, charge, alarm, ignition, distance, total, motion, hours, server_ms,
         fix_ms, valid, lat, lon, speed, course, geofences) = facts
        # jd(x) for each double that can leave [1e-3, 1e7) in magnitude: wrapped only when Java writes it
        # differently (NaN fails every comparison, as it fails jd's)
        if not (1e-3 <= distance < 1e7 or distance == 0.0 or -1e7 < distance <= -1e-3):
            distance = JavaDouble(distance)
        if not (1e-3 <= total < 1e7 or total == 0.0 or -1e7 < total <= -1e-3):
            total = JavaDouble(total)
        if alarm is None:  # the key exists only on alarm positions
            attributes: dict[str, Any] = {
                "batteryLevel": battery, "armed": armed, "charge": charge, "ignition": ignition,
                "status": H02_STATUS if ignition else H02_STATUS ^ H02_IGNITION, "index": index,
                "distance": distance, "totalDistance": total, "motion": motion}
        else:
            attributes = {
                "batteryLevel": battery, "armed": armed, "charge": charge, "alarm": alarm, "ignition": ignition,
                "status": H02_STATUS if ignition else H02_STATUS ^ H02_IGNITION, "index": index,
                "distance": distance, "totalDistance": total, "motion": motion}
        if hours:  # EngineHoursHandler writes hours only once they are not 0
            attributes["hours"] = hours
        lat = round(lat * 1e6) / 1e6
        if not (-1e7 < lat <= -1e-3 or 1e-3 <= lat < 1e7 or lat == 0.0):
            lat = JavaDouble(lat)
        lon = round(lon * 1e6) / 1e6
        if not (-1e7 < lon <= -1e-3 or 1e-3 <= lon < 1e7 or lon == 0.0):
            lon = JavaDouble(lon)
        if not (1e-3 <= speed < 1e7 or speed == 0.0 or -1e7 < speed <= -1e-3):
            speed = JavaDouble(speed)
        position = self._pos_template.copy()
        position["id"] = position_id
        position["attributes"] = attributes
        position["serverTime"] = self._time(server_ms)
        position["deviceTime"] = position["fixTime"] = self._time(fix_ms)
        position["valid"] = valid
        position["latitude"] = lat
        position["longitude"] = lon
        position["speed"] = speed
        position["course"] = float(course)
        if not shape:  # 6: geofenceIds on the position (4.12: on the device)
            position["geofenceIds"] = list(geofences) or None
        return position

    def _position_reference(self, facts: _Facts) -> dict[str, Any]:
        """`_position` key by key, for any profile: the plain writer the fast one must match."""
        (position_id, index, battery, armed, charge, alarm, ignition, distance, total, motion, hours, server_ms,
         fix_ms, valid, lat, lon, speed, course, geofences) = facts
        profile = self.profile
        attributes: dict[str, Any] = {"batteryLevel": battery, "armed": armed, "charge": charge}
        if alarm is not None:  # the key exists only on alarm positions
            attributes["alarm"] = alarm
        attributes["ignition"] = ignition
        attributes["status"] = H02_STATUS if ignition else H02_STATUS ^ H02_IGNITION
        attributes["index"] = index
        attributes["distance"] = jd(distance)
        attributes["totalDistance"] = jd(total)
        attributes["motion"] = motion
        if hours:  # EngineHoursHandler writes hours only once they are not 0
            attributes["hours"] = hours
        fix_time = self._time(fix_ms)
        position: dict[str, Any] = {"id": position_id, "attributes": attributes,
                                    "deviceId": self.device.vendor_ids["traccar_id"]}
        if profile.legacy_position:
            position["type"] = None
        position["protocol"] = "h02"
        position["serverTime"] = self._time(server_ms)
        position["deviceTime"] = fix_time
        position["fixTime"] = fix_time
        if profile.legacy_position:
            position["outdated"] = False
        position["valid"] = valid
        # h02 resolution; n / 1e6 is the shortest double. jd: near the equator or the prime meridian a
        # coordinate can fall below 1e-3, which Java writes 5.0E-4 (every document here is a JavaDocument)
        position["latitude"] = jd(round(lat * 1e6) / 1e6)
        position["longitude"] = jd(round(lon * 1e6) / 1e6)
        position["altitude"] = 0.0  # h02 reports no altitude
        position["speed"] = jd(speed)
        position["course"] = float(course)
        position["address"] = None
        position["accuracy"] = 0.0
        position["network"] = None
        if not profile.device_geofences:  # 5.8+: on the position, null when in none (GeofenceHandler)
            position["geofenceIds"] = list(geofences) or None
        return position

    def _written(self, position: dict[str, Any] | _Facts) -> dict[str, Any]:
        """A stored position as a dict: written now if it was kept as its facts (webhooks-only mode)."""
        return self._position(position) if isinstance(position, tuple) else position

    @property
    def last_position(self) -> dict[str, Any] | None:
        """The latest pushed position (never mutated)."""
        last = self._last
        if last is None:
            return None
        if isinstance(last, tuple):
            last = self._last = self._position(last)
        return last

    def _device_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"guarded": self.armed, "alarm": self.alarm_active,
                                 "guardType": self._text_out("movement")}
        if self.last_alarm_ms is not None:
            attrs["lastAlarm"] = self.last_alarm_ms
        attrs["autoGuard"] = False
        attrs["geofenceRadius"] = 50
        return attrs

    def _device(self, position_id: int) -> dict[str, Any]:
        """The device as Traccar writes it now: `_device_reference`'s dict, a copy of this device's template
        with the fields that change set in place (their keys keep the template's order; tests compare them).

        Hot path (once per report, the devices frame): a dict copy and five stores instead of fifteen."""
        out = self._dev_template.copy()
        out["attributes"] = self._dev_attrs  # replaced, never mutated, when the state changes
        out["status"] = self.status
        out["lastUpdate"] = self._last_update()
        out["positionId"] = position_id
        if self.profile.device_geofences:
            out["geofenceIds"] = self.geofence_ids
        return out

    def _last_update(self) -> str | None:
        """The device's lastUpdate text; in webhooks-only mode written when first needed."""
        last_update = self.last_update
        if last_update is None and self.last_update_ms is not None:
            last_update = self.last_update = self._time(self.last_update_ms)
        return last_update

    def _device_reference(self, position_id: int) -> dict[str, Any]:
        """`_device` key by key: the plain writer the template's copies must match (and make the template)."""
        device = self.device
        profile = self.profile
        out: dict[str, Any] = {
            "id": device.vendor_ids["traccar_id"],
            "attributes": self._dev_attrs,  # replaced, never mutated, when the state changes
            "groupId": 0,
        }
        if profile.device_calendar:
            out["calendarId"] = 0
        out["name"] = self._name
        out["uniqueId"] = device.imei
        out["status"] = self.status
        out["lastUpdate"] = self._last_update()
        out["positionId"] = position_id
        if profile.device_geofences:
            out["geofenceIds"] = self.geofence_ids
        out["phone"] = None
        out["model"] = None
        out["contact"] = None
        out["category"] = "bicycle"
        out["disabled"] = False
        if profile.device_calendar:
            out["expirationTime"] = None
        return out

    def _wants_webhook(self, event_type: str) -> bool:
        if not self.b2b and event_type != "alarm":
            return False
        return self.webhook_types is None or event_type in self.webhook_types

    def _text(self, event_type: str, attrs: dict[str, Any], geofence: str | None, ms: int) -> str:
        name = self.device.label
        if event_type == "alarm":
            what = f"alarm: {_ALARM_TEXT.get(attrs['alarm'], attrs['alarm'])}"
        elif event_type == "deviceOverspeed":
            what = f"exceeds the speed {attrs['speed'] * KMH_PER_KNOT:.0f} km/h"
        elif event_type == "geofenceEnter":
            what = f"has entered geofence {geofence}"
        elif event_type == "geofenceExit":
            what = f"has exited geofence {geofence}"
        else:
            what = {
                "ignitionOn": "ignition ON", "ignitionOff": "ignition OFF", "deviceMoving": "is moving",
                "deviceStopped": "has stopped", "deviceOnline": "is online", "deviceOffline": "is offline",
                "deviceUnknown": "status is unknown",
            }.get(event_type, event_type)
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000 + self.device.tz_offset_s))
        return f"{name} {what} at {local}"

    def _geofence(self, geofence_id: int, name: str, fence: Any, lat: float, lon: float) -> dict[str, Any]:
        known = self._fences.get(geofence_id)
        if known is not None:
            return known
        area = self._areas.get(name) or self._areas.get(str(geofence_id))
        if area is None:
            if fence is not None and hasattr(fence, "kind"):
                area = area_wkt(fence)  # the scenario's geofence, its real area
            else:  # a world event without its fence: a circle around where the bike crossed it
                area = f"CIRCLE ({lat:.6f} {lon:.6f}, 100.0)"
        known = self._fences[geofence_id] = {
            "id": geofence_id, "attributes": {}, "calendarId": 0, "name": self._text_out(name),
            "description": None, "area": area,
        }
        return known

    # -- what the server answers over REST (the state the frames so far have shown) --------------------------

    def device_view(self) -> dict[str, Any]:
        """The device as `GET /api/devices` returns it now, in the profile's shape."""
        return self._device(self.position_id)

    def geofence_view(self, geofence_id: int, name: str, fence: Any = None) -> dict[str, Any]:
        """A geofence as `GET /api/geofences` returns it: the same object the webhooks carry (its area from
        the `geofence_areas` setting, else the scenario's `fence`)."""
        return self._geofence(geofence_id, name, fence, 0.0, 0.0)

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        if kind == "offline":
            return self._silence(event)
        key = self.device.key
        send_t = event.send_t
        server_ms = int(send_t * 1000)
        profile = self.profile
        frames = self._frames
        out: list[Message] = []
        pending: list[_Pending] = []

        if self.status != "online":  # any message after a silence brings the device back
            self.status = "online"
            if self.status_events:
                pending.append(("deviceOnline", {}, 0, None, None))

        if kind == "armed":
            self.armed = True
            self._dev_attrs = self._device_attributes()
        elif kind == "disarmed":
            self.armed = False
            self.alarm_active = False
            self._dev_attrs = self._device_attributes()

        fix = event.fix
        fix_ms = int(fix.t * 1000)
        last_fix_ms = self.last_fix_ms
        latest = last_fix_ms is None or fix_ms >= last_fix_ms

        # -- the position Traccar stores (DistanceHandler, MotionHandler, EngineHoursHandler) --
        self.position_seq += 1
        position_id = self.position_seq * self.stride + self._id_offset
        odometer = fix.odometer_m
        last_odometer = self.last_odometer
        distance = round2(odometer - last_odometer) if last_odometer is not None and odometer > last_odometer \
            else 0.0
        # a total already rounded stays as it is (round2 is idempotent): most fixes of a parked bike add nothing
        total = self.total_distance = round2(self.total_distance + distance) if distance else self.total_distance
        ignition = fix.ignition
        if latest:
            if self.last_ignition and ignition and last_fix_ms is not None:
                self.hours_ms += fix_ms - last_fix_ms
            self.last_ignition = ignition
            self.last_odometer = odometer
            self.last_fix_ms = fix_ms
        speed = round(fix.speed_kmh * (100 / KMH_PER_KNOT)) / 100
        motion = speed > MOTION_SPEED_KN
        alarm = ALARMS.get(kind) if self.armed else None
        facts: _Facts = (position_id, self.position_seq & 0xFFFF, fix.battery_pct, self.armed, fix.ext_voltage > 0.0,
                         alarm, ignition, distance, total, motion, self.hours_ms, server_ms, fix_ms, fix.valid, fix.lat,
                         fix.lon, speed, fix.course, fix.geofences)
        # without frames the position stays its facts until a webhook carries it
        position: dict[str, Any] | _Facts
        if frames:
            written = position = self._position(facts)
            last_update: str | None = written["serverTime"]
        else:
            position, last_update = facts, None

        # -- events --
        if latest and fix.valid:
            first = self.motion.update(position, motion, fix_ms, total)
            if first is not None:  # the first position of the new state: its motion is the new state
                pending.append(("deviceMoving" if self.motion.state else "deviceStopped", {}, 0, None, first))
        state_type = STATE_EVENTS.get(kind)
        if state_type is not None and latest:
            attrs = event.attrs
            if state_type == "deviceOverspeed":
                over = float(attrs.get("speed_kmh", fix.speed_kmh))
                limit = float(attrs.get("limit_kmh", fix.limit_kmh or 0.0))
                pending.append((state_type, {"speed": jd(round(over / KMH_PER_KNOT, 2)),
                                             "speedLimit": jd(round(limit / KMH_PER_KNOT, 2))}, 0, None, None))
            elif state_type in ("geofenceEnter", "geofenceExit"):
                geofence_id = int(attrs.get("geofence_id", 1))
                name = str(attrs.get("geofence", f"Geofence {geofence_id}"))
                self._geofence(geofence_id, name, attrs.get("fence"), fix.lat, fix.lon)
                pending.append((state_type, {}, geofence_id, name, None))
            else:
                pending.append((state_type, {}, 0, None, None))
        if alarm is not None:
            pending.append(("alarm", {"alarm": alarm}, 0, None, None))
            self.alarm_active = True
            self.last_alarm_ms = server_ms
            self._dev_attrs = self._device_attributes()

        previous_position_id = self.position_id
        self.last_update = last_update
        self.last_update_ms = server_ms
        if frames:
            # an empty JavaDocument and one store: a third fewer instructions than JavaDocument(devices=...)
            document = JavaDocument()
            document["devices"] = [self._device(previous_position_id)]
            out.append(Message(PROVIDER, "socket_frame", key, send_t, document, kind))
        if latest:
            self.position_id = position_id
            self._last = position
            # GeofenceEventHandler runs after the devices frame went out: device.setGeofenceIds
            # a tuple compare, no list built per report (the set changes a few times a day)
            geofences = fix.geofences
            if profile.device_geofences and geofences != self._geofence_tuple:
                self.geofence_ids = list(geofences)
                self._geofence_tuple = geofences
        webhooks = self._events(event, pending, position, server_ms, out) if pending else None
        if frames and profile.status_event_first and pending and pending[0][0] == "deviceOnline":
            out[0], out[1] = out[1], out[0]  # 4.12: deviceOnline goes out before the device that turned online
        if latest and frames:
            document = JavaDocument()
            document["positions"] = [position]
            out.append(Message(PROVIDER, "socket_frame", key, send_t, document, kind))
        if webhooks:
            out.extend(webhooks)
        return out

    def _events(self, event: WorldEvent, pending: list[_Pending], position: dict[str, Any] | _Facts,
                server_ms: int, out: list[Message], send_t: float | None = None) -> list[Message]:
        """Append one events frame per Traccar event to `out` (when frames are wanted); return the webhooks
        (sent a moment later). Every event takes its id, wanted or not."""
        key = self.device.key
        if send_t is None:
            send_t = event.send_t
        profile = self.profile
        frames = self._frames
        server_time = self._time(server_ms)
        webhooks: list[Message] = []
        for event_type, attrs, geofence_id, geofence_name, carried in pending:
            self.event_seq += 1
            wanted = self._webhooks and self._wants_webhook(event_type)
            if not (frames or wanted):
                continue
            status_event = event_type in STATUS_EVENTS
            kept = None if status_event else (carried or position)
            about = None if kept is None else self._written(kept)
            # 4.12 stamps an event with the server's clock; 6.x with its position's deviceTime
            when = server_time if about is None or profile.event_time == "serverTime" else about["deviceTime"]
            traccar_event: dict[str, Any] = {
                "id": self.event_seq * self.stride + self._id_offset,
                "attributes": attrs,
                "deviceId": self._traccar_id,
                "type": event_type,
                profile.event_time: when,
                "positionId": 0 if about is None else about["id"],
                "geofenceId": geofence_id,
                "maintenanceId": 0,
            }
            if frames:
                if profile.web_message:  # NotificatorWeb's copy (5.1+): the short notification text
                    framed = dict(traccar_event)
                    framed["attributes"] = {**attrs,
                                            "message": self._text(event_type, attrs, geofence_name, server_ms)}
                else:
                    framed = traccar_event
                out.append(Message(PROVIDER, "socket_frame", key, send_t, JavaDocument(events=[framed]), event.kind))
            if not wanted:
                continue
            body = JavaDocument(event=traccar_event)
            if about is not None:
                # a position written for this webhook alone is its own; a pushed one is shared with the frames
                body["position"] = about if about is not kept else {**about, "attributes": about["attributes"].copy()}
            body["device"] = self._device(self.position_id)
            if geofence_id and geofence_name is not None:
                body["geofence"] = self._geofence(geofence_id, geofence_name, None, event.fix.lat, event.fix.lon)
            delay = self.rng.uniform(*WEBHOOK_DELAY_S)
            webhooks.append(Message(PROVIDER, "webhook", key, send_t + delay, body, event.kind))
        return webhooks

    def _silence(self, event: WorldEvent) -> list[Message]:
        """The server notices the silence (ConnectionManager): `unknown` once status.timeout has passed since
        the last message, `offline` when it closes the connection; whichever comes first cancels the other's
        timer, so with PowUnity's 3 minutes and the default 600 s timeout the device goes straight offline.
        Neither is sent before the world's own offline moment."""
        if self.status != "online":
            return []
        floor_ms = int(event.send_t * 1000)
        last_ms = self.last_update_ms if self.last_update_ms is not None else floor_ms
        unknown_ms = last_ms + int(self.status_timeout_s * 1000)
        offline_ms = max(floor_ms, last_ms + int(self.offline_after_s * 1000))
        out: list[Message] = []
        if unknown_ms < offline_ms:
            out += self._status(event, "unknown", "deviceUnknown", max(floor_ms, unknown_ms))
        return out + self._status(event, "offline", "deviceOffline", max(offline_ms, floor_ms))

    def _status(self, event: WorldEvent, status: str, event_type: str, server_ms: int) -> list[Message]:
        """One status change, no position: the devices frame and the status event (plus a motion change whose
        time has come, ConnectionManager.updateDeviceState)."""
        self.status = status
        send_t = server_ms / 1000
        frames = self._frames
        out: list[Message] = []
        if frames:
            out.append(Message(PROVIDER, "socket_frame", self.device.key, send_t,
                               JavaDocument(devices=[self._device(self.position_id)]), event.kind))
        pending: list[_Pending] = []
        first = self.motion.on_status_change(server_ms)
        if first is not None:  # the first position of the new state: its motion is the new state
            pending.append(("deviceMoving" if self.motion.state else "deviceStopped", {}, 0, None, first))
        if self.status_events:
            pending.append((event_type, {}, 0, None, None))
        webhooks = self._events(event, pending, {}, server_ms, out, send_t)
        if frames and self.profile.status_event_first and pending:  # 4.12: the events go out before the device
            out = out[1:] + out[:1]
        return out + webhooks


def powunity_renderer(device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                      channels: frozenset[str] | None = None) -> PowUnityRenderer:
    return PowUnityRenderer(device, settings, rng, channels=channels)


__all__ = ["ALARMS", "STATE_EVENTS", "PowUnityRenderer", "powunity_renderer"]


RENDERER = powunity_renderer
