"""What every Traccar version adds to each REST answer on its own: the CORS headers of its
`CorsResponseFilter`, and the OPTIONS and HEAD answers JAX-RS (Jersey) gives every resource (docs/traccar-server.md,
"CORS, OPTIONS and HEAD").

`CorsResponseFilter` runs on every Jersey response, errors included: `Access-Control-Allow-Headers`,
`-Allow-Credentials: true` and `-Allow-Methods` always; `Access-Control-Allow-Origin` is the request's `Origin`
(the server's `web.origin` is unset: any origin), or `*` when it has none. So a browser dashboard served from
another origin can call the API, as it can a real server's. The socket (`/api/socket`, not a Jersey resource) and
`/openapi.json` (fleetsim's own) get none of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

__all__ = ["cors"]

#: CorsResponseFilter's constants
HEADERS_ALL = "origin, content-type, accept, authorization"
METHODS_ALL = "GET, POST, PUT, DELETE, OPTIONS"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_resource(path: str) -> bool:
    return path.startswith("/api/") and path != "/api/socket"


def _add_cors(request: web.Request, headers: dict[str, str] | web.StreamResponse) -> None:
    target = headers.headers if isinstance(headers, web.StreamResponse) else headers
    target.setdefault("Access-Control-Allow-Headers", HEADERS_ALL)
    target.setdefault("Access-Control-Allow-Credentials", "true")
    target.setdefault("Access-Control-Allow-Methods", METHODS_ALL)
    target.setdefault("Access-Control-Allow-Origin", request.headers.get(hdrs.ORIGIN, "*"))


async def _options(request: web.Request) -> web.StreamResponse:
    """Jersey's own OPTIONS: 200, the resource's methods in `Allow` (HEAD with GET, OPTIONS always), no body; an
    unknown path is 404, as any other method's."""
    methods: set[str] = set()
    for resource in request.app.router.resources():
        _, allowed = await resource.resolve(request)  # the methods of a resource whose path matches, else none
        methods |= allowed
    if not methods:
        raise web.HTTPNotFound()
    if hdrs.METH_GET in methods:
        methods.add(hdrs.METH_HEAD)
    methods.add(hdrs.METH_OPTIONS)
    return web.Response(status=200, headers={"Allow": ",".join(sorted(methods))})


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_resource(request.path):
        return await handler(request)
    try:
        if request.method == hdrs.METH_OPTIONS:
            response = await _options(request)
        else:
            response = await handler(request)
    except web.HTTPException as exc:  # raised answers (401, 404, 405): the filter sees them too
        _add_cors(request, exc)
        raise
    _add_cors(request, response)
    return response
