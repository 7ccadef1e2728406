"""The drivers API served on a real port with the demo scenario's providers, and a client that checks every
answer against the served OpenAPI document and the schema family (schemas/drivers_api/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator

from simulator.providers import APIS
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.servers.drivers.app import DriversServer, start_drivers_server, stop_drivers_server
from simulator.servers.drivers.openapi import COMPONENT_OF_KIND, openapi_document
from simulator.validation import validate

__all__ = ["MANAGE", "READ", "Api", "serving"]

MANAGE = {"Authorization": "Bearer fleetsim-demo-drivers-manage"}
READ = {"Authorization": "Bearer fleetsim-demo-drivers-read"}
#: the driver given the seed's OAuth settings in these tests (`fleetsim serve --oauth-driver smartgps`)
OAUTH = frozenset({"smartgps"})
_KIND_OF_COMPONENT = {component: kind for kind, component in COMPONENT_OF_KIND.items()}


def demo() -> tuple[Any, set[str]]:
    scenario = load_scenario(scenarios_dir() / "demo-city.yaml")
    return scenario.delivery.providers, set(scenario.providers())


def _response_schema(method: str, template: str, status: int) -> str:
    operation = openapi_document()["paths"][template][method.lower()]
    response = operation["responses"][str(status)]  # an undocumented status is a KeyError: the test fails
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref


@dataclass
class Api:
    http: aiohttp.ClientSession
    url: str
    server: DriversServer

    async def call(self, method: str, template: str, *, id: str = "", headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None, json: Any = None, data: bytes | None = None,
                   ) -> tuple[int, Any]:
        """One request; its body is checked against the OpenAPI response of that status (and, for the seed's
        shapes, the schema family's kind)."""
        path = template.replace("{id}", id)
        async with self.http.request(method, self.url + path, headers=MANAGE if headers is None else headers,
                                     params=params, json=json, data=data) as response:
            assert response.content_type == "application/json"
            body = await response.json()
        ref = _response_schema(method, template, response.status)
        document = openapi_document()
        errors = list(Draft202012Validator({**document, "$ref": ref}).iter_errors(body))
        assert not errors, (response.status, body, [e.message for e in errors])
        kind = _KIND_OF_COMPONENT.get(ref.rpartition("/")[2])
        if kind is not None:
            assert validate(APIS["drivers_api"], kind, body) == [], body
        return response.status, body

    async def driver(self, slug: str) -> dict[str, Any]:
        _, body = await self.call("GET", "/drivers", params={"limit": "100"})
        found: dict[str, Any] = next(d for d in body["data"] if d["slug"] == slug)
        return found


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[Api]:
    settings, installed = demo()
    options.setdefault("oauth", OAUTH)
    server = await start_drivers_server(options.pop("settings", settings), options.pop("installed", installed),
                                        **options)
    try:
        async with aiohttp.ClientSession() as http:
            yield Api(http, server.url, server)
    finally:
        await stop_drivers_server(server)
