"""GET and PUT /drivers/{id}/settings: DRIVERS_MANAGE, 404 for an unconfigured driver, validation by the driver's
available_settings (required, required_if, types) in Laravel's 422 shape, and the settings an installation
freezes (seed 002, "Importante")."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .support import READ, serving

REDIRECT = "https://sua-app.com/oauth/callback"


def _smartgps_uninstalled() -> dict[str, Any]:
    """The demo's settings, but SmartGPS neither configured nor used by an installation (its custom OAuth is
    editable)."""
    return {"installed": {"samsara", "mettax", "powunity"}}


async def test_an_unconfigured_driver_has_no_settings_until_a_put() -> None:
    async with serving(now=lambda: 1767225600.0) as api:  # 2026-01-01
        generic = await api.driver("standard_webhooks")
        status, body = await api.call("GET", "/drivers/{id}/settings", id=generic["id"])
        assert (status, body) == (404, {"error": "Not found"})
        status, put = await api.call("PUT", "/drivers/{id}/settings", id=generic["id"], json={"enabled": True})
        assert status == 200
        assert put["data"] == {
            "enabled": True, "custom_oauth_enabled": False, "custom_oauth_enabled_at": None,
            "custom_oauth_can_be_edited": True, "enabled_at": "2026-01-01T00:00:00.000000Z",
            "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z",
            "driver": {"id": generic["id"], "name": generic["name"], "slug": "standard_webhooks"}}
        _, got = await api.call("GET", "/drivers/{id}/settings", id=generic["id"])
        assert got == put
        shown = await api.driver("standard_webhooks")
        assert shown["enabled"] is True and shown["enabled_at"] == "2026-01-01T00:00:00.000000Z"


async def test_a_put_that_changes_nothing_leaves_updated_at() -> None:
    # an unreadable body is no input to Laravel, and Eloquent saves (and stamps) only a model that changed
    clock = itertools.count(1767225600)  # a second later at every reading
    async with serving(now=lambda: float(next(clock))) as api:
        generic = await api.driver("standard_webhooks")
        _, first = await api.call("PUT", "/drivers/{id}/settings", id=generic["id"], json={"enabled": True})
        stamped = first["data"]["updated_at"]
        for body in (b"garbage", b"[1]", b'{"enabled": true}'):
            status, again = await api.call("PUT", "/drivers/{id}/settings", id=generic["id"], data=body)
            assert status == 200 and again["data"]["updated_at"] == stamped, (body, again)
        _, off = await api.call("PUT", "/drivers/{id}/settings", id=generic["id"], json={"enabled": False})
        assert off["data"]["updated_at"] > stamped and off["data"]["enabled"] is False


async def test_settings_need_drivers_manage() -> None:
    async with serving() as api:
        driver = await api.driver("samsara")
        for method in ("GET", "PUT"):
            status, body = await api.call(method, "/drivers/{id}/settings", id=driver["id"], headers=READ,
                                          json={"enabled": True})
            assert (status, body) == (403, {"error": "This action is unauthorized."})
        status, _ = await api.call("GET", "/drivers/{id}/settings", id=driver["id"], headers={})
        assert status == 401


async def test_required_and_required_if_in_laravels_shape() -> None:
    async with serving(**_smartgps_uninstalled()) as api:
        smartgps = await api.driver("smartgps")
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"],
                                      json={"enabled": True, "custom_oauth_enabled": True})
        assert status == 422
        assert body == {
            "message": "O campo oauth_settings.redirect_url é obrigatório. (e mais 2 erros)",
            "errors": {
                "oauth_settings.redirect_url": ["O campo oauth_settings.redirect_url é obrigatório."],
                "oauth_settings.custom_oauth.client_id": [
                    "O campo oauth_settings.custom_oauth.client_id é obrigatório quando custom_oauth_enabled for "
                    "true."],
                "oauth_settings.custom_oauth.client_secret": [
                    "O campo oauth_settings.custom_oauth.client_secret é obrigatório quando custom_oauth_enabled "
                    "for true."]}}
        # nothing was stored by the refused PUT
        assert await api.call("GET", "/drivers/{id}/settings", id=smartgps["id"]) == (404, {"error": "Not found"})
        # the seed's "Driver com OAuth customizado" body is accepted
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"], json={
            "enabled": True, "custom_oauth_enabled": True, "oauth_settings": {
                "redirect_url": REDIRECT,
                "custom_oauth": {"client_id": "custom-client-id", "client_secret": "custom-client-secret"}}})
        assert status == 200, body
        assert body["data"]["oauth_settings"] == {
            "redirect_url": REDIRECT,
            "custom_oauth": {"client_id": "custom-client-id", "client_secret": "custom-client-secret"}}
        assert body["data"]["custom_oauth_enabled_at"] is not None
        # turned off again, the custom client is an empty PHP array, as the seed shows it
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"],
                                      json={"custom_oauth_enabled": False})
        assert status == 200
        assert body["data"]["oauth_settings"] == {"redirect_url": REDIRECT, "custom_oauth": []}
        assert body["data"]["custom_oauth_enabled_at"] is None


async def test_the_seeds_simple_bodies_pass_once_required_settings_are_stored() -> None:
    async with serving(**_smartgps_uninstalled()) as api:
        smartgps = await api.driver("smartgps")
        # the seed's own curl example (oauth_settings.client_id is no declared setting: ignored, as Laravel does)
        status, _ = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"], json={
            "enabled": True, "oauth_settings": {"redirect_url": REDIRECT, "client_id": "seu-client-id",
                                                "client_secret": "seu-client-secret"}})
        assert status == 200
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"], json={"enabled": False})
        assert status == 200 and body["data"]["enabled"] is False and body["data"]["enabled_at"] is None


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"enabled": "yes"}, "enabled", "O campo enabled deve ser verdadeiro ou falso."),
    ({"oauth_settings": {"redirect_url": "not a url"}}, "oauth_settings.redirect_url",
     "O campo oauth_settings.redirect_url deve ser uma URL válida."),
    ({"oauth_settings": {"redirect_url": "ftp://x.example/cb"}}, "oauth_settings.redirect_url",
     "O campo oauth_settings.redirect_url deve ser uma URL válida."),
    ({"custom_oauth_enabled": "sim"}, "custom_oauth_enabled", "O campo custom_oauth_enabled deve ser verdadeiro "
     "ou falso."),
])
async def test_types_are_checked(body: dict[str, Any], field: str, message: str) -> None:
    async with serving(**_smartgps_uninstalled()) as api:
        smartgps = await api.driver("smartgps")
        status, answer = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"],
                                        json={"oauth_settings": {"redirect_url": REDIRECT}} | body)
    assert status == 422
    assert answer["errors"][field] == [message]


async def test_provider_settings_are_checked_by_the_providers_schema_and_secrets_never_echoed() -> None:
    async with serving() as api_:
        samsara = await api_.driver("samsara")
        status, body = await api_.call("PUT", "/drivers/{id}/settings", id=samsara["id"], json={
            "payload_version": 3, "org_id": "many", "secret": "not base64 !!"})
    assert status == 422
    assert body["errors"]["payload_version"] == ["O campo payload_version selecionado é inválido."]
    assert body["errors"]["org_id"] == ["O campo org_id deve ser um número inteiro."]
    assert body["errors"]["secret"] == ["O campo secret não é um segredo válido para Samsara signed alert webhook."]
    assert "not base64" not in str(body)


async def test_an_installation_freezes_custom_oauth() -> None:
    async with serving() as api:  # the demo scenario's fleet is installed on SmartGPS
        smartgps = await api.driver("smartgps")
        _, got = await api.call("GET", "/drivers/{id}/settings", id=smartgps["id"])
        assert got["data"]["custom_oauth_can_be_edited"] is False
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"], json={
            "custom_oauth_enabled": True, "oauth_settings": {
                "redirect_url": REDIRECT, "custom_oauth": {"client_id": "a", "client_secret": "b"}}})
        assert status == 422
        assert list(body["errors"]) == ["custom_oauth_enabled", "oauth_settings.custom_oauth.client_id",
                                        "oauth_settings.custom_oauth.client_secret"]
        assert body["errors"]["custom_oauth_enabled"] == [
            "O campo custom_oauth_enabled não pode mais ser alterado: uma instalação já usa este driver."]
        # the rest still can change
        status, _ = await api.call("PUT", "/drivers/{id}/settings", id=smartgps["id"],
                                   json={"oauth_settings": {"redirect_url": REDIRECT}})
        assert status == 200


async def test_custom_oauth_only_where_the_driver_supports_it() -> None:
    async with serving() as api:
        mettax = await api.driver("mettax")
        status, body = await api.call("PUT", "/drivers/{id}/settings", id=mettax["id"],
                                      json={"custom_oauth_enabled": True})
    assert status == 422 and list(body["errors"]) == ["custom_oauth_enabled"]


async def test_a_body_that_is_not_a_json_object_is_no_input() -> None:
    async with serving(**_smartgps_uninstalled()) as api_:
        smartgps = await api_.driver("smartgps")
        status, body = await api_.call("PUT", "/drivers/{id}/settings", id=smartgps["id"], data=b"[1, 2")
    assert status == 422 and list(body["errors"]) == ["oauth_settings.redirect_url"]
