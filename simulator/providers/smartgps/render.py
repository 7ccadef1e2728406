"""SmartGPS event webhooks from world events (seed 000, provider-facts §4: one mock sample, all else unverified).

SmartGPS pushes events only, never plain positions. Mapping (world event → `event`, severity):

| world event | event | severity |
|---|---|---|
| speeding_start | SPEEDING (speed = attrs.speed_kmh, limit = attrs.limit_kmh) | WARNING |
| harsh_brake / harsh_accel / harsh_turn | HARSH_BRAKE / HARSH_ACCEL / HARSH_TURN | WARNING |
| collision | ACCIDENT | CRITICAL |
| geofence_enter / geofence_exit | GEOFENCE_ENTER / GEOFENCE_EXIT | INFO |
| fatigue | FATIGUE | WARNING |
| dms distraction / smoking / phone / seat_belt | DISTRACTION / SMOKING / PHONE_USE / SEAT_BELT | WARNING |
| tamper / power_cut / sos / block | TAMPER / POWER_CUT / SOS / BLOCKED | CRITICAL |
| ignition_on / ignition_off | IGNITION_ON / IGNITION_OFF | INFO |
| offline | OFFLINE | INFO |
| driver_change | DRIVER_CHANGE | INFO |
| anything else (positions, adas, idling, rfid, ...) | nothing | |

Keys follow the sample's order: event, severity, objectId, plate, speed, limit (SPEEDING only), lat, lng,
timestamp. `speed`/`limit` are whole km/h like the sample; `timestamp` is the event's device time (`fix.t`, UTC,
second precision, "Z"). Back-filled events are pushed late with their original timestamp.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from ...render.base import NO_MESSAGES, Message, NoMessages, wants
from ...world.events import WorldEvent
from ...world.fleet import Device

_EVENTS = {
    "speeding_start": "SPEEDING", "harsh_brake": "HARSH_BRAKE", "harsh_accel": "HARSH_ACCEL",
    "harsh_turn": "HARSH_TURN", "collision": "ACCIDENT", "geofence_enter": "GEOFENCE_ENTER",
    "geofence_exit": "GEOFENCE_EXIT", "fatigue": "FATIGUE", "tamper": "TAMPER", "power_cut": "POWER_CUT",
    "sos": "SOS", "block": "BLOCKED", "ignition_on": "IGNITION_ON", "ignition_off": "IGNITION_OFF",
    "offline": "OFFLINE", "driver_change": "DRIVER_CHANGE",
}
_DMS = {"distraction": "DISTRACTION", "smoking": "SMOKING", "phone": "PHONE_USE", "seat_belt": "SEAT_BELT"}
_CRITICAL = frozenset({"SOS", "ACCIDENT", "POWER_CUT", "TAMPER", "BLOCKED"})
_INFO = frozenset({"IGNITION_ON", "IGNITION_OFF", "GEOFENCE_ENTER", "GEOFENCE_EXIT", "DRIVER_CHANGE", "OFFLINE"})


def severity(event: str) -> str:
    return "CRITICAL" if event in _CRITICAL else "INFO" if event in _INFO else "WARNING"


def iso_utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


class SmartGPSRenderer:
    __slots__ = ("_key", "_object_id", "_plate")
    #: the world event kinds it reads (render.base.Renderer.reads): the table's, and dms for its behaviours
    reads = frozenset(_EVENTS) | {"dms"}

    def __init__(self, device: Device, settings: Mapping[str, Any], rng: random.Random) -> None:
        self._key = device.key
        self._object_id = device.vendor_ids["object_id"]
        self._plate = device.plate

    def render(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        name = _EVENTS.get(kind)
        if name is None:
            if kind != "dms":
                return []
            name = _DMS.get(str(event.attrs.get("behavior")))
            if name is None:
                return []
        fix = event.fix
        payload: dict[str, Any] = {
            "event": name, "severity": severity(name), "objectId": self._object_id, "plate": self._plate,
        }
        if name == "SPEEDING":
            payload["speed"] = round(float(event.attrs.get("speed_kmh", fix.speed_kmh)))
            limit = event.attrs.get("limit_kmh", fix.limit_kmh)
            if limit is not None:
                payload["limit"] = round(float(limit))
        else:
            payload["speed"] = round(fix.speed_kmh)
        payload["lat"] = round(fix.lat, 6)
        payload["lng"] = round(fix.lon, 6)
        payload["timestamp"] = iso_utc(fix.t)
        return [Message("smartgps", "event", self._key, event.send_t, payload, kind)]


def smartgps_renderer(device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                        channels: frozenset[str] | None = None) -> SmartGPSRenderer | NoMessages:
    """Every SmartGPS message is a webhook: asked for other channels only, render nothing."""
    return SmartGPSRenderer(device, settings, rng) if wants(channels, "webhook") else NO_MESSAGES


RENDERER = smartgps_renderer
