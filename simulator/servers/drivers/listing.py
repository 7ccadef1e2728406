"""`GET /drivers`: filters, sorts and Laravel's length-aware pagination (seed 002, "Listar Drivers").

Pure: the drivers as records in, the `data` / `links` / `meta` body out. The query language is
spatie/laravel-query-builder's, which the seed's `filter[name]` / `sort=-created_at` parameters are:

- `filter[name]` matches part of the name, ignoring case; `filter[type]` and `filter[enabled]` match exactly;
  an unknown filter or sort answers 400, as the query builder's InvalidFilterQuery / InvalidSortQuery do;
- `sort` is a comma-separated list of fields, `-` for descending; without it, the drivers' own order (by id);
- `limit` is validated (an integer from 1 to 100, 422 otherwise) and `page` resolved as Laravel's paginator
  does: anything but a whole number of at least 1 is page 1; a page past the last is empty, with `from`/`to` null.

The seed's links carry `?page=N` only (its `?limit=20` request links to `drivers?page=1`); `keep_query` keeps the
rest of the query in them too, as Laravel's `withQueryString()` would ([I] docs/drivers-api.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .rules import Errors, laravel_422, parse_bool

__all__ = ["FILTERS", "SORTS", "BadQuery", "Page", "paginate", "parse_query"]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
FILTERS = ("name", "type", "enabled")
SORTS = ("name", "slug", "version", "type", "status", "created_at")


class BadQuery(Exception):
    """A query the API refuses: 400 with the seed's error shape, or 422 with field errors."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Page:
    limit: int
    page: int
    filters: Mapping[str, str]
    sort: tuple[tuple[str, bool], ...]  # (field, descending)


_INTEGER = re.compile(r"-?[0-9]{1,9}")


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def parse_query(query: Mapping[str, str]) -> Page:
    errors = Errors()
    limit = DEFAULT_LIMIT
    if "limit" in query:
        raw = query["limit"].strip()
        if not _INTEGER.fullmatch(raw):
            errors.add("limit", "integer")
        else:
            limit = int(raw)
            if limit < 1:
                errors.add("limit", "min", min=1)
            elif limit > MAX_LIMIT:
                errors.add("limit", "max", max=MAX_LIMIT)
    filters: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in query.items():
        if key.startswith("filter[") and key.endswith("]"):
            name = key[len("filter["):-1]
            if name in FILTERS:
                filters[name] = value
            else:
                unknown.append(name)
    if unknown:
        raise BadQuery(400, {"error": f"Requested filter(s) `{', '.join(unknown)}` are not allowed. "
                                      f"Allowed filter(s) are `{', '.join(FILTERS)}`."})
    if "enabled" in filters and parse_bool(filters["enabled"]) is None:
        errors.add("filter.enabled", "boolean")
    if errors:
        raise BadQuery(422, laravel_422(errors))
    sort: list[tuple[str, bool]] = []
    for item in (query.get("sort") or "").split(","):
        item = item.strip()
        if not item:
            continue
        name = item[1:] if item.startswith("-") else item
        if name not in SORTS:
            raise BadQuery(400, {"error": f"Requested sort(s) `{name}` is not allowed. "
                                          f"Allowed sort(s) are `{', '.join(SORTS)}`."})
        sort.append((name, item.startswith("-")))
    page = _whole(query.get("page", "1")) or 1
    return Page(limit, max(page, 1), filters, tuple(sort))


def _matches(record: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    if "name" in filters and filters["name"].casefold() not in str(record["name"]).casefold():
        return False
    if "type" in filters and record["type"] != filters["type"]:
        return False
    return not ("enabled" in filters and record["enabled"] is not parse_bool(filters["enabled"]))


def paginate(records: Sequence[Mapping[str, Any]], page: Page, *, path: str, query: Mapping[str, str],
             keep_query: bool = False) -> dict[str, Any]:
    """The list body for `records` (each holding the driver's body fields plus `status` for sorting)."""
    chosen = [r for r in records if _matches(r, page.filters)]
    for name, descending in reversed(page.sort):  # stable sorts, last key first
        chosen.sort(key=lambda r, n=name: str(r[n]).casefold(), reverse=descending)  # type: ignore[misc]
    total = len(chosen)
    last_page = max(1, math.ceil(total / page.limit))
    start = (page.page - 1) * page.limit
    items = chosen[start:start + page.limit]
    kept = {k: v for k, v in query.items() if k != "page"} if keep_query else {}

    def link(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': number})}"

    return {
        "data": [{k: v for k, v in r.items() if k != "status"} for r in items],
        "links": {
            "first": link(1),
            "last": link(last_page),
            "prev": link(page.page - 1) if page.page > 1 else None,
            "next": link(page.page + 1) if page.page < last_page else None,
        },
        "meta": {
            "current_page": page.page,
            "from": start + 1 if items else None,
            "last_page": last_page,
            "path": path,
            "per_page": page.limit,
            "to": start + len(items) if items else None,
            "total": total,
        },
    }
