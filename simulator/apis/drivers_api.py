"""The drivers control API (seed 002): response bodies fleetsim serves as its own control plane.

Not a webhook sender, so not a `Provider`: a `SchemaFamily` in APIS, so its response bodies can be validated and
generated like any provider's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from ..core import ids
from ..providers.base import KindSpec, SchemaFamily
from ..providers.registry import register_api

_KINDS = {
    "list": "GET /drivers: {data: [Driver], links, meta}",
    "names": "GET /drivers/names: {data: [{name, slug}]}",
    "show": "GET /drivers/{id}: {data: Driver}",
    "settings": "GET|PUT /drivers/{id}/settings: {data: Settings}",
    "send_test_event": "POST /drivers/{id}/send-test-event: {data: {success, checks}}",
    "error": '{"error": "Not found"}',
}


_DRIVERS = (
    ("mettax", "MettaX", ("gps", "alarm", "device_info", "rfid", "face_check_result")),
    ("smartgps", "SmartGPS", ("SPEEDING", "HARSH_BRAKE", "GEOFENCE_EXIT", "SOS")),
    ("samsara", "Samsara", ("Alert", "AlertIncident", "Ping")),
    ("powunity", "PowUnity BikeTrax", ("alarm", "deviceOnline", "deviceOffline", "geofenceExit")),
)
_DESCRIPTIONS = {
    "mettax": "MettaX IotHub device pushes: GPS, alarms, device status, RFID and face checks.",
    "smartgps": "SmartGPS event webhook for trackers and vehicles.",
    "samsara": "Samsara alert webhooks (1.0 and 2.0), signed with the webhook secret.",
    "powunity": "PowUnity BikeTrax event webhook for e-bike trackers.",
}
#: send-test-event checks in order, with the seed's words when they pass (seed 002) and ours when they fail [I];
#: the checks after a failed one are skipped with a null message, as in the seed's 400 example
_CHECKS = (
    ("valid_url", "URL é válida", "URL inválida"),
    ("https", "URL usa HTTPS", "URL deve usar HTTPS"),
    ("gzip", "Servidor aceita compressão gzip", "Servidor não aceita compressão gzip"),
    ("timeout", "Timeout adequado", "Servidor não respondeu dentro do tempo limite"),
    ("post_success", "POST retornou código 2xx", "POST retornou código 500"),
)


_SETTING_TYPES = {
    "custom_oauth_enabled": "boolean", "oauth_settings.redirect_url": "url",
    "oauth_settings.custom_oauth.client_id": "string", "oauth_settings.custom_oauth.client_secret": "string",
}


def _micro(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _laravel(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ordered_times(entry: dict[str, Any], rng: random.Random) -> None:
    """created_at <= enabled_at / custom_oauth_enabled_at <= updated_at; a *_at is null while the flag is off."""
    if not isinstance(entry.get("created_at"), str):
        return
    created = _micro(entry["created_at"])
    latest = created
    for flag, stamp in (("enabled", "enabled_at"), ("custom_oauth_enabled", "custom_oauth_enabled_at")):
        if stamp in entry:
            if entry.get(flag) is False:
                entry[stamp] = None
            else:
                at = created + rng.uniform(60, 30 * 86400)
                entry[stamp] = _laravel(at)
                latest = max(latest, at)
    if "updated_at" in entry:
        entry["updated_at"] = _laravel(latest + rng.uniform(0, 90 * 86400))


@register_api
class DriversApi(SchemaFamily):
    name = "drivers_api"
    title = "drivers control API responses (served)"
    transport = "rest-api (served)"
    kinds = {k: KindSpec(k, f"drivers_api/{k}.schema.json", s, channel="api") for k, s in _KINDS.items()}

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        # fleetsim's drivers are the providers it simulates: name, slug and events say so
        data = payload.get("data") if isinstance(payload, dict) else None
        entries = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for named in (entry, entry.get("driver")):
                if isinstance(named, dict) and "slug" in named:
                    slug, name, events = rng.choice(_DRIVERS)
                    named["slug"], named["name"] = slug, name
                    if "supported_events" in named:
                        named["supported_events"] = list(events)
                    if "description" in named:
                        named["description"] = _DESCRIPTIONS[slug]
                    oauth = entry.get("oauth_settings")
                    if named is entry.get("driver") and isinstance(oauth, dict) and "redirect_url" in oauth:
                        oauth["redirect_url"] = f"https://app.fleet.example/integrations/{slug}/oauth/callback"
            _ordered_times(entry, rng)
            available = entry.get("available_settings")
            if isinstance(available, dict):  # each setting's type is the type of that setting
                for path, rule in available.items():
                    if isinstance(rule, dict) and path in _SETTING_TYPES:
                        rule["type"] = _SETTING_TYPES[path]
            oauth = entry.get("oauth_settings")
            if isinstance(oauth, dict) and "custom_oauth_enabled" in entry:
                # the custom client exists exactly when custom OAuth is on (an empty PHP array otherwise)
                oauth["custom_oauth"] = {"client_id": ids.uuid4(rng), "client_secret": ids.hex_string(rng, 40)} \
                    if entry["custom_oauth_enabled"] else []
            if kind == "send_test_event" and isinstance(entry.get("checks"), dict):
                failed_at = rng.choice((None, None, None, 0, 1, 2, 3, 4))
                checks: dict[str, dict[str, str | None]] = {}
                for i, (name, passed, failed) in enumerate(_CHECKS):
                    if failed_at is None or i < failed_at:
                        checks[name] = {"result": "succeeded", "message": passed}
                    elif i == failed_at:
                        checks[name] = {"result": "failed", "message": failed}
                    else:
                        checks[name] = {"result": "skipped", "message": None}
                entry["checks"] = checks
                entry["success"] = failed_at is None
        if kind == "list" and isinstance(payload, dict) and isinstance(payload.get("meta"), dict):
            count = len(payload.get("data") or [])
            meta = payload["meta"]
            # one page holding everything generated; Laravel writes from/to as null for an empty page
            for key, value in (("from", 1 if count else None), ("to", count or None), ("total", count),
                               ("current_page", 1), ("last_page", 1)):
                if key in meta:
                    meta[key] = value
            links = payload.get("links")
            if isinstance(links, dict) and isinstance(meta.get("path"), str):
                first = f"{meta['path']}?page=1"
                links.update({"first": first, "last": first, "prev": None, "next": None})
        return payload
