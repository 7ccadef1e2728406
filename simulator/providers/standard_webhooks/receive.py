"""How a receiver reads Standard Webhooks events: the `webhook-id` header is the idempotency key (the
specification says so), so a retry with a fresh signature and timestamp is still the same event."""

from __future__ import annotations

from typing import Any

from ..receiving import Adapter, Change, Fix, Rejected, epoch


class StandardWebhooksAdapter(Adapter):
    name = "standard_webhooks"
    key_header = "webhook-id"

    def classify(self, doc: dict[str, Any]) -> str | None:
        if not isinstance(doc.get("type"), str):
            raise Rejected(400, "schema", "type is missing or is not text")
        return "event"

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        raise Rejected(400, "schema", "the webhook-id header is missing")  # only reached without the header

    def with_unknown_kind(self, doc: dict[str, Any]) -> dict[str, Any]:
        # any dotted type is well-formed here (the schema's pattern): a platform's new type is still an "event"
        return {**doc, "type": "fleetsim.future_event"}

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        data = doc.get("data")
        if not isinstance(data, dict):
            return None
        vehicle, location = data.get("vehicle"), data.get("location")
        if not (isinstance(vehicle, dict) and isinstance(location, dict) and isinstance(vehicle.get("id"), str)):
            return None  # another platform's event shape: nothing to place on a map
        return Fix(vehicle["id"], float(location["lat"]), float(location["lon"]), epoch(doc["timestamp"]))

    def change(self, doc: dict[str, Any], kind: str) -> Change | None:
        value = {"vehicle.ignition_on": "on", "vehicle.ignition_off": "off"}.get(doc["type"])
        data = doc.get("data")
        vehicle = data.get("vehicle") if isinstance(data, dict) else None
        if value is None or not (isinstance(vehicle, dict) and isinstance(vehicle.get("id"), str)):
            return None
        return Change(vehicle["id"], "ignition", value, epoch(doc["timestamp"]))


ADAPTER = StandardWebhooksAdapter
