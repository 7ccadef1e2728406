"""SmartGPS event webhooks: seed 000 and provider-facts §4.

Signed with `X-SmartGPS-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. Only one (mock) source
shows the scheme, so header, prefix and retry behaviour are settings; these defaults follow that source.
"""

from __future__ import annotations

import random
from typing import Any

from ...core import ids
from ..base import DeliveryDefaults, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS

_CRITICAL = {"SOS", "ACCIDENT", "POWER_CUT", "TAMPER", "BLOCKED"}
_INFO = {"IGNITION_ON", "IGNITION_OFF", "GEOFENCE_ENTER", "GEOFENCE_EXIT", "DRIVER_CHANGE", "OFFLINE"}
_LIMITS_KMH = (40, 50, 60, 80, 90, 110)


@register
class SmartGPS(Provider):
    name = "smartgps"
    title = "SmartGPS signed event webhook"
    transport = "https"
    signing = "smartgps"
    kinds = {"event": KindSpec("event", "smartgps/event.schema.json", "one of the 20 event types")}
    delivery = DeliveryDefaults(success_statuses=None, retries="configurable", timeout_s=10.0)
    settings_schema = SETTINGS
    # its `plate` pattern is ABC-1234 | ABC1D23 and the only vendor material (provider-facts §4, an integrator
    # page from Belo Horizonte) shows nothing else: its devices keep Brazilian plates in any city
    plate_format = "br"
    retry_default = ("none", "SmartGPS documents no retries")

    def device_ids(self, rng: random.Random, *, number: int, plate: str) -> dict[str, Any]:
        # SmartGPS object ids are the vehicle's plate behind an SGO- prefix (SGO-ABC1234)
        return {"object_id": "SGO-" + "".join(c for c in plate if c.isascii() and c.isalnum())}

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if not isinstance(payload, dict) or "event" not in payload:
            return payload
        event = payload["event"]
        if "objectId" in payload:
            # SmartGPS object ids are the vehicle's plate behind an SGO- prefix (SGO-ABC1234)
            plate = payload.get("plate") if isinstance(payload.get("plate"), str) else ids.plate_br(rng)
            payload["objectId"] = "SGO-" + str(plate).replace("-", "")
        if "severity" in payload:
            payload["severity"] = "CRITICAL" if event in _CRITICAL else "INFO" if event in _INFO else "WARNING"
        if event == "SPEEDING":
            limit = rng.choice(_LIMITS_KMH)
            payload["limit"] = limit
            payload["speed"] = limit + rng.randint(5, 35)
        else:
            payload.pop("limit", None)  # a speed limit only comes with a speeding event
            if event in ("IGNITION_OFF", "BLOCKED", "OFFLINE") and "speed" in payload:
                payload["speed"] = 0
            elif isinstance(payload.get("speed"), float):
                payload["speed"] = round(payload["speed"])  # whole km/h, as the source's sample writes them
        return payload
