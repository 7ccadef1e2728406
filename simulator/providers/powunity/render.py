"""PowUnity BikeTrax renderer: a Traccar 4.x server seen through its WebSocket and its webhook
(seed 001, provider-facts §1-§2).

Every world event sits on a message the tracker sent, so every event (except `offline`, which the server
detects by silence: no earlier than `offline_after_s`, default 180 s, after the last message, PowUnity's
"offline = nothing received for 3 minutes") renders as the frames Traccar pushes for one incoming device
message, in its order:

1. `{"devices":[Device]}`: status online and the new `lastUpdate` (sent for every decoded message);
2. one `{"events":[Event]}` frame per Traccar event generated (the web-notificator copy, with attribute
   `message`, the short notification text);
3. `{"positions":[Position]}`, unless the fix is older than the last pushed one: Traccar stores historical
   and out-of-order fixes but does not push them (PostProcessHandler), and its state-based event handlers
   (ignition, motion, overspeed, geofence) skip them too, so an old fix yields alarm events only.

Every Traccar event is also forwarded as a `webhook` `{event, position?, device, geofence?}` (no position for
the status events deviceOnline/deviceOffline; `geofence` when the event names one), subject to the account's
`webhookTypes` attribute (setting `webhook_types`: a list or a comma-separated string; absent = all types)
and, for non-b2b accounts (setting `b2b: false`), to "non-alert events are ignored".

| world event | Traccar event |
|---|---|
| ignition_on / ignition_off | ignitionOn / ignitionOff |
| moving / stopped | deviceMoving / deviceStopped |
| speeding_start | deviceOverspeed {speed, speedLimit} (knots) |
| geofence_enter / geofence_exit | geofenceEnter / geofenceExit (geofenceId) |
| online / offline | deviceOnline / deviceOffline (no position); any report after `offline` is also `online` |
| movement_alarm / power_cut / tamper | alarm movement / powerCut / tampering |
| sos / collision / low_battery | alarm sos / accident / lowBattery |
| harsh_brake / harsh_accel / harsh_turn | alarm hardBraking / hardAcceleration / hardCornering |
| armed / disarmed | — (position attribute `armed`, device attribute `guarded`) |
| anything else | — (the position only) |

Alarm events, harsh-driving alarms included, are generated ONLY while the device is armed (PowUnity's Events
page: "alarm events occur only while the device is armed"); a disarmed bike reports the position without
an `alarm` attribute. Arming state follows the world's armed/disarmed events (setting `initially_armed`,
default false).

Ids: Traccar's position and event ids are database sequences shared by all devices, but each renderer serves
one device, so ids are `n * id_stride + <the device's Traccar id>` (setting `id_stride`, default 16384): unique across
up to `id_stride` devices, increasing per device, roughly increasing in time across the fleet.

Doubles are Python floats (12.0, never 12) so core.javajson writes them as Jackson does (`5.0E7` for
totalDistance >= 1e7 m); integers (batteryLevel, sat, hours in ms) stay ints.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from ...core.javajson import jd
from ...render.base import Message
from ...world.events import WorldEvent
from ...world.fleet import Device

PROVIDER = "powunity"
KMH_PER_KNOT = 1.852
DEFAULT_ID_STRIDE = 16384
#: PowUnity: "Offline = nothing received for 3 minutes" (Events page)
OFFLINE_AFTER_S = 180.0
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
#: world kind -> Traccar event type, for the state-based events (latest positions only)
STATE_EVENTS = {
    "ignition_on": "ignitionOn",
    "ignition_off": "ignitionOff",
    "moving": "deviceMoving",
    "stopped": "deviceStopped",
    "speeding_start": "deviceOverspeed",
    "geofence_enter": "geofenceEnter",
    "geofence_exit": "geofenceExit",
}
STATUS_EVENTS = frozenset({"deviceOnline", "deviceOffline"})

# Traccar date pieces, so a timestamp is four table lookups instead of a strftime per position
_HOUR_MINUTE = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
_SECOND = tuple(f"{s:02d}." for s in range(60))
_MILLI_ZONE = tuple(f"{ms:03d}+00:00" for ms in range(1000))

_ALARM_TEXT = {
    "movement": "movement", "powerCut": "power cut", "tampering": "tampering", "sos": "SOS",
    "accident": "accident", "lowBattery": "low battery", "hardBraking": "hard braking",
    "hardAcceleration": "hard acceleration", "hardCornering": "hard cornering",
}


def _webhook_types(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset(t.strip() for t in value.split(",") if t.strip())
    return frozenset(str(t) for t in value)


class PowUnityRenderer:
    """One BikeTrax tracker as Traccar 4.x sees it: id counters, last fix, arming and connection state."""

    __slots__ = (
        "_areas", "_days", "_dev_attrs", "alarm_active", "armed", "b2b", "device", "event_seq", "hours_ms",
        "last_alarm_ms", "last_fix_ms", "last_ignition", "last_odometer", "last_update", "last_update_ms",
        "offline_after_s", "position_id",
        "position_seq", "rng", "status", "stride", "webhook_types",
    )

    def __init__(self, device: Device, settings: Mapping[str, Any], rng: random.Random) -> None:
        self.device = device
        self.rng = rng
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
        self.last_fix_ms: int | None = None  # fixTime of the latest position (pushed or first)
        self.last_update: str | None = None
        self.last_update_ms: int | None = None
        self.offline_after_s = float(settings.get("offline_after_s", OFFLINE_AFTER_S))
        self.last_odometer: float | None = None
        self.last_ignition: bool | None = None
        self.hours_ms = 0
        self._days: dict[int, str] = {}
        areas = settings.get("geofence_areas") or {}
        self._areas: dict[str, str] = {str(k): str(v) for k, v in dict(areas).items()}
        self._dev_attrs = self._device_attributes()

    # -- helpers -----------------------------------------------------------------------------------------

    def _time(self, ms: int) -> str:
        """Jackson StdDateFormat in UTC: 2021-01-01T00:00:00.000+00:00 (table lookups, the date is cached)."""
        sec, milli = divmod(ms, 1000)
        day, second_of_day = divmod(sec, 86400)
        date = self._days.get(day)
        if date is None:
            if len(self._days) > 64:
                self._days.clear()
            date = self._days[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
        minute, second = divmod(second_of_day, 60)
        return f"{date}{_HOUR_MINUTE[minute]}{_SECOND[second]}{_MILLI_ZONE[milli]}"

    def _device_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"guarded": self.armed, "alarm": self.alarm_active, "guardType": "movement"}
        if self.last_alarm_ms is not None:
            attrs["lastAlarm"] = self.last_alarm_ms
        attrs["autoGuard"] = False
        attrs["geofenceRadius"] = 50
        return attrs

    def _device(self, position_id: int) -> dict[str, Any]:
        device = self.device
        return {
            "id": device.vendor_ids["traccar_id"],
            "attributes": self._dev_attrs,  # replaced, never mutated, when the state changes
            "groupId": 0,
            "name": device.label,
            "uniqueId": device.imei,
            "status": self.status,
            "lastUpdate": self.last_update,
            "positionId": position_id,
            "geofenceIds": [],
            "phone": None,
            "model": None,
            "contact": None,
            "category": "bicycle",
            "disabled": False,
        }

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
            }.get(event_type, event_type)
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000 + self.device.tz_offset_s))
        return f"{name} {what} at {local}"

    def _geofence(self, geofence_id: int, name: str, lat: float, lon: float) -> dict[str, Any]:
        area = self._areas.get(name) or self._areas.get(str(geofence_id))
        if area is None:  # no configured area: a circle around where the bike first crossed it
            area = self._areas[str(geofence_id)] = f"CIRCLE ({lat:.6f} {lon:.6f}, 100.0)"
        return {"id": geofence_id, "attributes": {}, "calendarId": 0, "name": name, "description": None,
                "area": area}

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        if kind == "offline":
            return self._offline(event)
        key = self.device.key
        send_t = event.send_t
        server_ms = int(send_t * 1000)
        server_time = self._time(server_ms)
        out: list[Message] = []
        pending: list[tuple[str, dict[str, Any], int, str | None]] = []  # type, attributes, geofenceId, name

        if self.status != "online":  # any message after a silence brings the device back
            self.status = "online"
            pending.append(("deviceOnline", {}, 0, None))

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
        position_id = self.position_seq * self.stride + self.device.vendor_ids["traccar_id"]
        odometer = fix.odometer_m
        last_odometer = self.last_odometer
        distance = odometer - last_odometer if last_odometer is not None and odometer > last_odometer else 0.0
        ignition = fix.ignition
        if latest:
            if self.last_ignition and last_fix_ms is not None:
                self.hours_ms += fix_ms - last_fix_ms
            self.last_ignition = ignition
            self.last_odometer = odometer
            self.last_fix_ms = fix_ms

        alarm = ALARMS.get(kind) if self.armed else None
        attributes: dict[str, Any] = {
            "batteryLevel": fix.battery_pct,
            "alarm": alarm,
            "armed": self.armed,
            "charge": fix.ext_voltage > 0.0,
            "ignition": ignition,
            "sat": fix.satellites,
            "distance": jd(distance),
            "totalDistance": jd(odometer),
            "motion": fix.moving,
            "hours": self.hours_ms,
        }
        if alarm is None:  # the key exists only on alarm positions (deleting keeps the others' order)
            del attributes["alarm"]
        fix_time = self._time(fix_ms)
        position = {
            "id": position_id,
            "attributes": attributes,
            "deviceId": self.device.vendor_ids["traccar_id"],
            "type": None,
            "protocol": "h02",
            "serverTime": server_time,
            "deviceTime": fix_time,
            "fixTime": fix_time,
            "outdated": False,
            "valid": fix.valid,
            "latitude": round(fix.lat * 1e6) / 1e6,  # h02 resolution; n / 1e6 is the shortest double
            "longitude": round(fix.lon * 1e6) / 1e6,
            "altitude": 0.0,  # h02 reports no altitude
            "speed": round(fix.speed_kmh * (100 / KMH_PER_KNOT)) / 100,
            "course": float(fix.course),
            "address": None,
            "accuracy": 0.0,
            "network": None,
        }

        # -- events --
        state_type = STATE_EVENTS.get(kind)
        if state_type is not None and latest:
            attrs = event.attrs
            if state_type == "deviceOverspeed":
                speed = float(attrs.get("speed_kmh", fix.speed_kmh))
                limit = float(attrs.get("limit_kmh", fix.limit_kmh or 0.0))
                pending.append((state_type, {"speed": round(speed / KMH_PER_KNOT, 2),
                                             "speedLimit": round(limit / KMH_PER_KNOT, 2)}, 0, None))
            elif state_type in ("geofenceEnter", "geofenceExit"):
                geofence_id = int(attrs.get("geofence_id", 1))
                name = str(attrs.get("geofence", f"Geofence {geofence_id}"))
                pending.append((state_type, {}, geofence_id, name))
            else:
                pending.append((state_type, {}, 0, None))
        if alarm is not None:
            pending.append(("alarm", {"alarm": alarm}, 0, None))
            self.alarm_active = True
            self.last_alarm_ms = server_ms
            self._dev_attrs = self._device_attributes()

        previous_position_id = self.position_id
        self.last_update = server_time
        self.last_update_ms = server_ms
        out.append(Message(PROVIDER, "socket_frame", key, send_t, {"devices": [self._device(previous_position_id)]},
                           kind))
        if latest:
            self.position_id = position_id
        webhooks = self._events(event, pending, position, position_id, server_ms, server_time, out) if pending else None
        if latest:
            out.append(Message(PROVIDER, "socket_frame", key, send_t, {"positions": [position]}, kind))
        if webhooks:
            out.extend(webhooks)
        return out

    def _events(
        self, event: WorldEvent, pending: list[tuple[str, dict[str, Any], int, str | None]],
        position: dict[str, Any], position_id: int, server_ms: int, server_time: str, out: list[Message],
        send_t: float | None = None,
    ) -> list[Message]:
        """Append one events frame per Traccar event to `out`; return the webhooks (sent a moment later)."""
        key = self.device.key
        if send_t is None:
            send_t = event.send_t
        webhooks: list[Message] = []
        for event_type, attrs, geofence_id, geofence_name in pending:
            status_event = event_type in STATUS_EVENTS
            self.event_seq += 1
            traccar_event: dict[str, Any] = {
                "id": self.event_seq * self.stride + self.device.vendor_ids["traccar_id"],
                "attributes": attrs,
                "deviceId": self.device.vendor_ids["traccar_id"],
                "type": event_type,
                "serverTime": server_time,
                "positionId": 0 if status_event else position_id,
            }
            if geofence_id:
                traccar_event["geofenceId"] = geofence_id
            framed = dict(traccar_event)
            framed["attributes"] = {**attrs, "message": self._text(event_type, attrs, geofence_name, server_ms)}
            out.append(Message(PROVIDER, "socket_frame", key, send_t, {"events": [framed]}, event.kind))
            if not self._wants_webhook(event_type):
                continue
            body: dict[str, Any] = {"event": traccar_event}
            if not status_event:
                body["position"] = {**position, "attributes": position["attributes"].copy()}
            body["device"] = self._device(self.position_id if status_event else position_id)
            if geofence_id and geofence_name is not None:
                body["geofence"] = self._geofence(geofence_id, geofence_name, event.fix.lat, event.fix.lon)
            delay = self.rng.uniform(*WEBHOOK_DELAY_S)
            webhooks.append(Message(PROVIDER, "webhook", key, send_t + delay, body, event.kind))
        return webhooks

    def _offline(self, event: WorldEvent) -> list[Message]:
        """The server notices the silence: device status offline and a deviceOffline event, no position.
        Not before `offline_after_s` (PowUnity: 3 minutes) after the last message it received."""
        if self.status == "offline":
            return []
        self.status = "offline"
        server_ms = int(event.send_t * 1000)
        if self.last_update_ms is not None:
            server_ms = max(server_ms, self.last_update_ms + int(self.offline_after_s * 1000))
        send_t = server_ms / 1000
        out: list[Message] = [
            Message(PROVIDER, "socket_frame", self.device.key, send_t, {"devices": [self._device(self.position_id)]},
                    event.kind)
        ]
        pending: list[tuple[str, dict[str, Any], int, str | None]] = [("deviceOffline", {}, 0, None)]
        webhooks = self._events(event, pending, {}, 0, server_ms, self._time(server_ms), out, send_t)
        return out + webhooks


def powunity_renderer(device: Device, settings: Mapping[str, Any], rng: random.Random) -> PowUnityRenderer:
    return PowUnityRenderer(device, settings, rng)


__all__ = ["ALARMS", "STATE_EVENTS", "PowUnityRenderer", "powunity_renderer"]


RENDERER = powunity_renderer
