"""GET /openapi.json: the OpenAPI 3.1 document of the emulated SmartGPS API (filled in below)."""

from __future__ import annotations

from aiohttp import web

from .context import SERVER


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[SERVER].openapi)


def add_openapi(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json, allow_head=False)
