"""The drivers control API (seed 002): response bodies fleetsim serves as its own control plane.

Not a webhook sender: it is listed so its schemas can be validated and generated like any other.
"""

from __future__ import annotations

import random
from typing import Any

from .base import DeliveryDefaults, KindSpec, Provider
from .registry import register

_KINDS = {
    "list": "GET /drivers: {data: [Driver], links, meta}",
    "names": "GET /drivers/names: {data: [{name, slug}]}",
    "show": "GET /drivers/{id}: {data: Driver}",
    "settings": "GET|PUT /drivers/{id}/settings: {data: Settings}",
    "send_test_event": "POST /drivers/{id}/send-test-event: {data: {success, checks}}",
    "error": '{"error": "Not found"}',
}


@register
class DriversApi(Provider):
    name = "drivers_api"
    title = "drivers control API responses (served)"
    transport = "rest-api (served)"
    signing = "none"
    kinds = {k: KindSpec(k, f"drivers_api/{k}.schema.json", s) for k, s in _KINDS.items()}
    delivery = DeliveryDefaults(success_statuses=None, retries="none", timeout_s=10.0)

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if kind == "list" and isinstance(payload, dict) and isinstance(payload.get("meta"), dict):
            count = len(payload.get("data") or [])
            meta = payload["meta"]
            for key, value in (("from", 1 if count else None), ("to", count), ("total", count),
                               ("current_page", 1), ("last_page", 1)):
                if key in meta:
                    meta[key] = value
        return payload
