"""GET /openapi.json: the OpenAPI 3.1 document of the emulated Traccar server, one per profile.

Devices, positions, events and geofences are the socket provider's objects (the server writes none itself,
feed.py), so their schemas are the provider's schema family: the definitions of its socket kind's schema and of
every sibling file that schema refers to (for powunity, schemas/powunity/traccar.schema.json's Device, Position,
Event, Geofence...), asked of the provider, never named here. The Server and User objects are the server's own
(models.py): their fields per profile are the ones models.py writes, their types the Java types of Traccar's
model/Server.java and model/User.java below. Paths, parameters and status codes are what rest.py and socket.py
answer; docs/traccar-server.md lists where they differ from the swagger.json of Traccar 4.12 and the openapi.yaml
of Traccar 6.6. The profile decides the authentication the document offers: Basic and the `JSESSIONID` session
always, `Authorization: Bearer` and the socket's `?token=` only where the profile has tokens (provider-facts §1.1).
"""

from __future__ import annotations

import posixpath
from functools import cache
from typing import Any

from aiohttp import web

from ...errors import HarnessError
from ...providers import PROVIDERS
from ...schemastore import load_schema
from ..openapi import add_document, definitions, ref
from .accounts import DEMO_ACCOUNT
from .models import SERVERS, USERS
from .profiles import Profile
from .rest import COOKIE
from .state import SERVER

__all__ = ["add_openapi", "openapi_document"]

_STR_OR_NULL = {"type": ["string", "null"]}
_BOOL, _INT, _NUM = {"type": "boolean"}, {"type": "integer"}, {"type": "number"}
_OBJ = {"type": "object"}
_TIME_OR_NULL = {"anyOf": [ref("TraccarTime"), {"type": "null"}]}

#: the Java type of every field models.py writes, of any profile (model/Server.java, model/User.java, 4.12 and
#: 6.6; nullable where Jackson writes null for an unset String, Date or array). A field models.py writes that is
#: not here fails the document's build, so a new field cannot go undocumented
_SERVER_FIELDS: dict[str, dict[str, Any]] = {
    "id": _INT, "attributes": _OBJ, "registration": _BOOL, "readonly": _BOOL, "deviceReadonly": _BOOL,
    "map": _STR_OR_NULL, "bingKey": _STR_OR_NULL, "mapUrl": _STR_OR_NULL, "overlayUrl": _STR_OR_NULL,
    "latitude": _NUM, "longitude": _NUM, "zoom": _INT, "twelveHourFormat": _BOOL, "forceSettings": _BOOL,
    "coordinateFormat": _STR_OR_NULL, "limitCommands": _BOOL, "disableReports": _BOOL, "fixedEmail": _BOOL,
    "poiLayer": _STR_OR_NULL, "announcement": _STR_OR_NULL, "version": _STR_OR_NULL, "emailEnabled": _BOOL,
    "textEnabled": _BOOL, "geocoderEnabled": _BOOL, "newServer": _BOOL, "openIdEnabled": _BOOL,
    "openIdForce": _BOOL, "storageSpace": {"type": ["array", "null"], "items": {"type": "integer"}},
}
_USER_FIELDS: dict[str, dict[str, Any]] = {
    "id": _INT, "attributes": _OBJ, "name": _STR_OR_NULL, "login": _STR_OR_NULL, "email": _STR_OR_NULL,
    "phone": _STR_OR_NULL, "readonly": _BOOL, "administrator": _BOOL, "map": _STR_OR_NULL, "latitude": _NUM,
    "longitude": _NUM, "zoom": _INT, "twelveHourFormat": _BOOL, "coordinateFormat": _STR_OR_NULL,
    "disabled": _BOOL, "expirationTime": _TIME_OR_NULL, "deviceLimit": _INT, "userLimit": _INT,
    "deviceReadonly": _BOOL, "token": _STR_OR_NULL, "limitCommands": _BOOL, "disableReports": _BOOL,
    "fixedEmail": _BOOL, "poiLayer": _STR_OR_NULL, "totpKey": _STR_OR_NULL, "temporary": _BOOL,
    "password": _STR_OR_NULL,
}


def _model(title: str, written: dict[str, Any], types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    unknown = sorted(set(written) - set(types))
    if unknown:
        raise HarnessError(f"the {title} field(s) {', '.join(unknown)} have no type in traccar/openapi.py")
    # open, as the provider's Traccar models are: every Traccar release adds fields
    return {"type": "object", "title": title, "properties": {k: types[k] for k in written}, "required": list(written)}


def _provider_components(provider: str) -> dict[str, Any]:
    """The definitions of the provider's socket kind's schema and of every sibling schema it refers to."""
    rel = next(spec.schema for spec in PROVIDERS[provider].kinds.values() if spec.channel == "websocket")
    files = {rel}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and not target.startswith("#"):
                files.add(posixpath.join(posixpath.dirname(rel), target.partition("#")[0]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_schema(rel))
    out: dict[str, Any] = {}
    for name in sorted(files):
        out.update(definitions(name))
    return out


def _empty(description: str) -> dict[str, Any]:
    return {"description": description}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def _longs(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "style": "form", "explode": True,
            "schema": {"type": "array", "items": {"type": "integer", "format": "int64"}}}


def _time(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string", "format": "date-time"},
            "description": "ISO 8601; a zone-less time is UTC. One that does not parse: 404."}


_401 = _empty("Neither a valid Authorization header nor a session (`WWW-Authenticate: Basic realm=\"api\"`, "
              "left out for X-Requested-With: XMLHttpRequest)")
_404 = _empty("A query or path parameter that does not convert (as JAX-RS answers it), or nothing by that id")
_400 = {"description": "A device the user may not see (PermissionsManager's SecurityException)",
        "content": {"text/plain": {"schema": {"type": "string"}}}}


@cache
def openapi_document(provider: str, profile: Profile) -> dict[str, Any]:
    """The document `fleetsim serve` publishes when it serves `provider`'s frames under `profile`."""
    user = _model("User", USERS[profile.name](DEMO_ACCOUNT), _USER_FIELDS)
    schemas = {**_provider_components(provider), "Server": _model("Server", SERVERS[profile.name](profile),
                                                                      _SERVER_FIELDS), "User": user}
    schemes: dict[str, Any] = {
        "basic": {"type": "http", "scheme": "basic", "description": "A user's email and password."},
        "session": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                    "description": "The session POST /api/session (or GET /api/session?token=) opens."},
    }
    if profile.tokens:
        schemes["bearer"] = {"type": "http", "scheme": "bearer", "description": "A user's token (Traccar 6.2+)."}
    user_auth: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    latest = ({"anyOf": [ref("Position"), {"type": "null"}]} if profile.null_latest else ref("Position"))
    socket_params = ([{"name": "token", "in": "query", "schema": {"type": "string"},
                       "description": "A user's token, instead of the session."}] if profile.tokens else [])
    session_cookie = {"Set-Cookie": {"description": f"{COOKIE}=…; Path=/; HttpOnly", "schema": {"type": "string"}}}
    paths: dict[str, Any] = {
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document", "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document of this profile")}}},
        "/api/session": {
            "get": {"operationId": "getSession", "summary": "The session's user, or a new session for a token",
                    "security": [], "parameters": [{"name": "token", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {**_json(ref("User"), "The user"), "headers": session_cookie},
                                  "404": _empty("No session and no token"),
                                  **({"401": _empty("An unknown token")} if profile.tokens else {})}},
            "post": {"operationId": "postSession", "summary": "Log in with email and password", "security": [],
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                         "required": ["email", "password"]}}}},
                     "responses": {"200": {**_json(ref("User"), "The user; a new session"),
                                           "headers": session_cookie},
                                   "401": _empty("Bad credentials (no WWW-Authenticate)"),
                                   "415": _empty("A body that is not a form (a JSON login, say)")}},
            "delete": {"operationId": "deleteSession", "summary": "Log out", "security": user_auth,
                       "responses": {"204": _empty("The session is closed"), "401": _401}}},
        "/api/server": {"get": {
            "operationId": "getServer", "summary": "The server's settings (@PermitAll)", "security": [],
            "responses": {"200": _json(ref("Server"), "The Server object")}}},
        "/api/devices": {"get": {
            "operationId": "getDevices", "summary": "The user's devices, or those named", "security": user_auth,
            "parameters": [{"name": "all", "in": "query", "schema": {"type": "boolean"},
                            "description": "Every device (administrators only)."},
                           _longs("id", "Device ids."),
                           {"name": "uniqueId", "in": "query", "style": "form", "explode": True,
                            "schema": {"type": "array", "items": {"type": "string"}}}],
            "responses": {"200": _json(_list("Device"), "Devices"), "400": _400, "401": _401, "404": _404}}},
        "/api/positions": {"get": {
            "operationId": "getPositions", "summary": "Latest positions, a device's history, or positions by id",
            "security": user_auth,
            "parameters": [{"name": "deviceId", "in": "query", "schema": {"type": "integer", "format": "int64"}},
                           _time("from", False), _time("to", False), _longs("id", "Position ids.")],
            "responses": {"200": _json({"type": "array", "items": latest}, "Positions"), "400": _400, "401": _401,
                          "404": _404}}},
        "/api/events/{id}": {"get": {
            "operationId": "getEvent", "summary": "A stored event", "security": user_auth,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "format": "int64"}}],
            "responses": {"200": _json(ref("Event"), "The event"), "400": _400, "401": _401, "404": _404}}},
        "/api/geofences": {"get": {
            "operationId": "getGeofences", "summary": "The scenario's geofences", "security": user_auth,
            "responses": {"200": _json(_list("Geofence"), "Geofences"), "401": _401}}},
        "/api/reports/events": {"get": {
            "operationId": "getReportsEvents", "summary": "Stored events of the devices named, in a window",
            "security": user_auth,
            "parameters": [_longs("deviceId", "Device ids; none: no events."), _longs("groupId", "Group ids."),
                           {"name": "type", "in": "query", "style": "form", "explode": True,
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "description": "Event types; `allEvents` or none: every type."},
                           _time("from", True), _time("to", True)],
            "responses": {"200": _json(_list("Event"), "Events"), "400": _400, "401": _401, "404": _404}}},
        "/api/socket": {"get": {
            "operationId": "socket", "summary": "The WebSocket (an upgrade): frames of the socket provider",
            "security": [{"session": []}], "parameters": socket_params,
            "responses": {"101": _empty("Upgraded; the first frame holds the latest positions"),
                          "405": _empty("Not an upgrade (a plain GET)"),
                          "500": _empty("The socket creator failed (a session whose user logged out under "
                                        "4.12, a bad token under 6)"),
                          "503": _empty("No session (Jetty's Endpoint Creation Failed)")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Traccar API (fleetsim emulation, {profile.name})", "version": profile.version,
                 "description": "What `fleetsim serve --api traccar` answers under this profile: "
                 "docs/traccar-server.md."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": schemes},
    }


def add_openapi(app: web.Application) -> None:
    add_document(app, lambda request: openapi_document(request.app[SERVER].provider, request.app[SERVER].profile))
