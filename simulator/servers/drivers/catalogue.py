"""The drivers of the drivers control API (seed 002) are fleetsim's providers: one `Driver` per registered webhook
provider, derived from the provider unit, never from a list of names.

Pure: no clock, no global random. A driver's ULID is drawn from an RNG seeded by its slug and its creation time,
so it is the same on every start and every machine (a client may keep ids between runs, as it would against the
vendor). Everything a driver says is asked of its provider:

- `slug` is the provider's name, `name` its title, `description` its settings description;
- `supported_events` are its webhook message kinds (what `send-test-event` can render: `event_name`);
- `available_settings` come from its settings schema ([I] docs/drivers-api.md, "available_settings"): each
  property becomes a rule with the seed's vocabulary (`required`, `required_if`, `type`), settings that name a
  server environment variable (`*_env`) are left out (a remote caller must not choose what the server reads), and
  the seed's OAuth settings (Bling's in seed 002) are added to the drivers the caller names (`oauth`:
  `fleetsim serve --oauth-driver`). fleetsim's webhooks use no OAuth, so no driver has them by default.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...core import ids
from ...providers import PROVIDERS, Provider

__all__ = ["CREATED_AT", "OAUTH_SETTINGS", "Driver", "drivers", "laravel_time", "webhook_providers"]

#: when fleetsim's drivers were "created" (the seed's own sample date): fixed, so ids and bodies are stable
CREATED_AT = datetime(2024, 1, 1, tzinfo=UTC).timestamp()

#: the seed's OAuth settings (Bling in seed 002): redirect_url is required, a custom client only when
#: custom_oauth_enabled is true
OAUTH_SETTINGS: dict[str, dict[str, Any]] = {
    "custom_oauth_enabled": {"required": False, "type": "boolean"},
    "oauth_settings.redirect_url": {"required": True, "type": "url"},
    "oauth_settings.custom_oauth.client_id": {"required_if": "custom_oauth_enabled,true", "type": "string"},
    "oauth_settings.custom_oauth.client_secret": {"required_if": "custom_oauth_enabled,true", "type": "string"},
}

def laravel_time(t: float) -> str:
    """A time as Laravel serializes it (2024-01-01T00:00:00.000000Z)."""
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Driver:
    id: str
    slug: str
    name: str
    description: str
    version: str
    type: str
    #: the seed's driver statuses (active, deprecated, disabled): every fleetsim driver is active; `sort=status`
    #: accepts it, the bodies do not carry it (the seed's samples and field table do not)
    status: str
    created_at: float
    available_settings: Mapping[str, Mapping[str, Any]]
    supported_events: tuple[str, ...]
    #: whether the driver takes the seed's OAuth settings
    oauth: bool
    provider: Provider = field(repr=False, compare=False)

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "slug": self.slug}


def _setting_type(spec: Mapping[str, Any], key: str) -> str | None:
    """The seed's setting type for one property of a provider's settings schema, None when it has none."""
    if spec.get("$ref", "").endswith("/secret"):
        return "string"
    if "enum" in spec:
        values = spec["enum"]
        return "integer" if all(isinstance(v, int) and not isinstance(v, bool) for v in values) else "string"
    if "anyOf" in spec:
        types = {branch.get("type") for branch in spec["anyOf"]}
        return "array" if "array" in types else "string" if "string" in types else None
    kind = spec.get("type")
    if kind == "string":
        return "url" if key.endswith("url") else "string"
    return kind if kind in ("boolean", "integer", "number") else None


def available_settings(provider: Provider, oauth: bool) -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for key, spec in provider.settings_schema.get("properties", {}).items():
        kind = _setting_type(spec, key)
        if key.endswith("_env") or kind is None:
            continue
        rules[key] = {"required": False, "type": kind}
    if oauth:
        rules.update({key: dict(rule) for key, rule in OAUTH_SETTINGS.items()})
    return rules


def _driver(index: int, provider: Provider, oauth: bool) -> Driver:
    created = CREATED_AT + index  # one second apart: ULIDs (and the default order) follow the registry
    rng = random.Random(f"fleetsim:driver:{provider.name}")
    return Driver(
        id=ids.ulid(rng, epoch_ms=int(created * 1000)),
        slug=provider.name,
        name=provider.title,
        description=str(provider.settings_schema.get("description") or provider.title),
        version="v1",
        type="webhook",
        status="active",
        created_at=created,
        available_settings=available_settings(provider, oauth),
        supported_events=tuple(k for k, spec in provider.kinds.items() if spec.channel == "webhook"),
        oauth=oauth,
        provider=provider,
    )


def webhook_providers() -> list[Provider]:
    return [p for p in PROVIDERS.values() if "webhook" in p.channels]


def drivers(oauth: frozenset[str] = frozenset()) -> list[Driver]:
    """One driver per registered provider that sends webhooks, in registry order; those named in `oauth` take
    the seed's OAuth settings."""
    return [_driver(i, p, p.name in oauth) for i, p in enumerate(webhook_providers())]
