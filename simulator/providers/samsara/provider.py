"""Samsara alert webhooks 1.0 and 2.0: seed 004 and provider-facts §3.

Headers per the webhook reference: X-Samsara-Timestamp and X-Samsara-Signature (added by the signer),
X-Samsara-Request (delivery id), X-Samsara-Org-Id, X-Samsara-Event-Type, User-Agent Samsara-Webhook/...
Samsara retries with exponential backoff until it gets a 2xx (the schedule itself is unpublished).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..base import DeliveryDefaults, Envelope, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS

if TYPE_CHECKING:
    from ...render.base import Renderer
    from ...world.fleet import Device
    from ..receiving import Adapter

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

    @property
    def adapter(self) -> Adapter:
        from .receive import SamsaraAdapter

        return SamsaraAdapter()

    def renderer(self, device: Device, settings: Mapping[str, Any], rng: random.Random) -> Renderer:
        from .render import samsara_renderer

        return samsara_renderer(device, settings, rng)

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
                    f"{rng.randint(1000, 99999)}/1/{rng.randint(10**11, 10**12)}/{start}"
                )
        elif kind == "event_v2" and isinstance(payload.get("data"), dict):
            data = payload["data"]
            if "happenedAtTime" in data and isinstance(payload.get("eventTime"), str):
                data["happenedAtTime"] = payload["eventTime"]
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
