"""GET /openapi.json: the OpenAPI 3.1 document of the emulated SmartGPS API. Its schemas are the response and
request bodies the handlers write and read (JSON Schema 2020-12, as OpenAPI 3.1 takes them); the tests validate
the document and every served response against it, and Schemathesis fuzzes the live server with it.
Shapes are [I] (provider-facts §4.1).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["DOCUMENT", "add_openapi"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props) if required is None else required}


_S = {"type": "string"}
_NS = {"type": ["string", "null"]}
_TIME = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"}
_LAT, _LNG = {"type": "number", "minimum": -90, "maximum": 90}, {"type": "number", "minimum": -180, "maximum": 180}
_POINT = _obj({"lat": _LAT, "lng": _LNG})

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _S, "message": _S, "status": {"type": "integer"},
                   "fields": {"type": "array", "items": _obj({"field": _S, "message": _S})}},
                  ["error", "message", "status"]),
    "Token": _obj({"access_token": _S, "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}}),
    "Account": _obj({"id": _S, "name": _S, "clientId": _S, "status": _S, "trackers": {"type": "integer"},
                     "objects": {"type": "integer"}}),
    "Tracker": _obj({"id": _S, "imei": {"type": "string", "pattern": "^[0-9]{15}$"}, "model": _S,
                     "status": {"enum": ["ACTIVE", "INACTIVE"]}, "groupId": _NS, "objectId": _NS,
                     "blocked": {"type": "boolean"}, "createdAt": _TIME}),
    "Object": _obj({"id": _S, "plate": _S, "name": _S, "status": {"enum": ["ACTIVE", "INACTIVE", "BLOCKED"]},
                    "groupId": _NS, "trackerId": _NS, "driverId": _NS, "createdAt": _TIME}),
    "Position": _obj({"objectId": _S, "lat": _LAT, "lng": _LNG, "speed": {"type": "integer", "minimum": 0},
                      "course": {"type": "integer"}, "altitude": {"type": "integer"}, "ignition": {"type": "boolean"},
                      "satellites": {"type": "integer"}, "timestamp": _TIME}),
    "Event": _obj({"id": _S, "type": _S, "severity": {"enum": ["INFO", "WARNING", "CRITICAL"]}, "objectId": _S,
                   "plate": _S, "speed": {"type": "integer"}, "limit": {"type": "integer"}, "lat": _LAT,
                   "lng": _LNG, "timestamp": _TIME, "acked": {"type": "boolean"},
                   "ackedAt": {"type": ["string", "null"]}},
                  ["id", "type", "severity", "objectId", "lat", "lng", "timestamp", "acked", "ackedAt"]),
    "Command": _obj({"id": _S, "trackerId": _S, "type": {"enum": ["BLOCK", "UNBLOCK"]},
                     "status": {"enum": ["PENDING", "EXECUTED"]}, "createdAt": _TIME,
                     "executedAt": {"type": ["string", "null"]}}),
    "Geofence": _obj({"id": _S, "name": _S, "type": {"enum": ["CIRCLE", "POLYGON"]}, "center": _POINT,
                      "radius": {"type": "number"}, "points": {"type": "array", "items": _POINT}},
                     ["id", "name", "type"]),
    "Driver": _obj({"id": _S, "name": _S, "identification": {"enum": ["IBUTTON", "RFID"]}, "code": _S}),
    "NewTracker": _obj({"imei": {"type": "string", "pattern": "^[0-9]{15}$"}, "model": _S, "groupId": _S},
                       ["imei"]),
    "TrackerPatch": _obj({"model": _S, "groupId": _S}, []),
    "Assign": _obj({"objectId": _S}),
    "NewCommand": _obj({"type": {"enum": ["BLOCK", "UNBLOCK"]}}),
    "NewObject": _obj({"plate": {"type": "string", "pattern": "^[A-Z]{3}-?[0-9][A-Z0-9][0-9]{2}$"}, "name": _S,
                       "groupId": _S}, ["plate"]),
    "ObjectPatch": _obj({"name": _S, "groupId": _S, "status": {"enum": ["ACTIVE", "INACTIVE"]}}, []),
    "NewGeofence": _obj({"name": _S, "type": {"enum": ["CIRCLE", "POLYGON"]}, "center": _POINT,
                         "radius": {"type": "number", "minimum": 1, "maximum": 100000},
                         "points": {"type": "array", "items": _POINT, "minItems": 3}}, ["name", "type"]),
    "NewDriver": _obj({"name": _S, "identification": {"enum": ["IBUTTON", "RFID"]},
                       "code": {"type": "string", "pattern": "^[0-9A-F]{8,16}$"}}),
}
for _name in ("Tracker", "Object", "Position", "Event", "Geofence", "Driver"):
    SCHEMAS[f"{_name}List"] = _obj({"data": {"type": "array", "items": _ref(_name)}, "total": {"type": "integer"}})

_ERRORS = {str(code): {"description": why, "content": {"application/json": {"schema": _ref("Error")}}}
           for code, why in ((400, "not a JSON object"), (401, "no valid bearer token"), (404, "no such thing"),
                             (409, "conflicts with the current state"), (422, "a field breaks its rule"),
                             (429, "over the rate limit (Retry-After)"))}


def _op(summary: str, status: int, schema: str | None, *, body: str | None = None, params: tuple[str, ...] = (),
        path_id: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": [{"bearer": []}], "responses": dict(_ERRORS)}
    ok: dict[str, Any] = {"description": summary}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": _ref(schema)}}
    op["responses"][str(status)] = ok
    parameters = [{"name": "id", "in": "path", "required": True, "schema": _S}] if path_id else []
    parameters += [{"name": p, "in": "query", "required": False, "schema": _S} for p in params]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return op


_TOKEN_FORM = _obj({"grant_type": {"const": "client_credentials"}, "client_id": _S, "client_secret": _S})
PATHS: dict[str, Any] = {
    "/auth/token": {"post": {
        "summary": "OAuth2 client credentials", "security": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": _TOKEN_FORM},
                                                      "application/json": {"schema": _TOKEN_FORM}}},
        "responses": {"200": {"description": "a bearer token",
                              "content": {"application/json": {"schema": _ref("Token")}}},
                      **{k: v for k, v in _ERRORS.items() if k in ("400", "401", "429")}}}},
    "/account/me": {"get": _op("health check: the account", 200, "Account")},
    "/trackers": {"get": _op("list trackers", 200, "TrackerList", params=("imei", "status", "groupId")),
                  "post": _op("registerTracker", 201, "Tracker", body="NewTracker")},
    "/trackers/{id}": {"get": _op("show a tracker", 200, "Tracker", path_id=True),
                       "patch": _op("change a tracker", 200, "Tracker", body="TrackerPatch", path_id=True),
                       "delete": _op("delete a tracker", 204, None, path_id=True)},
    "/trackers/{id}/assign": {"post": _op("assignTracker: bind to an object", 200, "Tracker", body="Assign",
                                          path_id=True)},
    "/trackers/{id}/unassign": {"post": _op("unbind from its object", 200, "Tracker", path_id=True)},
    "/trackers/{id}/commands": {"post": _op("BLOCK / UNBLOCK", 202, "Command", body="NewCommand", path_id=True)},
    "/objects": {"get": _op("list objects", 200, "ObjectList", params=("plate", "status", "groupId")),
                 "post": _op("createObject", 201, "Object", body="NewObject")},
    "/objects/{id}": {"get": _op("show an object", 200, "Object", path_id=True),
                      "patch": _op("change an object", 200, "Object", body="ObjectPatch", path_id=True)},
    "/objects/{id}/position/last": {"get": _op("last position", 200, "Position", path_id=True)},
    "/objects/{id}/positions": {"get": _op("positions between from and to", 200, "PositionList",
                                           params=("from", "to"), path_id=True)},
    "/objects/{id}/events": {"get": _op("events by type and severity", 200, "EventList",
                                        params=("type", "severity"), path_id=True)},
    "/geofences": {"get": _op("list geofences", 200, "GeofenceList"),
                   "post": _op("create a CIRCLE or POLYGON geofence", 201, "Geofence", body="NewGeofence")},
    "/geofences/{id}": {"delete": _op("delete a geofence", 204, None, path_id=True)},
    "/drivers": {"get": _op("list drivers", 200, "DriverList"),
                 "post": _op("create an iButton / RFID driver", 201, "Driver", body="NewDriver")},
    "/events/{id}/ack": {"post": _op("acknowledge an event", 200, "Event", path_id=True)},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "SmartGPS API (fleetsim emulation)", "version": "1.0.0",
             "description": "The endpoints of seed 000; bodies inferred [I]. docs/smartgps-server.md."},
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(DOCUMENT)


def add_openapi(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json, allow_head=False)
