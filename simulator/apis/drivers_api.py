"""The drivers control API (seed 002): response bodies fleetsim serves as its own control plane.

Not a webhook sender, so not a `Provider`: a `SchemaFamily` in APIS, so its response bodies can be validated and
generated like any provider's.
"""

from __future__ import annotations

import random
from typing import Any

from ..providers.base import KindSpec, SchemaFamily
from ..providers.registry import register_api

_KINDS = {
    "list": "GET /drivers: {data: [Driver], links, meta}",
    "names": "GET /drivers/names: {data: [{name, slug}]}",
    "show": "GET /drivers/{id}: {data: Driver}",
    "settings": "GET|PUT /drivers/{id}/settings: {data: Settings}",
    "send_test_event": "POST /drivers/{id}/send-test-event: {data: {success, checks}}",
    "error": '{"error": "Not found"}',
}


_DRIVERS = (
    ("mettax", "MettaX", ("gps", "alarm", "device_info", "rfid", "face_check_result")),
    ("smartgps", "SmartGPS", ("SPEEDING", "HARSH_BRAKE", "GEOFENCE_EXIT", "SOS")),
    ("samsara", "Samsara", ("Alert", "AlertIncident", "Ping")),
    ("powunity", "PowUnity BikeTrax", ("alarm", "deviceOnline", "deviceOffline", "geofenceExit")),
)


@register_api
class DriversApi(SchemaFamily):
    name = "drivers_api"
    title = "drivers control API responses (served)"
    transport = "rest-api (served)"
    kinds = {k: KindSpec(k, f"drivers_api/{k}.schema.json", s, channel="api") for k, s in _KINDS.items()}

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        # fleetsim's drivers are the providers it simulates: name, slug and events say so
        data = payload.get("data") if isinstance(payload, dict) else None
        entries = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        for entry in entries:
            if isinstance(entry, dict) and "slug" in entry:
                slug, name, events = rng.choice(_DRIVERS)
                entry["slug"], entry["name"] = slug, name
                if "supported_events" in entry:
                    entry["supported_events"] = list(events)
        if kind == "list" and isinstance(payload, dict) and isinstance(payload.get("meta"), dict):
            count = len(payload.get("data") or [])
            meta = payload["meta"]
            # one page holding everything generated; Laravel writes from/to as null for an empty page
            for key, value in (("from", 1 if count else None), ("to", count or None), ("total", count),
                               ("current_page", 1), ("last_page", 1)):
                if key in meta:
                    meta[key] = value
            links = payload.get("links")
            if isinstance(links, dict) and isinstance(meta.get("path"), str):
                first = f"{meta['path']}?page=1"
                links.update({"first": first, "last": first, "prev": None, "next": None})
        return payload
