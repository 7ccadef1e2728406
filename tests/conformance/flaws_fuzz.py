"""Receivers with a flaw only fuzzing finds, built from the reference receiver like flawed.py's: one crashes
(500) on any string longer than LONG characters anywhere in the message, one hangs on such a string (answers only
after HANG_S), one skips schema validation and so acknowledges invalid documents."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from simulator.servers.receiver import RECEIVER, Endpoint, build_app
from simulator.servers.store import Store

from .flawed import Handler, serve, settings

LONG = 40  # the planted crash: a string longer than this
HANG_S = 2.0


class _Crash(BaseException):
    """Raised past the receiver's catch-all (which turns any Exception into a 400), as an unguarded crash is."""


class _Hang(_Crash):
    """Like _Crash, but the answer comes only after HANG_S (a lock or a backtracking regex on a long string)."""


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (key, *_strings(value))]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _crashing(endpoint: Endpoint, crash: type[_Crash] = _Crash) -> Any:
    check = endpoint.check

    def crashing_check(body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        # before validation, as a receiver that indexes into fields first does
        if any(len(s) > LONG for s in _strings(endpoint.adapter.decode(body, content_type))):
            raise crash
        return check(body, content_type)

    return crashing_check


def _unvalidated(endpoint: Endpoint) -> Any:
    def check(body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
        doc = endpoint.adapter.decode(body, content_type)
        return doc, endpoint.adapter.classify(doc)

    return check


_FLAWS: dict[str, type[_Crash]] = {"long_string_500": _Crash, "long_string_hang": _Hang}


@web.middleware
async def _as_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Hang:
        await asyncio.sleep(HANG_S)
        return web.json_response({"error": "timed out"}, status=504)
    except _Crash:
        return web.json_response({"error": "IndexError: string index out of range"}, status=500)


@contextlib.asynccontextmanager
async def fuzz_flawed(flaw: str) -> AsyncIterator[str]:
    """The reference receiver with `flaw`: long_string_500, long_string_hang or no_schema."""
    store = Store()
    app = build_app(settings(), store)
    for endpoint in app[RECEIVER].endpoints.values():
        check = _unvalidated(endpoint) if flaw == "no_schema" else _crashing(endpoint, _FLAWS[flaw])
        setattr(endpoint, "check", check)  # noqa: B010
    app.middlewares.append(_as_500)
    async with serve(app, store) as url:
        yield url


__all__ = ["HANG_S", "LONG", "fuzz_flawed"]
