"""A generic Standard Webhooks sender (standardwebhooks.com): for receivers of platforms that sign this way.

Headers `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>` come from the `standard-webhooks`
signing profile; the body is the payload structure the specification recommends ({type, timestamp, data}). The
specification's retry schedule applies, and `webhook-id` is the idempotency key.
"""

from __future__ import annotations

import random
from typing import Any

from ..base import DeliveryDefaults, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS


@register
class StandardWebhooks(Provider):
    name = "standard_webhooks"
    title = "generic Standard Webhooks sender"
    transport = "https"
    signing = "standard-webhooks"
    kinds = {"event": KindSpec("event", "standard_webhooks/event.schema.json", "{type, timestamp, data}")}
    delivery = DeliveryDefaults(success_statuses=None, retries="standard-webhooks schedule", timeout_s=15.0)
    settings_schema = SETTINGS
    retry_default = ("standard-webhooks", "the Standard Webhooks specification's schedule")
    replay_window_source = "the Standard Webhooks specification (5 minutes)"

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        # schema-driven documents get the event types fleetsim sends, not words drawn from the type pattern
        if isinstance(payload, dict) and "type" in payload:
            from .render import EVENT_TYPES

            payload["type"] = rng.choice(EVENT_TYPES)
        data = payload.get("data") if isinstance(payload, dict) else None
        vehicle = data.get("vehicle") if isinstance(data, dict) else None
        if isinstance(vehicle, dict) and "id" in vehicle:
            vehicle["id"] = f"vehicles/{rng.randint(1, 200)}"  # how fleetsim's renderer names a vehicle (group/n)
        return payload

