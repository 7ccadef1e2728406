"""Samsara renderer: the world's events as the alert webhooks Samsara pushes (seed 004, provider-facts §3).

Samsara pushes ALERTS only: a plain position or status report renders to nothing. Two payload versions:

- 1.0 (`payload_version: 1`, the default, kind `alert_v1`): `{eventId, eventMs, eventType: "Alert", event}`
  with one alert condition id per event (table below) and English condition descriptions
  (providers.samsara.CONDITION_DESCRIPTIONS).
- 2.0 (`payload_version: 2`, kind `event_v2`): `{eventId, eventTime, eventType, orgId, webhookId, data}`;
  native 2.0 event types where one fits (SpeedingEvent*, Geofence*, GatewayUnplugged), otherwise an
  `AlertIncident` with one condition.

| world event | 1.0 alertConditionId | 2.0 eventType (condition) |
|---|---|---|
| speeding_start | — | SpeedingEventStarted |
| speeding_end | DeviceSpeedAboveSpeedLimit | SpeedingEventEnded |
| harsh_brake / harsh_accel / harsh_turn / collision | HarshEvent | AlertIncident "Harsh Event" |
| geofence_enter / geofence_exit | DeviceLocationInsideGeofence / ...OutsideGeofence | GeofenceEntry / GeofenceExit |
| idling | EngineIdle | AlertIncident "Idling" |
| temperature | TemperatureAbove / TemperatureBelow (`sensor`) | AlertIncident "Ambient Temperature" |
| power_cut / tamper | DeviceUnplugged | GatewayUnplugged |
| low_battery | BatteryVoltageBelow | AlertIncident "Vehicle Battery Voltage" |
| sos | — (1.0 has no panic condition) | AlertIncident "Panic Button", then resolved ~5 s later |
| moving (only with `movement_alerts: true`) | DeviceMovement | AlertIncident "Vehicle Movement" |

Settings (delivery.providers.samsara): `payload_version` 1|2, `org_id` (int), `webhook_id` (numeric string),
`movement_alerts` (bool, default false). One scenario is one Samsara org posting to one webhook (one URL has
one `webhookId`), so the defaults of `org_id` and `webhook_id` derive from the fleet (scenario name and seed,
`Device.fleet`), never from a device: every device of a scenario sends the same pair, and another seed gives
another pair. Condition configuration ids derive from (org_id, condition), so they agree across devices too.

2.0 data shapes, as developers.samsara.com documents each event type (provider-facts §9):

- GatewayUnplugged: `{gateway: {model, serial, vehicle: {externalIds, id, name}}}`, the vehicle INSIDE the
  gateway (/docs/gatewayunplugged);
- SpeedingEventStarted / SpeedingEventEnded: `{severityLevel, startTime, tripStartTime, vehicle: {assetType,
  externalIds, id, licensePlate, name, vehicleVin}}`; `tripStartTime` is when the device's current trip began
  (its last `moving` event);
- GeofenceEntry / GeofenceExit: `{address: {externalIds, formattedAddress, geofence, id, name}, vehicle:
  {assetType, externalIds, gateway: {model, serial}, id, licensePlate, name, vin}}`, the geofence being the
  scenario's own (circle with radiusMeters, or polygon vertices) and formattedAddress a street address in
  the city around it (stable per geofence), never the vehicle's coordinates.

Times: `startMs` / `happenedAtTime` are the device time the condition began (the fix time, or fix time minus
the condition's duration for speeding/idling/temperature); `eventMs` / `eventTime` are the send time, a few
seconds after the event reached the platform (`WorldEvent.send_t`), so the send time is always later.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from ...core import ids
from ...render.base import NO_MESSAGES, Message, NoMessages, wants
from ...scenario.model import Geofence
from ...schemagen.hints import street_address
from ...world.events import WorldEvent
from ...world.fleet import Device, Driver
from .provider import CONDITION_DESCRIPTIONS

PROVIDER = "samsara"
#: seconds between the platform receiving the data and the alert webhook leaving Samsara [U]
ALERT_LATENCY_S = (1.5, 6.0)
#: a panic-button incident resolves about this long after it opened (real 2.0 capture, provider-facts §3.3)
PANIC_RESOLVE_S = (4.0, 6.0)

_HARSH_LABELS = {
    "harsh_brake": "Harsh Brake",
    "harsh_accel": "Harsh Acceleration",
    "harsh_turn": "Harsh Turn",
    "collision": "Crash",
}

#: 2.0 AlertIncident conditions: world kind -> (condition key in `details`, description, triggerId).
#: Only "Panic Button" = 1034 is from a real payload (provider-facts §3.2); the other keys, descriptions and
#: trigger ids are plausible stand-ins [U].
_V2_CONDITIONS: dict[str, tuple[str, str, int]] = {
    "harsh": ("harshEvent", "Harsh Event", 1012),
    "idling": ("idling", "Idling", 1019),
    "temperature": ("ambientTemperature", "Ambient Temperature", 1007),
    "low_battery": ("vehicleBatteryVoltage", "Vehicle Battery Voltage", 1009),
    "sos": ("panicButton", "Panic Button", 1034),
    "moving": ("vehicleMovement", "Vehicle Movement", 1016),
}


#: vehicle gateway models from the GatewayUnplugged page's valid values; a device keeps one
_GATEWAY_MODELS = ("VG34", "VG54NA", "VG55NA", "VG55EU")
#: radius of the fallback geofence when an event carries no scenario geofence (hand-made events only)
_FALLBACK_RADIUS_M = 200


def _geofence_shape(fence: Any, fix: Any) -> tuple[dict[str, Any], tuple[float, float]]:
    """The scenario geofence as Samsara writes one, and its centre (for the street address)."""
    if isinstance(fence, Geofence) and fence.kind == "polygon" and fence.points:
        vertices = [{"latitude": p.lat, "longitude": p.lon} for p in fence.points]
        centre = (sum(p.lat for p in fence.points) / len(fence.points),
                  sum(p.lon for p in fence.points) / len(fence.points))
        return {"polygon": {"vertices": vertices}}, centre
    if isinstance(fence, Geofence) and fence.center is not None:
        circle = {"latitude": fence.center.lat, "longitude": fence.center.lon,
                  "radiusMeters": max(1, round(fence.radius_m))}
        return {"circle": circle}, (fence.center.lat, fence.center.lon)
    centre = (round(fix.lat, 6), round(fix.lon, 6))
    return {"circle": {"latitude": centre[0], "longitude": centre[1], "radiusMeters": _FALLBACK_RADIUS_M}}, centre


def _rfc3339_ms(ms: int) -> str:
    sec, milli = divmod(ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{milli:03d}Z"


def _rfc3339(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def _stable_uuid(text: str) -> str:
    """A v4-shaped UUID that depends only on `text` (alert configurations are org-wide, not per device)."""
    h = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    variant = "89ab"[int(h[16], 16) & 0x3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def _stable_int(text: str, low: int, high: int) -> int:
    return low + int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % (high - low)


def _minutes(seconds: float) -> int:
    return int(seconds // 60)


def _for_minutes(seconds: float) -> str:
    mins = _minutes(seconds)
    if mins < 1:
        return ""
    return f" for {mins} minute{'s' if mins != 1 else ''}"


class SamsaraRenderer:
    """One device's Samsara alerts. State: nothing but the per-condition ids (derived, cached)."""

    def __init__(self, device: Device, settings: Mapping[str, Any], rng: random.Random) -> None:
        version = int(settings.get("payload_version", 1))
        if version not in (1, 2):
            raise ValueError(f"samsara payload_version must be 1 or 2, not {version!r}")
        self.device = device
        self.rng = rng
        self.version = version
        # org and webhook belong to the fleet (the scenario), not to this device
        fleet = f"samsara:{device.fleet}"
        default_org = _stable_int(f"{fleet}:org", 1_000, 99_999)
        default_webhook = str(_stable_int(f"{fleet}:webhook", 10**15, 10**16))
        sensor_id = rng.randint(10**11, 10**14)
        sensor_serial = "-".join(ids.hex_string(rng, 3, upper=True) for _ in range(3))
        self.org_id = int(settings.get("org_id", default_org))
        self.webhook_id = str(settings.get("webhook_id", default_webhook))
        if not self.webhook_id.isdigit():
            raise ValueError(f"samsara webhook_id must be a numeric string, not {self.webhook_id!r}")
        self.movement_alerts = bool(settings.get("movement_alerts", False))
        vehicle_id, serial = device.vendor_ids["vehicle_id"], device.vendor_ids["gateway_serial"]
        self._device_v1 = {"id": vehicle_id, "name": device.label, "serial": serial,
                           "vin": device.vin}
        self._sensor_v1 = {"id": sensor_id, "name": f"{device.label} reefer probe", "serial": sensor_serial}
        external_ids = {"samsara.serial": serial, "samsara.vin": device.vin}
        self._vehicle_v2 = {
            "id": str(vehicle_id),
            "name": device.label,
            "licensePlate": device.plate,
            "vin": device.vin,
            "externalIds": external_ids,
        }
        self._gateway = {"model": _GATEWAY_MODELS[_stable_int(serial, 0, len(_GATEWAY_MODELS))],
                         "serial": serial}
        # per event type, in the documented member order
        self._vehicle_tiny = {"externalIds": external_ids, "id": str(vehicle_id), "name": device.label}
        self._vehicle_speeding = {"assetType": "vehicle", "externalIds": external_ids, "id": str(vehicle_id),
                                  "licensePlate": device.plate, "name": device.label, "vehicleVin": device.vin}
        self._vehicle_gateway = {"assetType": "vehicle", "externalIds": external_ids, "gateway": self._gateway,
                                 "id": str(vehicle_id), "licensePlate": device.plate, "name": device.label,
                                 "vin": device.vin}
        self._fleet = fleet
        self._trip_start_ms: int | None = None
        self._config_ids: dict[str, tuple[str, int]] = {}
        handlers: dict[str, Callable[[WorldEvent], list[Message]]]
        if version == 1:
            handlers = {
                "speeding_end": self._v1_speeding,
                "harsh_brake": self._v1_harsh,
                "harsh_accel": self._v1_harsh,
                "harsh_turn": self._v1_harsh,
                "collision": self._v1_harsh,
                "geofence_enter": self._v1_geofence,
                "geofence_exit": self._v1_geofence,
                "idling": self._v1_idling,
                "temperature": self._v1_temperature,
                "power_cut": self._v1_unplugged,
                "tamper": self._v1_unplugged,
                "low_battery": self._v1_battery,
            }
            if self.movement_alerts:
                handlers["moving"] = self._v1_movement
        else:
            handlers = {
                "speeding_start": self._v2_speeding,
                "speeding_end": self._v2_speeding,
                "harsh_brake": self._v2_harsh,
                "harsh_accel": self._v2_harsh,
                "harsh_turn": self._v2_harsh,
                "collision": self._v2_harsh,
                "geofence_enter": self._v2_geofence,
                "geofence_exit": self._v2_geofence,
                "idling": self._v2_incident,
                "temperature": self._v2_incident,
                "power_cut": self._v2_unplugged,
                "tamper": self._v2_unplugged,
                "low_battery": self._v2_incident,
                "sos": self._v2_panic,
            }
            if self.movement_alerts:
                handlers["moving"] = self._v2_incident
        self._handlers = handlers
        #: the world event kinds it reads (render.base.Renderer.reads): its alerts', and moving for tripStartTime
        self.reads: frozenset[str] | None = frozenset(handlers) | {"moving"}

    # -- shared ------------------------------------------------------------------------------------------

    def render(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        if kind == "moving":  # a trip starts: SpeedingEvent* name it in tripStartTime
            self._trip_start_ms = int(event.fix.t * 1000)
        handler = self._handlers.get(kind)
        if handler is None:
            return []
        return handler(event)

    def _send_ms(self, event: WorldEvent, start_ms: int) -> int:
        low, high = ALERT_LATENCY_S
        send_ms = int((max(event.send_t, event.fix.t) + self.rng.uniform(low, high)) * 1000)
        return max(send_ms, start_ms + 1000)

    def _config(self, condition: str) -> tuple[str, int]:
        """(configurationId uuid, numeric alert id for URLs): stable per org and condition."""
        found = self._config_ids.get(condition)
        if found is None:
            key = f"samsara:{self.org_id}:{condition}"
            found = (_stable_uuid(key), _stable_int(key, 10_000, 99_999))
            self._config_ids[condition] = found
        return found

    def _message(self, kind: str, event: WorldEvent, send_ms: int, payload: dict[str, Any]) -> Message:
        return Message(PROVIDER, kind, event.device.key, send_ms / 1000, payload, event.kind)

    def _local(self, ms: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000 + self.device.tz_offset_s))

    # -- 1.0 ---------------------------------------------------------------------------------------------

    def _alert_v1(
        self, event: WorldEvent, condition: str, start_ms: int, details: str, summary: str | None = None,
        *, subject: str = "device",
    ) -> list[Message]:
        send_ms = self._send_ms(event, start_ms)
        _, alert_num = self._config(condition)
        body: dict[str, Any] = {
            "alertConditionDescription": CONDITION_DESCRIPTIONS[condition],
            "alertConditionId": condition,
            "alertEventUrl": (
                f"https://cloud.samsara.com/o/{self.org_id}/alerts/incidents/v2/{alert_num}/1/"
                f"{self.device.vendor_ids['vehicle_id']}/{start_ms}"
            ),
            "details": details,
        }
        if subject == "sensor":
            body["sensor"] = dict(self._sensor_v1)
        else:
            body["device"] = dict(self._device_v1)
            driver = event.driver
            if driver is not None:
                body["driver"] = {"id": driver.samsara_id, "name": driver.name}
        body["orgId"] = self.org_id
        body["resolved"] = False
        body["startMs"] = start_ms
        body["summary"] = details if summary is None else summary
        payload = {"eventId": ids.uuid4(self.rng), "eventMs": send_ms, "eventType": "Alert", "event": body}
        return [self._message("alert_v1", event, send_ms, payload)]

    def _v1_speeding(self, event: WorldEvent) -> list[Message]:
        attrs = event.attrs
        duration = float(attrs.get("duration_s", 0.0))
        limit = float(attrs.get("limit_kmh", 0.0))
        over = max(0, round(float(attrs.get("max_kmh", limit)) - limit))
        start_ms = int((event.fix.t - duration) * 1000)
        details = f"'{self.device.label}' exceeded the speed limit by {over} km/h{_for_minutes(duration)}"
        return self._alert_v1(event, "DeviceSpeedAboveSpeedLimit", start_ms, details)

    def _v1_harsh(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        label = _HARSH_LABELS[event.kind]
        details = f"A harsh event ({label}) was detected on vehicle '{self.device.label}' at {self._local(start_ms)}."
        return self._alert_v1(event, "HarshEvent", start_ms, details)

    def _v1_geofence(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        where = "inside" if event.kind == "geofence_enter" else "outside"
        name = str(event.attrs.get("geofence", f"Geofence {event.attrs.get('geofence_id', 1)}"))
        condition = "DeviceLocationInsideGeofence" if where == "inside" else "DeviceLocationOutsideGeofence"
        details = f"'{self.device.label}' is {where} {name}."
        summary = f"'{self.device.label}' is {where} {name} geofence"
        return self._alert_v1(event, condition, start_ms, details, summary)

    def _v1_idling(self, event: WorldEvent) -> list[Message]:
        duration = float(event.attrs.get("duration_s", 0.0))
        start_ms = int((event.fix.t - duration) * 1000)
        mins = _minutes(duration)
        if mins >= 1:
            details = f"'{self.device.label}' engine has been idle for more than {mins} minutes."
        else:
            details = f"'{self.device.label}' engine is idle."
        return self._alert_v1(event, "EngineIdle", start_ms, details)

    def _v1_temperature(self, event: WorldEvent) -> list[Message]:
        attrs = event.attrs
        duration = float(attrs.get("duration_s", 0.0))
        start_ms = int((event.fix.t - duration) * 1000)
        above = attrs.get("direction", "above") != "below"
        # the alert's limit, not the reefer's setpoint: a cold-chain alert sits a band away from the setpoint
        # (the vendor's example: "above 40 degrees fahrenheit", a chilled load's limit)
        threshold = float(attrs.get("threshold_c", 0.0))
        current = float(attrs.get("temp_c", threshold))
        probe = self._sensor_v1["name"]
        verb = "risen above" if above else "fallen below"
        details = (
            f"The temperature of probe '{probe}' has {verb} {threshold:.1f} °C for more than "
            f"{_minutes(duration)} minutes. It is currently {current:.1f} °C."
        )
        condition = "TemperatureAbove" if above else "TemperatureBelow"
        return self._alert_v1(event, condition, start_ms, details, subject="sensor")

    def _v1_unplugged(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        return self._alert_v1(event, "DeviceUnplugged", start_ms, f"'{self.device.label}' has been unplugged.")

    def _battery_volts(self, event: WorldEvent) -> tuple[float, float]:
        # threshold for a 12 V or 24 V system; the current reading lies below it, lower for an emptier battery
        threshold = 23.6 if self.device.profile in ("truck", "bus") else 11.8
        pct = max(0, min(100, int(event.attrs.get("battery_pct", event.fix.battery_pct))))
        return threshold, round(threshold * (0.80 + 0.15 * pct / 100), 3)

    def _v1_battery(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        threshold, current = self._battery_volts(event)
        details = (
            f"'{self.device.label}' vehicle battery level has fallen below {threshold:.3f} V for more than "
            f"0 minutes. It is currently {current:.3f} V."
        )
        return self._alert_v1(event, "BatteryVoltageBelow", start_ms, details)

    def _v1_movement(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        return self._alert_v1(event, "DeviceMovement", start_ms, f"'{self.device.label}' is moving.")

    # -- 2.0 ---------------------------------------------------------------------------------------------

    def _envelope_v2(self, event_type: str, send_ms: int, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "eventId": ids.uuid4(self.rng),
            "eventTime": _rfc3339_ms(send_ms),
            "eventType": event_type,
            "orgId": self.org_id,
            "webhookId": self.webhook_id,
            "data": data,
        }

    def _people_v2(self, driver: Driver | None) -> dict[str, Any]:
        people: dict[str, Any] = {"vehicle": dict(self._vehicle_v2)}
        if driver is not None:
            people["driver"] = {"id": str(driver.samsara_id), "name": driver.name}
        return people

    def _native_v2(self, event: WorldEvent, event_type: str, start_ms: int, data: dict[str, Any]) -> list[Message]:
        send_ms = self._send_ms(event, start_ms)
        return [self._message("event_v2", event, send_ms, self._envelope_v2(event_type, send_ms, data))]

    def _v2_speeding(self, event: WorldEvent) -> list[Message]:
        attrs = event.attrs
        fix = event.fix
        limit = float(attrs.get("limit_kmh", fix.limit_kmh or 0.0))
        if event.kind == "speeding_start":
            speed = float(attrs.get("speed_kmh", fix.speed_kmh))
            start_ms = int(fix.t * 1000)
            event_type = "SpeedingEventStarted"
        else:
            speed = float(attrs.get("max_kmh", fix.speed_kmh))
            start_ms = int((fix.t - float(attrs.get("duration_s", 0.0))) * 1000)
            event_type = "SpeedingEventEnded"
        over = (speed - limit) / limit if limit > 0 else 0.0
        severity = "Light" if over < 0.1 else "Moderate" if over < 0.2 else "Heavy" if over < 0.3 else "Severe"
        trip_ms = self._trip_start_ms if self._trip_start_ms is not None and self._trip_start_ms <= start_ms \
            else start_ms
        data = {
            "severityLevel": severity,
            "startTime": _rfc3339(start_ms),
            "tripStartTime": _rfc3339(trip_ms),
            "vehicle": dict(self._vehicle_speeding),
        }
        return self._native_v2(event, event_type, start_ms, data)

    def _v2_geofence(self, event: WorldEvent) -> list[Message]:
        fix = event.fix
        start_ms = int(fix.t * 1000)
        geofence_id = int(event.attrs.get("geofence_id", 1))
        name = str(event.attrs.get("geofence", f"Geofence {geofence_id}"))
        address_id = _stable_int(f"samsara:{self.org_id}:address:{geofence_id}", 2**48, 2**48 + 10**8)
        shape, centre = _geofence_shape(event.attrs.get("fence"), fix)
        # the same street address for a geofence whatever the device or the moment
        street = street_address(random.Random(f"{self._fleet}:address:{geofence_id}:{name}"), near=centre)
        data: dict[str, Any] = {
            "address": {"externalIds": {"siteId": str(geofence_id)}, "formattedAddress": street, "geofence": shape,
                        "id": str(address_id), "name": name},
            "vehicle": dict(self._vehicle_gateway),
        }
        event_type = "GeofenceEntry" if event.kind == "geofence_enter" else "GeofenceExit"
        return self._native_v2(event, event_type, start_ms, data)

    def _v2_unplugged(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        data = {"gateway": {**self._gateway, "vehicle": dict(self._vehicle_tiny)}}
        return self._native_v2(event, "GatewayUnplugged", start_ms, data)

    def _incident_v2(
        self, event: WorldEvent, condition: str, start_ms: int, send_ms: int, *, resolved_ms: int | None = None,
    ) -> Message:
        key, description, trigger_id = _V2_CONDITIONS[condition]
        config_id, alert_num = self._config(key)
        data: dict[str, Any] = {
            "configurationId": config_id,
            "happenedAtTime": _rfc3339(start_ms),
        }
        if resolved_ms is not None:
            data["resolvedAtTime"] = _rfc3339(resolved_ms)
            data["updatedAtTime"] = _rfc3339(resolved_ms)
        data["incidentUrl"] = (
            f"https://cloud.samsara.com/o/{self.org_id}/alerts/incidents/v2/{alert_num}/1/"
            f"{self.device.vendor_ids['vehicle_id']}/{start_ms}"
        )
        data["isResolved"] = resolved_ms is not None
        data["conditions"] = [
            {"triggerId": trigger_id, "description": description, "details": {key: self._people_v2(event.driver)}}
        ]
        return self._message("event_v2", event, send_ms, self._envelope_v2("AlertIncident", send_ms, data))

    def _v2_incident(self, event: WorldEvent) -> list[Message]:
        kind = event.kind
        duration = float(event.attrs.get("duration_s", 0.0)) if kind in ("idling", "temperature") else 0.0
        start_ms = int((event.fix.t - duration) * 1000)
        return [self._incident_v2(event, kind, start_ms, self._send_ms(event, start_ms))]

    def _v2_harsh(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        return [self._incident_v2(event, "harsh", start_ms, self._send_ms(event, start_ms))]

    def _v2_panic(self, event: WorldEvent) -> list[Message]:
        start_ms = int(event.fix.t * 1000)
        send_ms = self._send_ms(event, start_ms)
        opened = self._incident_v2(event, "sos", start_ms, send_ms)
        low, high = PANIC_RESOLVE_S
        resolve_s = self.rng.uniform(low, high)
        resolved_ms = start_ms + int(resolve_s * 1000)
        resolved_send_ms = max(send_ms, resolved_ms) + int(self.rng.uniform(*ALERT_LATENCY_S) * 1000)
        resolved = self._incident_v2(event, "sos", start_ms, resolved_send_ms, resolved_ms=resolved_ms)
        return [opened, resolved]


def samsara_renderer(device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                       channels: frozenset[str] | None = None) -> SamsaraRenderer | NoMessages:
    """Every Samsara message is a webhook: asked for other channels only, render nothing."""
    return SamsaraRenderer(device, settings, rng) if wants(channels, "webhook") else NO_MESSAGES


__all__ = ["SamsaraRenderer", "samsara_renderer"]


RENDERER = samsara_renderer
