"""GET /openapi.json: the OpenAPI 3.1 document of the emulated SmartGPS API. Its schemas are the response and
request bodies the handlers write and read (JSON Schema 2020-12, as OpenAPI 3.1 takes them); the tests validate
the document and every served response against it, and Schemathesis fuzzes the live server with it.
Shapes are [I] (provider-facts §4.1).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..openapi import add_document, definitions, localize, ref

__all__ = ["DOCUMENT", "add_openapi"]


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props) if required is None else required}


_S = {"type": "string"}
_LAT, _LNG = {"type": "number", "minimum": -90, "maximum": 90}, {"type": "number", "minimum": -180, "maximum": 180}
_POINT = _obj({"lat": _LAT, "lng": _LNG})

def _family() -> dict[str, Any]:
    """The smartgps_api schema family (schemas/smartgps_api/) as OpenAPI components: its shared definitions
    under their own names (Tracker, Event, ...), each response kind under the kind's name (tracker_list, ...),
    references rewritten to point inside the document (simulator/servers/openapi.py)."""
    from ...apis.smartgps_api import SmartGpsApi
    from ...schemastore import load_schema

    family = SmartGpsApi()
    schemas = definitions(f"{family.name}/common.schema.json")
    for kind, spec in family.kinds.items():
        schemas[kind] = localize(load_schema(spec.schema))
    return schemas


_STR = {"type": "string", "minLength": 1, "maxLength": 100}
SCHEMAS: dict[str, Any] = {
    **_family(),
    # request bodies: what the handlers accept (validate.py); 422 names the field that breaks its rule
    "NewTracker": _obj({"imei": {"type": "string", "pattern": "^[0-9]{15}$"}, "model": _STR, "groupId": _STR},
                       ["imei"]),
    "TrackerPatch": _obj({"model": _STR, "groupId": _STR}, []),
    "Assign": _obj({"objectId": _STR}),
    "NewCommand": _obj({"type": {"enum": ["BLOCK", "UNBLOCK"]}}),
    "NewObject": _obj({"plate": {"type": "string", "pattern": "^[A-Z]{3}-?[0-9][A-Z0-9][0-9]{2}$"}, "name": _STR,
                       "groupId": _STR}, ["plate"]),
    "ObjectPatch": _obj({"name": _STR, "groupId": _STR, "status": {"enum": ["ACTIVE", "INACTIVE"]}}, []),
    "NewGeofence": _obj({"name": _STR, "type": {"enum": ["CIRCLE", "POLYGON"]}, "center": _POINT,
                         "radius": {"type": "number", "minimum": 1, "maximum": 100000},
                         "points": {"type": "array", "items": _POINT, "minItems": 3}}, ["name", "type"]),
    "NewDriver": _obj({"name": _STR, "identification": {"enum": ["IBUTTON", "RFID"]},
                       "code": {"type": "string", "pattern": "^[0-9A-F]{8,16}$"}}),
}

_ERRORS = {str(code): {"description": why, "content": {"application/json": {"schema": ref("error")}}}
           for code, why in ((400, "not a JSON object"), (401, "no valid bearer token"), (404, "no such thing"),
                             (409, "conflicts with the current state"), (422, "a field breaks its rule"),
                             (429, "over the rate limit (Retry-After)"))}


def _op(summary: str, status: int, schema: str | None, *, body: str | None = None, params: tuple[str, ...] = (),
        path_id: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": [{"bearer": []}], "responses": dict(_ERRORS)}
    ok: dict[str, Any] = {"description": summary}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": ref(schema)}}
    op["responses"][str(status)] = ok
    parameters = [{"name": "id", "in": "path", "required": True, "schema": _S}] if path_id else []
    parameters += [{"name": p, "in": "query", "required": False, "schema": _S} for p in params]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return op


_TOKEN_FORM = _obj({"grant_type": {"const": "client_credentials"}, "client_id": _S, "client_secret": _S})
PATHS: dict[str, Any] = {
    "/auth/token": {"post": {
        "summary": "OAuth2 client credentials", "security": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": _TOKEN_FORM},
                                                      "application/json": {"schema": _TOKEN_FORM}}},
        "responses": {"200": {"description": "a bearer token",
                              "content": {"application/json": {"schema": ref("token")}}},
                      **{k: v for k, v in _ERRORS.items() if k in ("400", "401", "429")}}}},
    "/account/me": {"get": _op("health check: the account", 200, "account")},
    "/trackers": {"get": _op("list trackers", 200, "tracker_list", params=("imei", "status", "groupId")),
                  "post": _op("registerTracker", 201, "tracker", body="NewTracker")},
    "/trackers/{id}": {"get": _op("show a tracker", 200, "tracker", path_id=True),
                       "patch": _op("change a tracker", 200, "tracker", body="TrackerPatch", path_id=True),
                       "delete": _op("delete a tracker", 204, None, path_id=True)},
    "/trackers/{id}/assign": {"post": _op("assignTracker: bind to an object", 200, "tracker", body="Assign",
                                          path_id=True)},
    "/trackers/{id}/unassign": {"post": _op("unbind from its object", 200, "tracker", path_id=True)},
    "/trackers/{id}/commands": {"post": _op("BLOCK / UNBLOCK", 202, "command", body="NewCommand", path_id=True)},
    "/objects": {"get": _op("list objects", 200, "object_list", params=("plate", "status", "groupId")),
                 "post": _op("createObject", 201, "object", body="NewObject")},
    "/objects/{id}": {"get": _op("show an object", 200, "object", path_id=True),
                      "patch": _op("change an object", 200, "object", body="ObjectPatch", path_id=True)},
    "/objects/{id}/position/last": {"get": _op("last position", 200, "position", path_id=True)},
    "/objects/{id}/positions": {"get": _op("positions between from and to", 200, "position_list",
                                           params=("from", "to"), path_id=True)},
    "/objects/{id}/events": {"get": _op("events by type and severity", 200, "event_list",
                                        params=("type", "severity"), path_id=True)},
    "/geofences": {"get": _op("list geofences", 200, "geofence_list"),
                   "post": _op("create a CIRCLE or POLYGON geofence", 201, "geofence", body="NewGeofence")},
    "/geofences/{id}": {"delete": _op("delete a geofence", 204, None, path_id=True)},
    "/drivers": {"get": _op("list drivers", 200, "driver_list"),
                 "post": _op("create an iButton / RFID driver", 201, "driver", body="NewDriver")},
    "/events/{id}/ack": {"post": _op("acknowledge an event", 200, "event", path_id=True)},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "SmartGPS API (fleetsim emulation)", "version": "1.0.0",
             "description": "The endpoints of seed 000; bodies inferred [I]. docs/smartgps-server.md."},
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}


def add_openapi(app: web.Application) -> None:
    add_document(app, lambda request: DOCUMENT)
