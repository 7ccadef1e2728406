"""World events as Standard Webhooks events: `vehicle.*` for what the vehicle did, `alarm.*` for what needs a
person. Positions and periodic reports are not sent (webhooks carry events, not telemetry)."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from ...render.base import NO_MESSAGES, Message, NoMessages, wants
from ...world.events import WorldEvent
from ...world.fleet import Device

_TYPES = {
    "ignition_on": "vehicle.ignition_on", "ignition_off": "vehicle.ignition_off", "moving": "vehicle.moving",
    "stopped": "vehicle.stopped", "speeding_start": "vehicle.speeding_started",
    "speeding_end": "vehicle.speeding_ended", "harsh_brake": "vehicle.harsh_brake",
    "harsh_accel": "vehicle.harsh_acceleration", "harsh_turn": "vehicle.harsh_turn",
    "geofence_enter": "vehicle.geofence_entered", "geofence_exit": "vehicle.geofence_exited",
    "offline": "vehicle.offline", "online": "vehicle.online", "sos": "alarm.sos", "collision": "alarm.collision",
    "tamper": "alarm.tamper", "power_cut": "alarm.power_cut", "movement_alarm": "alarm.movement",
}

EVENT_TYPES = sorted(set(_TYPES.values()))


def iso_ms(t: float) -> str:
    ms = round(t * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class StandardWebhooksRenderer:
    __slots__ = ("_key", "_vehicle")
    #: the world event kinds it reads (render.base.Renderer.reads): those it sends
    reads = frozenset(_TYPES)

    def __init__(self, device: Device) -> None:
        self._key = device.key
        self._vehicle = {"id": device.key, "name": device.label, "vin": device.vin, "plate": device.plate}

    def render(self, event: WorldEvent) -> list[Message]:
        kind = _TYPES.get(event.kind)
        if kind is None:
            return []
        fix = event.fix
        details: dict[str, Any] = {k: v for k, v in event.attrs.items() if isinstance(v, str | int | float | bool)}
        payload = {
            "type": kind,
            "timestamp": iso_ms(fix.t),
            "data": {"vehicle": dict(self._vehicle), "location": {"lat": round(fix.lat, 6), "lon": round(fix.lon, 6)},
                     "speed_kmh": round(fix.speed_kmh, 1), "details": details},
        }
        return [Message("standard_webhooks", "event", self._key, event.send_t, payload, event.kind)]


def RENDERER(device: Device, settings: Mapping[str, Any], rng: random.Random, *,
             channels: frozenset[str] | None = None) -> StandardWebhooksRenderer | NoMessages:
    """Every Standard Webhooks message is a webhook: asked for other channels only, render nothing."""
    return StandardWebhooksRenderer(device) if wants(channels, "webhook") else NO_MESSAGES
