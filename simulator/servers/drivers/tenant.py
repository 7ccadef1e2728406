"""The tenant's side of the drivers API: which drivers it configured and how (seed 002, "Configurar Driver
Settings"), and what each driver's body says for it.

Pure apart from the times handed in. A driver the served scenario uses is configured and enabled from the start,
with the scenario's settings for its provider (its signing secret among them), and it has an installation: the
scenario's fleet is installed on it. Seed 002's "Importante": once an installation uses a driver,
`custom_oauth_enabled` and `oauth_settings.custom_oauth` can no longer change (`custom_oauth_can_be_edited`
false). Other drivers start unconfigured (`GET /drivers/{id}/settings` answers 404) until a PUT configures them.

A PUT is validated against the settings the driver would have after it (stored ones overlaid with the body), so
`{"enabled": true}` is enough once the required settings are stored, as the seed's "Driver simples" example
sends; keys the driver does not offer are ignored, as Laravel's `validated()` drops them (the seed's own curl
example sends `oauth_settings.client_id`, which no driver declares).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from ...errors import SecretError
from ...scenario.provider_settings import SECRET_KEYS
from ...schemastore import load_schema
from ...signing import SIGNERS, Secret
from .catalogue import OAUTH_SETTINGS, Driver, laravel_time
from .rules import Errors, check_type, parse_bool, present, required_if_applies

__all__ = ["ENABLED_AT", "DriverSettings", "Tenant"]

#: when the scenario's drivers were enabled (the seed's own sample date)
ENABLED_AT = datetime(2024, 1, 15, 10, tzinfo=UTC).timestamp()
_CUSTOM = "oauth_settings.custom_oauth."


@dataclass
class DriverSettings:
    enabled: bool
    created_at: float
    updated_at: float
    enabled_at: float | None = None
    custom_oauth_enabled: bool = False
    custom_oauth_enabled_at: float | None = None
    #: the driver's settings by dotted path (a secret as a `Secret`)
    values: dict[str, Any] = field(default_factory=dict)


def _flatten(body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in body.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


@cache
def _provider_validator(provider: str) -> Draft202012Validator:
    """The provider's own settings schema (enums, bounds, patterns), as the scenario schema publishes it."""
    root = load_schema("scenario.schema.json")
    own = copy.deepcopy(root["$defs"]["delivery"]["properties"]["providers"]["properties"][provider])
    own.pop("additionalProperties", None)
    return Draft202012Validator({**own, "$defs": root["$defs"]})


class Tenant:
    def __init__(self, drivers: list[Driver], scenario_settings: Mapping[str, Mapping[str, Any]],
                 installed: set[str]) -> None:
        self.drivers = drivers
        self.by_id = {d.id: d for d in drivers}
        self.installed = {d.id for d in drivers if d.slug in installed}
        self.settings: dict[str, DriverSettings] = {}
        for driver in drivers:
            if driver.slug in installed:
                values = {k: v for k, v in scenario_settings.get(driver.slug, {}).items()
                          if k in driver.available_settings or k in SECRET_KEYS}
                self.settings[driver.id] = DriverSettings(True, ENABLED_AT, ENABLED_AT, ENABLED_AT, values=values)

    # -- bodies ------------------------------------------------------------------------------------------------

    def driver_body(self, driver: Driver) -> dict[str, Any]:
        stored = self.settings.get(driver.id)
        enabled = stored is not None and stored.enabled
        updated = max(driver.created_at, stored.updated_at) if stored is not None else driver.created_at
        return {
            "id": driver.id, "name": driver.name, "slug": driver.slug, "description": driver.description,
            "version": driver.version, "type": driver.type,
            "available_settings": {k: dict(v) for k, v in driver.available_settings.items()},
            "supported_events": list(driver.supported_events), "enabled": enabled,
            "enabled_at": laravel_time(stored.enabled_at) if enabled and stored and stored.enabled_at else None,
            "created_at": laravel_time(driver.created_at), "updated_at": laravel_time(updated),
        }

    def settings_body(self, driver: Driver) -> dict[str, Any] | None:
        stored = self.settings.get(driver.id)
        if stored is None:
            return None
        data: dict[str, Any] = {
            "enabled": stored.enabled,
            "custom_oauth_enabled": stored.custom_oauth_enabled,
            "custom_oauth_enabled_at": _time(stored.custom_oauth_enabled_at),
            "custom_oauth_can_be_edited": driver.id not in self.installed,
        }
        redirect = stored.values.get("oauth_settings.redirect_url")
        if driver.oauth and isinstance(redirect, str):
            custom = {key: stored.values[_CUSTOM + key] for key in ("client_id", "client_secret")
                      if isinstance(stored.values.get(_CUSTOM + key), str)}
            data["oauth_settings"] = {"redirect_url": redirect,
                                      "custom_oauth": custom if stored.custom_oauth_enabled and len(custom) == 2
                                      else []}  # an empty PHP array, as the seed shows it
        data.update({"enabled_at": _time(stored.enabled_at), "created_at": laravel_time(stored.created_at),
                     "updated_at": laravel_time(stored.updated_at), "driver": driver.ref()})
        return {"data": data}

    # -- PUT ---------------------------------------------------------------------------------------------------

    def update(self, driver: Driver, body: Mapping[str, Any], now: float) -> Errors | DriverSettings:
        """Validate and store a PUT body; the field errors when it is refused (nothing is stored then)."""
        errors = Errors()
        stored = self.settings.get(driver.id)
        given = _flatten(body)
        for key in ("enabled", "custom_oauth_enabled"):
            if key in given:
                check_type(errors, key, "boolean", given[key])
        if not driver.oauth and parse_bool(given.get("custom_oauth_enabled")) is True:
            errors.add_text("custom_oauth_enabled", "O campo custom_oauth_enabled só está disponível para drivers "
                            "que suportam OAuth customizado.")
        rules = driver.available_settings
        values = dict(stored.values) if stored else {}
        values.update({k: v for k, v in given.items() if k in rules})
        custom_before = stored.custom_oauth_enabled if stored else False
        custom = parse_bool(given.get("custom_oauth_enabled", custom_before)) is True
        values["custom_oauth_enabled"] = custom
        if driver.id in self.installed:
            changed = [k for k in given if k.startswith(_CUSTOM) or k == "oauth_settings.custom_oauth"]
            if "custom_oauth_enabled" in given and custom != custom_before:
                changed.insert(0, "custom_oauth_enabled")
            for key in changed:
                errors.add_text(key, f"O campo {key} não pode mais ser alterado: uma instalação já usa este driver.")
        for key, rule in rules.items():
            value = values.get(key)
            needed = bool(rule.get("required"))
            if "required_if" in rule:
                applies, other, expected = required_if_applies(str(rule["required_if"]), values)
                if applies and not present(value):
                    errors.add(key, "required_if", other=other, value=expected)
                    continue
            if needed and not present(value):
                errors.add(key, "required")
            elif present(value) and key in given and not isinstance(value, Secret):
                check_type(errors, key, str(rule.get("type")), value)
        self._provider_checks(driver, given, errors)
        if errors:
            return errors
        return self._store(driver, stored, given, values, custom, now)

    def _provider_checks(self, driver: Driver, given: Mapping[str, Any], errors: Errors) -> None:
        own = {k: v for k, v in given.items() if k in driver.available_settings and k not in OAUTH_SETTINGS
               and k not in errors.fields}
        for key in SECRET_KEYS:
            if isinstance(own.get(key), str):
                try:
                    SIGNERS[driver.provider.signing].parse_secret(own[key])
                except SecretError:
                    errors.add_text(key, f"O campo {key} não é um segredo válido para {driver.name}.")
                own.pop(key)
        for err in _provider_validator(driver.slug).iter_errors(own):
            key = ".".join(str(p) for p in err.absolute_path) or str(err.validator)
            if key not in errors.fields:
                errors.add(key, "in")

    def _store(self, driver: Driver, stored: DriverSettings | None, given: Mapping[str, Any],
               values: dict[str, Any], custom: bool, now: float) -> DriverSettings:
        for key in SECRET_KEYS:  # kept under "secret", parsed by the signer, as the settings loader keeps them
            if isinstance(values.get(key), str):
                values["secret"] = SIGNERS[driver.provider.signing].parse_secret(values.pop(key))
        for key, spec in driver.provider.settings_schema.get("properties", {}).items():
            if spec.get("x-secret") and isinstance(values.get(key), str):  # a static token: never shown again
                values[key] = Secret(values[key].encode("utf-8"))
        before = None if stored is None else (stored.enabled, stored.custom_oauth_enabled, dict(stored.values))
        if stored is None:
            stored = DriverSettings(False, now, now)
        enabled = parse_bool(given.get("enabled", stored.enabled)) is True
        if enabled and not stored.enabled:
            stored.enabled_at = now
        elif not enabled:
            stored.enabled_at = None
        if custom and not stored.custom_oauth_enabled:
            stored.custom_oauth_enabled_at = now
        elif not custom:
            stored.custom_oauth_enabled_at = None
        values.pop("custom_oauth_enabled", None)
        # Eloquent saves only a model with changed attributes: a PUT that changes nothing (an unreadable body,
        # which Laravel reads as no input, or the same values again) leaves updated_at where it was
        if before != (enabled, custom, values):
            stored.updated_at = now
        stored.enabled, stored.custom_oauth_enabled = enabled, custom
        stored.values = values
        self.settings[driver.id] = stored
        return stored

    def secret(self, driver: Driver) -> Secret | None:
        stored = self.settings.get(driver.id)
        for key in SECRET_KEYS:
            value = stored.values.get(key) if stored else None
            if isinstance(value, Secret):
                return value
        return None

    def provider_settings(self, driver: Driver) -> dict[str, Any]:
        """The driver's settings as its provider's envelope takes them (the OAuth ones are the API's own)."""
        stored = self.settings.get(driver.id)
        return {k: v for k, v in (stored.values if stored else {}).items() if k not in OAUTH_SETTINGS}


def _time(t: float | None) -> str | None:
    return None if t is None else laravel_time(t)
