"""The SmartGPS REST API fleetsim serves (`fleetsim serve --api smartgps`, docs/smartgps-server.md): its response
bodies as a schema family, so they can be validated (every served response is, in the tests), generated, and
turned into the served OpenAPI document (simulator/servers/smartgps/openapi.py). The shapes are inferred [I]
(provider-facts §4.1).
"""

from __future__ import annotations

import random
from typing import Any

from ..providers.base import KindSpec, SchemaFamily
from ..providers.registry import register_api

_KINDS = {
    "token": "POST /auth/token: {access_token, token_type, expires_in}",
    "account": "GET /account/me",
    "tracker": "GET|PATCH /trackers/{id}, POST /trackers, assign, unassign",
    "tracker_list": "GET /trackers: {data, total}",
    "object": "GET|PATCH /objects/{id}, POST /objects",
    "object_list": "GET /objects: {data, total}",
    "position": "GET /objects/{id}/position/last",
    "position_list": "GET /objects/{id}/positions: {data, total}",
    "event": "POST /events/{id}/ack",
    "event_list": "GET /objects/{id}/events: {data, total}",
    "command": "POST /trackers/{id}/commands",
    "geofence": "POST /geofences",
    "geofence_list": "GET /geofences: {data, total}",
    "driver": "POST /drivers",
    "driver_list": "GET /drivers: {data, total}",
    "error": "every error: {error, message, status, fields?}",
}


def _coherent(entry: dict[str, Any], rng: random.Random) -> None:
    """One resource made internally coherent: its id agrees with its plate, a status with its binding, an event's
    severity with its type, a geofence's fields with its shape."""
    if isinstance(entry.get("plate"), str) and isinstance(entry.get("id"), str) and entry["id"].startswith("SGO-"):
        entry["id"] = "SGO-" + entry["plate"].replace("-", "")
    if isinstance(entry.get("plate"), str) and isinstance(entry.get("objectId"), str):
        entry["objectId"] = "SGO-" + entry["plate"].replace("-", "")
    if "imei" in entry and "objectId" in entry:  # a tracker: ACTIVE exactly while bound
        entry["status"] = "ACTIVE" if entry["objectId"] is not None else "INACTIVE"
    if isinstance(entry.get("type"), str) and "severity" in entry:
        # the renderer imports the world: loaded when a body is generated, not when the family is registered
        # (`fleetsim providers` and `sign` list the families)
        from ..providers.smartgps.render import severity

        entry["severity"] = severity(entry["type"])
        if entry["type"] != "SPEEDING":
            entry.pop("limit", None)
        if entry.get("acked") is False:
            entry["ackedAt"] = None
        elif entry.get("acked") is True and entry.get("ackedAt") is None:
            entry["ackedAt"] = entry.get("timestamp")
    if entry.get("type") == "CIRCLE":
        entry.pop("points", None)
        entry.setdefault("center", {"lat": round(rng.uniform(-24, -23), 6), "lng": round(rng.uniform(-47, -46), 6)})
        entry.setdefault("radius", float(rng.randint(50, 5000)))
    elif entry.get("type") == "POLYGON":
        entry.pop("center", None)
        entry.pop("radius", None)
        if "points" not in entry:
            entry["points"] = [{"lat": -23.5, "lng": -46.6}, {"lat": -23.6, "lng": -46.6}, {"lat": -23.6, "lng": -46.7}]
    if entry.get("status") == "PENDING" and "executedAt" in entry:
        entry["executedAt"] = None


@register_api
class SmartGpsApi(SchemaFamily):
    name = "smartgps_api"
    title = "SmartGPS REST API responses (served)"
    transport = "rest-api (served)"
    kinds = {k: KindSpec(k, f"smartgps_api/{k}.schema.json", s, channel="api") for k, s in _KINDS.items()}

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if not isinstance(payload, dict):
            return payload
        data = payload.get("data")
        if kind.endswith("_list") and isinstance(data, list):
            for entry in data:
                if isinstance(entry, dict):
                    _coherent(entry, rng)
            if "total" in payload:
                payload["total"] = len(data)
        else:
            _coherent(payload, rng)
        return payload
