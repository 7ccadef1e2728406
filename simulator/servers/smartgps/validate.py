"""Reading request bodies and queries: a body that is not a JSON object is 400, a field that breaks its rule is
422 naming the field and what was expected (errors.py has the shape)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from ..bodies import UnreadableBody, read_body
from .errors import ApiError, invalid

IMEI = re.compile(r"^[0-9]{15}$")
#: Brazilian plates, old (ABC-1234) and Mercosul (ABC1D23), as the provider's event schema takes them
PLATE = re.compile(r"^[A-Z]{3}-?[0-9][A-Z0-9][0-9]{2}$")
CODE = re.compile(r"^[0-9A-F]{8,16}$")


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        raw = await read_body(request)
    except UnreadableBody as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def text(body: dict[str, Any], name: str, *, required: bool = False, pattern: re.Pattern[str] | None = None,
         expected: str = "text of 1 to 100 characters", choices: tuple[str, ...] = ()) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, f"required: {expected}")
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 100:
        raise invalid(name, expected)
    if pattern is not None and not pattern.match(value):
        raise invalid(name, expected)
    if choices and value not in choices:
        raise invalid(name, f"one of {', '.join(choices)}")
    return value


def number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise invalid(name, f"a number from {low:g} to {high:g}")
    return float(value)


def point(value: Any, name: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise invalid(name, "an object {lat, lng}")
    return {"lat": number(value.get("lat"), f"{name}.lat", -90, 90),
            "lng": number(value.get("lng"), f"{name}.lng", -180, 180)}


def only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        name = unknown[0]
        # named so a log can print it: an empty or unprintable key is shown quoted (`""`)
        label = name[:60] if name and name.isprintable() else repr(name)[:60]
        raise invalid(label, f"not a field here (expected: {', '.join(sorted(allowed))})")


def when(request: web.Request, name: str) -> float | None:
    """An ISO 8601 time from the query (2026-02-09T04:00:00Z; no zone means UTC), as epoch seconds."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise invalid(name, "an ISO 8601 time such as 2026-02-09T04:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
