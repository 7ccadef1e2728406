"""How a receiver reads SmartGPS webhooks (the reference receiver's adapter)."""

from __future__ import annotations

from typing import Any

from ..receiving import MAX_ID_CHARS, Adapter, Change, Fix, Rejected, enum_of, epoch, sha256_of


class SmartGpsAdapter(Adapter):
    """SmartGPS events. Position: lat/lng at `timestamp`, per `objectId`."""

    name = "smartgps"
    derived_key = True

    def classify(self, doc: dict[str, Any]) -> str | None:
        event = doc.get("event")
        if not isinstance(event, str):
            raise Rejected(400, "schema", "event is missing or is not text")
        return "event" if event in enum_of("smartgps/event.schema.json", "properties", "event", "enum") else None

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        # SmartGPS sends no event id (provider-facts §4), so the key is what identifies an event: which vehicle,
        # what happened, when. Not a hash of the body: a re-serialised retry is still the same event. The cost:
        # two genuinely distinct events with the same vehicle, type and timestamp count as one (IDM-05).
        parts = [doc.get("objectId"), doc.get("event"), doc.get("timestamp")]
        if not all(isinstance(p, str) and 0 < len(p) <= MAX_ID_CHARS for p in parts):
            raise Rejected(400, "schema", "objectId, event and timestamp must be text: together they identify the "
                           "event (SmartGPS sends no event id)")
        return sha256_of(*parts)

    def with_unknown_kind(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "event": "FLEETSIM_FUTURE_EVENT"}  # not among the 20 types of the schema's enum

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        return Fix(doc["objectId"], float(doc["lat"]), float(doc["lng"]), epoch(doc["timestamp"]))

    def change(self, doc: dict[str, Any], kind: str) -> Change | None:
        value = {"IGNITION_ON": "on", "IGNITION_OFF": "off"}.get(doc["event"])
        return Change(doc["objectId"], "ignition", value, epoch(doc["timestamp"])) if value else None


ADAPTER = SmartGpsAdapter
