"""How a receiver reads PowUnity (Traccar 4.x) webhooks (the reference receiver's adapter)."""

from __future__ import annotations

from typing import Any

from ..receiving import Adapter, Change, Fix, Rejected, enum_of, epoch, id_text


class PowUnityAdapter(Adapter):
    """PowUnity BikeTrax (Traccar 4.x EventData). Key: `event.id` (Traccar's database id). X-PowTxn is required
    by the signer and recorded as the delivery id. Position: `position.fixTime`, per `device.uniqueId`."""

    name = "powunity"
    delivery_header = "X-PowTxn"

    def classify(self, doc: dict[str, Any]) -> str | None:
        event = doc.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Rejected(400, "schema", "event must be an object with a text type")
        return "webhook" if event["type"] in enum_of("powunity/traccar.schema.json", "$defs", "EventType", "enum") \
            else None

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        event = doc.get("event")
        return id_text(event.get("id") if isinstance(event, dict) else None, "event.id")

    def received_after(self, late: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
        # Traccar stamps serverTime when a message arrives: a late (outdated) fix reaching the server after a newer
        # one carries the later server time, its fixTime the older one (provider-facts §1.3)
        stamp = _second_after(earlier)
        if stamp is None:
            return late
        out = dict(late)
        for part in ("event", "position"):
            if isinstance(out.get(part), dict) and "serverTime" in out[part]:
                out[part] = {**out[part], "serverTime": stamp}
        return out

    def with_unknown_kind(self, doc: dict[str, Any]) -> dict[str, Any]:
        event = doc.get("event")
        # a type outside fleetsim's EventType enum (powunity/traccar.schema.json): what a newer Traccar could send
        return {**doc, "event": {**(event if isinstance(event, dict) else {}), "type": "fleetsimFutureEvent"}}

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        position, device = doc.get("position"), doc["device"]
        if not isinstance(position, dict):
            return None  # status events carry no position
        # Traccar's fixTime is when the fix was taken; an `outdated` or late position has an old one (ORD-02)
        return Fix(str(device.get("uniqueId") or device["id"]), float(position["latitude"]),
                   float(position["longitude"]), epoch(position["fixTime"]))

    def change(self, doc: dict[str, Any], kind: str) -> Change | None:
        # ignition: ignitionOn/ignitionOff events, else the `ignition` attribute every position carries
        position, device = doc.get("position"), doc["device"]
        if not isinstance(position, dict):
            return None  # deviceOnline/deviceOffline: no device time to order them by
        typed = {"ignitionOn": True, "ignitionOff": False}.get(doc["event"]["type"])
        attributes = position.get("attributes")
        value = typed if typed is not None else \
            attributes.get("ignition") if isinstance(attributes, dict) else None
        if not isinstance(value, bool):
            return None
        return Change(str(device.get("uniqueId") or device["id"]), "ignition", "on" if value else "off",
                      epoch(position["fixTime"]))


ADAPTER = PowUnityAdapter

def _second_after(earlier: dict[str, Any]) -> str | None:
    """A server time one second after `earlier`'s (in Traccar's own writing), or None when there is none to read."""
    from datetime import datetime, timedelta

    event = earlier.get("event")
    text = event.get("serverTime") if isinstance(event, dict) else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text) + timedelta(seconds=1)
    except ValueError:
        return None
    offset = text[-6:] if text[-6] in "+-" else "+00:00"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{offset}"
