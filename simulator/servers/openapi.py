"""What the OpenAPI 3.1 documents of the served platforms share: turning a shipped schema family into components,
and serving a document at `GET /openapi.json`.

OpenAPI 3.1 takes JSON Schema 2020-12 as it is, so a platform's response schemas ARE its shipped schema family
(schemas/<family>/): each definition becomes a component under its own name and every reference to a `$defs`
entry, in the same file or a sibling one, is rewritten to `#/components/schemas/<name>`. The document and
`fleetsim schemas validate` can then never disagree. The document is served without authentication on every
platform: a client needs it before it can log in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..schemastore import load_schema

__all__ = ["PREFIX", "add_document", "definitions", "localize", "ref"]

PREFIX = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": PREFIX + name}


def localize(node: Any) -> Any:
    """`node` as a component: without the keywords that only make sense in a file of its own (`$schema`, `$id`,
    `$defs`) or only to fleetsim's generator (`x-…` hints), its `$defs` references pointing into the document."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$schema", "$id", "$defs") or key.startswith("x-"):
                continue
            if key == "$ref" and isinstance(value, str) and "#/$defs/" in value:
                value = PREFIX + value.rpartition("#/$defs/")[2]
            out[key] = localize(value)
        return out
    if isinstance(node, list):
        return [localize(item) for item in node]
    return node


def definitions(rel: str) -> dict[str, Any]:
    """The `$defs` of the shipped schema `rel` (a path under schemas/), each as a component."""
    return {name: localize(defn) for name, defn in load_schema(rel).get("$defs", {}).items()}


def add_document(app: web.Application, document: Callable[[web.Request], dict[str, Any]]) -> None:
    """`GET /openapi.json`, open to anyone, answering `document(request)`."""

    async def openapi_json(request: web.Request) -> web.StreamResponse:
        return web.json_response(document(request))

    app.router.add_get("/openapi.json", openapi_json, allow_head=False)
