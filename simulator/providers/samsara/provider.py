"""Samsara alert webhooks 1.0 and 2.0: seed 004 and provider-facts §3.

Headers per the webhook reference: X-Samsara-Timestamp and X-Samsara-Signature (added by the signer),
X-Samsara-Request (delivery id), X-Samsara-Org-Id, X-Samsara-Event-Type, User-Agent Samsara-Webhook/...
Samsara retries with exponential backoff until it gets a 2xx (the schedule itself is unpublished).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...core import ids
from ...schemagen import hints
from ..base import DeliveryDefaults, Envelope, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS

USER_AGENT = "Samsara-Webhook/1.0"

#: English condition descriptions (the seed's table is in Spanish; English samples use these words)
CONDITION_DESCRIPTIONS = {
    "BatteryLow": "Battery low",
    "TemperatureBelow": "Ambient temperature is below",
    "TemperatureAbove": "Ambient temperature is above",
    "HumidityBelow": "Humidity is below",
    "HumidityAbove": "Humidity is above",
    "DeviceDisconnect": "Gateway is disconnected",
    "DeviceUnplugged": "Gateway unplugged",
    "DeviceLocationInsideGeofence": "Vehicle is inside geofence",
    "DeviceLocationOutsideGeofence": "Vehicle is outside geofence",
    "DeviceSpeedAbove": "Vehicle speed",
    "DeviceSpeedAboveSpeedLimit": "Vehicle speed above speed limit",
    "VehicleHasFault": "Vehicle has a fault",
    "EngineIdle": "Engine idle",
    "BatteryVoltageBelow": "Battery voltage below",
    "DeviceMovement": "Vehicle movement",
    "DoorActivated": "Door open",
    "DashcamDisconnected": "Dashcam disconnected",
    "DispatchRouteETAThreshold": "Dispatch Route ETA threshold",
    "ReeferHasNewAlarm": "Reefer has a new alarm",
    "ReeferTemperatureAboveSetPoint": "Reefer return air temperature is above set point",
    "ReeferTemperatureBelowSetPoint": "Reefer return air temperature is below set point",
    "HarshEvent": "A harsh event occurred",
    "ScheduledMaintenanceDate": "Scheduled maintenance due",
    "ScheduledMaintenanceEngineHours": "Maintenance due on an engine-hours schedule",
    "ScheduledMaintenanceOdometer": "Maintenance due on an odometer schedule",
    "DriverDocumentSubmitted": "Document submitted",
}


#: 2.0 AlertIncident conditions a generated incident picks from: (description, triggerId, details key).
#: "Panic Button" = 1034 is from a real payload (provider-facts §3.2); the rest are plausible stand-ins [U].
V2_CONDITIONS = (
    ("Panic Button", 1034, "panicButton"),
    ("Harsh Event", 1012, "harshEvent"),
    ("Vehicle Speed", 1000, "severeSpeeding"),
    ("Geofence Entry", 1003, "geofenceEntry"),
    ("Idling", 1019, "idling"),
    ("Ambient Temperature", 1007, "ambientTemperature"),
)


def _parse_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _centre(geofence: dict[str, Any]) -> tuple[float, float] | None:
    circle = geofence.get("circle")
    if isinstance(circle, dict) and isinstance(circle.get("latitude"), float):
        return float(circle["latitude"]), float(circle.get("longitude", 0.0))
    polygon = geofence.get("polygon")
    vertices = polygon.get("vertices") if isinstance(polygon, dict) else None
    if isinstance(vertices, list) and vertices and isinstance(vertices[0], dict):
        return float(vertices[0]["latitude"]), float(vertices[0]["longitude"])
    return None


def _coherent_geofence(geofence: dict[str, Any], rng: random.Random) -> tuple[float, float] | None:
    """A polygon around one centre (not vertices scattered over the world): 4-6 corners within ~600 m."""
    centre = _centre(geofence)
    polygon = geofence.get("polygon")
    if centre is not None and isinstance(polygon, dict):
        lat, lon = centre
        corners = rng.randint(4, 6)
        vertices = []
        for i in range(corners):
            bearing = 2 * math.pi * i / corners + rng.uniform(-0.3, 0.3)
            metres = rng.uniform(150.0, 600.0)
            vertices.append({
                "latitude": round(lat + metres * math.cos(bearing) / 111_320.0, 6),
                "longitude": round(lon + metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat))), 6),
            })
        polygon["vertices"] = vertices
    return centre


def _finish_v2(payload: dict[str, Any], data: dict[str, Any], sent_ms: int, rng: random.Random) -> None:
    """Times before the send time and in their order, a geofence in one place with its street address, and an
    AlertIncident with one condition whose details name the vehicle."""
    event_type = payload.get("eventType")

    def before(low_s: int, high_s: int) -> int:
        return sent_ms - rng.randint(low_s * 1000, high_s * 1000)

    if event_type == "AlertIncident":
        happened = before(2, 8)
        data["happenedAtTime"] = _rfc3339(happened)
        resolved = happened + rng.randint(4_000, 6_000) if "resolvedAtTime" in data else None
        if resolved is not None:
            data["resolvedAtTime"] = data["updatedAtTime"] = _rfc3339(min(resolved, sent_ms - 1000))
        elif "updatedAtTime" in data:
            data["updatedAtTime"] = data["happenedAtTime"]
        data["isResolved"] = resolved is not None
        description, trigger, key = rng.choice(V2_CONDITIONS)
        vehicle = {"id": str(rng.randint(2**48, 2**48 + 99_999_999)), "name": hints.HINTS["vehicle_name"](rng, {})}
        details = {key: {"vehicle": vehicle}}
        data["conditions"] = [{"triggerId": trigger, "description": description, "details": details}]
        if "incidentUrl" in data:
            data["incidentUrl"] = (f"https://cloud.samsara.com/o/{payload.get('orgId', 1)}/alerts/incidents/v2/"
                                   f"{rng.randint(10_000, 99_999)}/1/{vehicle['id']}/{happened}")
        return
    inner = data.get("data") if event_type == "SevereSpeedingStarted" else data
    if isinstance(inner, dict) and "startTime" in inner:
        started = before(2, 30) if event_type in ("SpeedingEventStarted", "SevereSpeedingStarted") else before(40, 600)
        inner["startTime"] = _rfc3339(started)
        if "tripStartTime" in inner:
            inner["tripStartTime"] = _rfc3339(started - rng.randint(5 * 60_000, 150 * 60_000))
    for key in ("driver", "vehicle", "address"):
        obj = data.get(key)
        if not isinstance(obj, dict) or not event_type or not event_type.endswith(("Created", "Updated")):
            continue
        updated = before(1, 5)
        created = updated if event_type.endswith("Created") else updated - rng.randint(86_400_000, 400 * 86_400_000)
        for field, ms in (("createdAtTime", created), ("updatedAtTime", updated)):
            if field in obj:
                obj[field] = _rfc3339(ms)
    address = data.get("address")
    if isinstance(address, dict) and isinstance(address.get("geofence"), dict):
        centre = _coherent_geofence(address["geofence"], rng)
        if centre is not None:
            address["formattedAddress"] = hints.street_address(rng, near=centre)
            if "latitude" in address:
                address["latitude"], address["longitude"] = centre


def _subject_id(event: dict[str, Any], rng: random.Random) -> int:
    """The id the dashboard link names: the alert's device (or sensor), as in seed 004's battery example."""
    for key in ("device", "sensor"):
        obj = event.get(key)
        if isinstance(obj, dict) and isinstance(obj.get("id"), int):
            return int(obj["id"])
    return rng.randint(10**11, 10**15)


def _subject(event: dict[str, Any]) -> str:
    for key in ("device", "sensor", "driver", "route"):
        obj = event.get(key)
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            return str(obj["name"])
    return "Vehicle"


@register
class Samsara(Provider):
    name = "samsara"
    title = "Samsara signed alert webhook"
    transport = "https"
    signing = "samsara"
    kinds = {
        "alert_v1": KindSpec("alert_v1", "samsara/alert_v1.schema.json", "1.0 alert {eventId, eventMs, event}"),
        "ping": KindSpec("ping", "samsara/ping.schema.json", "1.0 Ping from the dashboard Test button"),
        "event_v2": KindSpec("event_v2", "samsara/event_v2.schema.json", "2.0 {eventId, eventTime, eventType, data}"),
    }
    delivery = DeliveryDefaults(success_statuses=None, retries="exponential until 2xx", timeout_s=10.0)
    settings_schema = SETTINGS
    retry_default = ("standard-webhooks", "Samsara retries with exponential backoff but does not publish the "
                     "schedule; standard-webhooks is assumed until it is confirmed")

    def device_ids(self, rng: random.Random, *, number: int, plate: str) -> dict[str, Any]:
        serial = "G" + "-".join(ids.hex_string(rng, 3, upper=True) for _ in range(3))
        return {"vehicle_id": rng.randint(10**14, 10**15 - 1), "gateway_serial": serial}

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if not isinstance(payload, dict):
            return payload
        if kind == "alert_v1" and isinstance(payload.get("event"), dict):
            event = payload["event"]
            condition = event.get("alertConditionId")
            if "alertConditionDescription" in event and condition in CONDITION_DESCRIPTIONS:
                event["alertConditionDescription"] = CONDITION_DESCRIPTIONS[condition]
            if isinstance(payload.get("eventMs"), int) and "startMs" in event:
                # startMs is when the condition began on the device; the webhook fires a little later
                event["startMs"] = payload["eventMs"] - rng.randint(1_000, 120_000)
            subject = _subject(event)
            text = f"'{subject}': {CONDITION_DESCRIPTIONS.get(str(condition), 'alert').lower()}"
            for key in ("summary", "details"):
                if key in event:
                    event[key] = text
            if "alertEventUrl" in event and isinstance(event.get("orgId"), int):
                start = event.get("startMs", payload.get("eventMs", 0))
                event["alertEventUrl"] = (
                    f"https://cloud.samsara.com/o/{event['orgId']}/alerts/incidents/v2/"
                    f"{rng.randint(1000, 99999)}/1/{_subject_id(event, rng)}/{start}"
                )
        elif kind == "event_v2" and isinstance(payload.get("data"), dict) and isinstance(payload.get("eventTime"), str):
            _finish_v2(payload, payload["data"], _parse_ms(payload["eventTime"]), rng)
        return payload

    def envelope(self, kind: str, payload: Any, *, message_id: str, settings: Mapping[str, Any]) -> Envelope:
        org = payload.get("orgId") if isinstance(payload, dict) else None
        if org is None and isinstance(payload, dict) and isinstance(payload.get("event"), dict):
            org = payload["event"].get("orgId")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": str(settings.get("user_agent", USER_AGENT)),
            "X-Samsara-Request": message_id,
            "X-Samsara-Event-Type": str(payload.get("eventType", "")) if isinstance(payload, dict) else "",
        }
        if org is not None:
            headers["X-Samsara-Org-Id"] = str(org)
        return Envelope(self.serialize(payload), headers)


__all__ = ["CONDITION_DESCRIPTIONS", "Samsara"]
