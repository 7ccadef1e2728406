"""The OpenAPI 3.1 document of the drivers API, served at `/openapi.json`.

Its response schemas ARE the shipped schema family (schemas/drivers_api/): each file becomes a component, its
`$defs` become components too, and references are rewritten to `#/components/schemas/…`
(simulator/servers/openapi.py), so the document and `fleetsim schemas validate drivers_api` can never disagree.
Only Laravel's 422 body, which the seed does not show, is written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ...schemastore import load_schema
from ..openapi import PREFIX as _PREFIX
from ..openapi import definitions, localize
from .listing import FILTERS, MAX_LIMIT, SORTS

__all__ = ["COMPONENT_OF_KIND", "openapi_document"]

#: schema family kind -> component name
COMPONENT_OF_KIND = {
    "list": "DriverList", "names": "DriverNames", "show": "DriverShow", "settings": "DriverSettings",
    "send_test_event": "SendTestEventResult", "error": "Error",
}


def _components() -> dict[str, Any]:
    schemas = definitions("drivers_api/common.schema.json")
    for kind, component in COMPONENT_OF_KIND.items():
        schemas.update(definitions(f"drivers_api/{kind}.schema.json"))
        schemas[component] = localize(load_schema(f"drivers_api/{kind}.schema.json"))
    schemas["ValidationError"] = {
        "type": "object", "description": "Laravel's failed validation (422): the first message and every field's.",
        "properties": {"message": {"type": "string"},
                       "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                                             "items": {"type": "string"}}}},
        "required": ["message", "errors"], "additionalProperties": False,
    }
    return schemas


def _json(component: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _PREFIX + component}}}}


_ID = {"name": "id", "in": "path", "required": True, "description": "The driver's ULID.",
       "schema": {"$ref": _PREFIX + "Ulid"}}
_401 = _json("Error", "No or unknown bearer token")
_403 = _json("Error", "The token lacks the DRIVERS_MANAGE permission")
_404 = _json("Error", "No such driver (or, for settings, the driver is not configured)")
_422 = _json("ValidationError", "The body or query failed validation")


@cache
def openapi_document() -> dict[str, Any]:
    query = [
        {"name": "limit", "in": "query", "description": f"Items per page (default 10, max {MAX_LIMIT}).",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
        {"name": "page", "in": "query", "description": "Page number (anything else is page 1).",
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        *({"name": f"filter[{name}]", "in": "query", "description": f"Filter by {name}.",
           "schema": {"type": "boolean"} if name == "enabled" else {"type": "string"}} for name in FILTERS),
        {"name": "sort", "in": "query", "description": f"Comma-separated fields of {', '.join(SORTS)}; "
         "a leading - sorts descending.",
         "schema": {"type": "string", "pattern": f"^-?({'|'.join(SORTS)})(,-?({'|'.join(SORTS)}))*$"}},
    ]
    manage: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "fleetsim drivers control API", "version": "1.0.0",
                 "description": "The drivers control API of seed 002, served by `fleetsim serve --api drivers`: "
                 "the drivers are fleetsim's providers (docs/drivers-api.md)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/drivers": {"get": {
                "operationId": "listDrivers", "summary": "List drivers", "parameters": query,
                "responses": {"200": _json("DriverList", "A page of drivers"),
                              "400": _json("Error", "An unknown filter or sort field"), "401": _401,
                              "422": _422}}},
            "/drivers/names": {"get": {
                "operationId": "listDriverNames", "summary": "Names and slugs of every driver",
                "responses": {"200": _json("DriverNames", "Every driver's name and slug"), "401": _401}}},
            "/drivers/{id}": {"get": {
                "operationId": "showDriver", "summary": "One driver", "parameters": [_ID],
                "responses": {"200": _json("DriverShow", "The driver"), "401": _401, "404": _404}}},
            "/drivers/{id}/settings": {
                "get": {"operationId": "showDriverSettings", "summary": "The tenant's settings of a driver",
                        "parameters": [_ID], "security": manage,
                        "responses": {"200": _json("DriverSettings", "The settings"), "401": _401, "403": _403,
                                      "404": _404}},
                "put": {"operationId": "updateDriverSettings", "summary": "Create or update a driver's settings",
                        "parameters": [_ID], "security": manage,
                        "requestBody": {"required": True, "content": {"application/json": {"schema": {
                            "type": "object", "description": "enabled, custom_oauth_enabled, oauth_settings and "
                            "the driver's available_settings (dotted paths as nested objects).",
                            "properties": {"enabled": {"type": "boolean"},
                                           "custom_oauth_enabled": {"type": "boolean"},
                                           "oauth_settings": {"type": "object"}}}}}},
                        "responses": {"200": _json("DriverSettings", "The stored settings"), "401": _401,
                                      "403": _403, "404": _404, "422": _422}}},
            "/drivers/{id}/send-test-event": {"post": {
                "operationId": "sendTestEvent", "summary": "Send a signed sample event and grade the receiver",
                "parameters": [_ID], "security": manage,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["webhook_url", "event_name"],
                    "properties": {"webhook_url": {"type": "string", "description": "Must be HTTPS."},
                                   "event_name": {"type": "string",
                                                  "description": "One of the driver's supported_events."}}}}}},
                "responses": {"200": _json("SendTestEventResult", "Every check succeeded"),
                              "400": _json("SendTestEventResult", "A check failed; the later ones are skipped"),
                              "401": _401, "403": _403, "404": _404, "422": _422}}},
        },
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token of the tenant (demo tokens in the banner)."}},
        },
    }
