"""GET /drivers, /drivers/names and /drivers/{id}: seed 002's envelope, Laravel pagination, spatie-style filters
and sorts, and their refusals; ULID ids stable across starts."""

from __future__ import annotations

import re

import pytest

from simulator.providers import PROVIDERS

from .support import READ, serving

ULID = re.compile(r"^[0-7][0-9a-hjkmnp-tv-z]{25}$")
WEBHOOK_PROVIDERS = sorted(n for n, p in PROVIDERS.items() if "webhook" in p.channels)


async def test_the_drivers_are_the_providers_with_stable_ulids() -> None:
    async with serving() as api:
        status, body = await api.call("GET", "/drivers", params={"limit": "100"})
        first = {d["slug"]: d["id"] for d in body["data"]}
    async with serving() as api:
        _, again = await api.call("GET", "/drivers", params={"limit": "100"}, headers=READ)
    assert status == 200
    assert sorted(first) == WEBHOOK_PROVIDERS
    assert all(ULID.fullmatch(i) for i in first.values())
    assert len(set(first.values())) == len(first)
    assert {d["slug"]: d["id"] for d in again["data"]} == first  # derived, not drawn at each start
    smartgps = next(d for d in body["data"] if d["slug"] == "smartgps")
    assert smartgps["supported_events"] == list(PROVIDERS["smartgps"].kinds)
    assert smartgps["enabled"] is True and smartgps["enabled_at"] == "2024-01-15T10:00:00.000000Z"
    assert smartgps["available_settings"]["oauth_settings.custom_oauth.client_id"] == {
        "required_if": "custom_oauth_enabled,true", "type": "string"}
    assert "secret_env" not in smartgps["available_settings"]  # a caller must not pick the server's env vars
    samsara = next(d for d in body["data"] if d["slug"] == "samsara")
    assert samsara["available_settings"]["payload_version"] == {"required": False, "type": "integer"}
    assert not any(k.startswith(("oauth", "custom_oauth")) for k in samsara["available_settings"])
    generic = next(d for d in body["data"] if d["slug"] == "standard_webhooks")
    assert generic["enabled"] is False and generic["enabled_at"] is None  # not in the demo scenario


async def test_default_page_is_ten_and_pages_follow_laravel() -> None:
    async with serving() as api:
        _, body = await api.call("GET", "/drivers")
        total = body["meta"]["total"]
        assert body["meta"] == {"current_page": 1, "from": 1, "last_page": 1, "path": f"{api.url}/drivers",
                                "per_page": 10, "to": total, "total": total}
        assert body["links"] == {"first": f"{api.url}/drivers?page=1", "last": f"{api.url}/drivers?page=1",
                                 "prev": None, "next": None}
        _, two = await api.call("GET", "/drivers", params={"limit": "2", "page": "2"})
        assert [d["slug"] for d in two["data"]] == [d["slug"] for d in body["data"]][2:4]
        assert two["meta"] == {"current_page": 2, "from": 3, "last_page": (total + 1) // 2,
                                    "path": f"{api.url}/drivers", "per_page": 2, "to": 4, "total": total}
        # as the seed's sample: ?limit=20 links to drivers?page=N, the rest of the query is not kept
        assert two["links"]["prev"] == f"{api.url}/drivers?page=1"
        assert two["links"]["next"] == f"{api.url}/drivers?page=3"
        _, beyond = await api.call("GET", "/drivers", params={"limit": "2", "page": "99"})
        assert beyond["data"] == [] and beyond["meta"]["from"] is None and beyond["meta"]["to"] is None
        assert beyond["meta"]["current_page"] == 99 and beyond["links"]["next"] is None
        _, odd = await api.call("GET", "/drivers", params={"page": "abc"})  # Laravel resolves it to page 1
        assert odd["meta"]["current_page"] == 1


async def test_links_can_keep_the_query() -> None:
    async with serving(keep_query=True) as api:
        _, body = await api.call("GET", "/drivers", params={"limit": "2", "filter[type]": "webhook"})
    assert body["links"]["next"] == f"{api.url}/drivers?limit=2&filter%5Btype%5D=webhook&page=2"


@pytest.mark.parametrize(("limit", "message"), [
    ("101", "O campo limit não pode ser superior a 100."),
    ("0", "O campo limit deve ser pelo menos 1."),
    ("ten", "O campo limit deve ser um número inteiro."),
])
async def test_a_bad_limit_is_a_422(limit: str, message: str) -> None:
    async with serving() as api:
        status, body = await api.call("GET", "/drivers", params={"limit": limit})
    assert status == 422
    assert body == {"message": message, "errors": {"limit": [message]}}


async def test_limit_100_is_the_maximum_allowed() -> None:
    async with serving() as api:
        status, body = await api.call("GET", "/drivers", params={"limit": "100"})
    assert status == 200 and body["meta"]["per_page"] == 100


async def test_filters() -> None:
    async with serving() as api:
        _, named = await api.call("GET", "/drivers", params={"filter[name]": "SAMSARA"})
        _, on = await api.call("GET", "/drivers", params={"filter[enabled]": "true"})
        _, off = await api.call("GET", "/drivers", params={"filter[enabled]": "false"})
        _, polling = await api.call("GET", "/drivers", params={"filter[type]": "polling"})
        _, webhook = await api.call("GET", "/drivers", params={"filter[type]": "webhook", "limit": "100"})
        status, bad = await api.call("GET", "/drivers", params={"filter[enabled]": "maybe"})
        unknown, refused = await api.call("GET", "/drivers", params={"filter[slug]": "x"})
    assert [d["slug"] for d in named["data"]] == ["samsara"]
    assert sorted(d["slug"] for d in on["data"]) == ["mettax", "powunity", "samsara", "smartgps"]
    assert [d["slug"] for d in off["data"]] == ["standard_webhooks"]
    assert polling["data"] == [] and polling["meta"]["total"] == 0 and polling["meta"]["from"] is None
    assert len(webhook["data"]) == len(WEBHOOK_PROVIDERS)
    assert status == 422 and bad["errors"] == {"filter.enabled": ["O campo filter.enabled deve ser verdadeiro ou "
                                                                  "falso."]}
    assert unknown == 400 and "`slug`" in refused["error"]


async def test_sorts() -> None:
    async with serving() as api:
        _, by_name = await api.call("GET", "/drivers", params={"sort": "name"})
        _, by_slug_desc = await api.call("GET", "/drivers", params={"sort": "-slug"})
        _, created = await api.call("GET", "/drivers", params={"sort": "-created_at"})
        _, two_keys = await api.call("GET", "/drivers", params={"sort": "type,-name"})
        status, refused = await api.call("GET", "/drivers", params={"sort": "description"})
    names = [d["name"] for d in by_name["data"]]
    assert names == sorted(names, key=str.casefold)
    assert [d["slug"] for d in by_slug_desc["data"]] == sorted(WEBHOOK_PROVIDERS, reverse=True)
    stamps = [d["created_at"] for d in created["data"]]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
    assert [d["name"] for d in two_keys["data"]] == sorted(names, key=str.casefold, reverse=True)
    assert status == 400
    assert refused == {"error": "Requested sort(s) `description` is not allowed. Allowed sort(s) are "
                                "`name, slug, version, type, status, created_at`."}


async def test_names_and_show_and_not_found() -> None:
    async with serving() as api:
        _, names = await api.call("GET", "/drivers/names", headers=READ)
        driver = await api.driver("samsara")
        status, shown = await api.call("GET", "/drivers/{id}", id=driver["id"], headers=READ)
        missing, body = await api.call("GET", "/drivers/{id}", id="01ke7rhnt6fhb6tsbbhcdpepya")
    assert [n["name"] for n in names["data"]] == sorted((n["name"] for n in names["data"]), key=str.casefold)
    assert {n["slug"] for n in names["data"]} == set(WEBHOOK_PROVIDERS)
    assert status == 200 and shown == {"data": driver}
    assert missing == 404 and body == {"error": "Not found"}


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic Zm9vOmJhcg==", "Bearer "])
async def test_without_a_known_token_it_is_401(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with serving() as api:
        for template in ("/drivers", "/drivers/names"):
            status, body = await api.call("GET", template, headers=headers)
            assert (status, body) == (401, {"error": "Unauthenticated."})


async def test_openapi_json_is_served_without_a_token() -> None:
    async with serving() as api, api.http.get(f"{api.url}/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    assert document["openapi"] == "3.1.0" and "/drivers/{id}/send-test-event" in document["paths"]


async def test_without_oauth_drivers_none_takes_oauth_settings() -> None:
    async with serving(oauth=frozenset()) as api:
        _, body = await api.call("GET", "/drivers", params={"limit": "100"})
    assert not any(k.startswith(("oauth", "custom_oauth")) for d in body["data"] for k in d["available_settings"])
