"""PowUnity BikeTrax (a Traccar 4.x build): seed 001 and provider-facts §1-§2. The renderer follows one Traccar
version exactly, setting `profile` (traccar-4.12, PowUnity's, by default, or traccar-6; see traccar.py); what
`finish` shapes here (schema-generated payloads) is always the 4.12 one.

Webhook: POST JSON `{event, position?, device}` in Traccar 4.x shapes (event `serverTime`, position
`type`/`outdated`, device `geofenceIds`), header `X-PowTxn`, and `Authorization: <webhookPsk>` when a PSK is
set. Success is 200 or 201 only and failed webhooks are never re-sent. Bodies are written the way Jackson
writes them (Java doubles, nulls included, declaration field order), see core/javajson.py.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from ...core import javajson
from ...schemagen.hints import traccar_time
from ...schemastore import load_schema
from ..base import DeliveryDefaults, Envelope, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS

# Declaration order of the Traccar 4.x models (base class fields first), provider-facts §1.3.
POSITION_ORDER = (
    "id", "attributes", "deviceId", "type", "protocol", "serverTime", "deviceTime", "fixTime", "outdated",
    "valid", "latitude", "longitude", "altitude", "speed", "course", "address", "accuracy", "network",
)
DEVICE_ORDER = (
    "id", "attributes", "groupId", "name", "uniqueId", "status", "lastUpdate", "positionId", "geofenceIds",
    "phone", "model", "contact", "category", "disabled",
)
EVENT_ORDER = ("id", "attributes", "deviceId", "type", "serverTime", "positionId", "geofenceId", "maintenanceId")
WEBHOOK_ORDER = ("event", "position", "device", "geofence", "maintenance")
STATUS_EVENTS = {"deviceOnline", "deviceOffline", "deviceUnknown", "deviceInactive"}
_FLOAT_FIELDS = ("latitude", "longitude", "altitude", "speed", "course", "accuracy")


def _ordered(obj: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {k: obj[k] for k in order if k in obj}
    return {**known, **{k: v for k, v in obj.items() if k not in known}}


_EVENT_TEXT = {
    "ignitionOn": "ignition ON", "ignitionOff": "ignition OFF", "deviceMoving": "is moving",
    "deviceStopped": "has stopped", "deviceOnline": "is online", "deviceOffline": "is offline",
    "deviceUnknown": "status is unknown", "alarm": "alarm", "deviceOverspeed": "exceeds the speed",
    "geofenceEnter": "has entered geofence", "geofenceExit": "has exited geofence", "commandResult": "command result",
}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("+0000", "+00:00")).timestamp() * 1000)


def _coherent_times(pos: dict[str, Any], rng: random.Random) -> None:
    """One fix: fixTime is the device time, and the server stores it a moment later (Traccar's order)."""
    device_time = pos.get("deviceTime")
    if isinstance(device_time, str):
        pos["fixTime"] = device_time
        pos["serverTime"] = traccar_time(_ms(device_time) + rng.randint(300, 4000))


def _coherent_event(event: dict[str, Any]) -> None:
    """Traccar 4.12 writes geofenceId and maintenanceId on every event, 0 unless the event is about one."""
    event_type = event.get("type")
    if "geofenceId" in event and event_type not in ("geofenceEnter", "geofenceExit", "geofenceCrossed"):
        event["geofenceId"] = 0
    if "maintenanceId" in event and event_type != "maintenance":
        event["maintenanceId"] = 0


def _position(pos: dict[str, Any], device_id: int) -> dict[str, Any]:
    pos["deviceId"] = device_id
    for key in _FLOAT_FIELDS:  # Jackson writes these doubles as 12.0, never 12
        if isinstance(pos.get(key), int) and not isinstance(pos.get(key), bool):
            pos[key] = float(pos[key])
    return _ordered(pos, POSITION_ORDER)


@cache
def traccar_event_types() -> tuple[str, ...]:
    """The Traccar event types fleetsim's schema knows (what `webhook_types` may name)."""
    return tuple(load_schema("powunity/traccar.schema.json")["$defs"]["EventType"]["enum"])


def _event_type_problems(values: Mapping[str, Any], key: str) -> list[tuple[tuple[str | int, ...], str]]:
    types = values.get(key)
    if types is None or (key == "web_notifications" and types in ("all", "none")):
        return []
    from ...scenario.wording import clip, did_you_mean

    items = [t.strip() for t in types.split(",")] if isinstance(types, str) else list(types)
    known = traccar_event_types()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item not in known:
            where: tuple[str | int, ...] = (key,) if isinstance(types, str) else (key, i)
            problems.append((where, f"unknown Traccar event type {clip(repr(item), 40)}"
                                    f"{did_you_mean(item, known)} (known: {', '.join(known)})"))
    return problems


def _account_problems(accounts: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Two accounts with one email (Traccar's unique `email` column, compared without case) or one token cannot
    both log in. Names the field and the earlier account, never a token's value."""
    if not isinstance(accounts, list):
        return []
    problems: list[tuple[tuple[str | int, ...], str]] = []
    emails: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for i, account in enumerate(accounts):
        if not isinstance(account, dict):
            continue
        email, token = account.get("email"), account.get("token")
        if isinstance(email, str):
            first = emails.setdefault(email.strip().lower(), i)
            if first != i:
                problems.append((("accounts", i, "email"), f"the same email as accounts[{first}]: each account "
                                                           "needs its own"))
        if isinstance(token, str):
            first = tokens.setdefault(token, i)
            if first != i:
                problems.append((("accounts", i, "token"), f"the same token as accounts[{first}]: each account "
                                                           "needs its own"))
    return problems


@register
class PowUnity(Provider):
    name = "powunity"
    title = "PowUnity BikeTrax (Traccar 4.x) webhook + WebSocket"
    transport = "https + websocket"
    signing = "powunity"
    kinds = {
        "webhook": KindSpec("webhook", "powunity/webhook.schema.json", "{event, position?, device} per event"),
        "socket_frame": KindSpec(
            "socket_frame",
            "powunity/socket_frame.schema.json",
            "/api/socket frame: positions|devices|events|{}",
            channel="websocket",
        ),
    }
    delivery = DeliveryDefaults(success_statuses=frozenset({200, 201}), retries="none", timeout_s=5.0)
    settings_schema = SETTINGS
    retry_default = ("none", "PowUnity never re-sends a webhook (provider-facts §2)")

    def fresh_id_settings(self, seed: int) -> dict[str, Any]:
        # Traccar's ids are sequences, not drawn from the seed: each seed's run starts its own 2^30 block (2^22
        # blocks, all below 2^53 so a JavaScript receiver reads them exactly)
        return {"id_base": (seed % (1 << 22)) << 30}

    def check_settings(self, values: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        problems = _event_type_problems(values, "webhook_types")
        problems += _event_type_problems(values, "web_notifications")
        problems += _account_problems(values.get("accounts"))
        return problems

    def device_ids(self, rng: random.Random, *, number: int, plate: str) -> dict[str, Any]:
        return {"traccar_id": number}  # Traccar's database id of the device

    #: Traccar JSON (core/javajson.py) itself, not a method calling it: one Python call less per record, and
    #: PowUnity's frames are three records in four of bench-mixed
    serialize = staticmethod(javajson.dumps)

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if not isinstance(payload, dict):
            return payload
        if kind == "webhook":
            return self._finish_webhook(payload, rng)
        for key, order in (("positions", POSITION_ORDER), ("devices", DEVICE_ORDER), ("events", EVENT_ORDER)):
            if isinstance(payload.get(key), list):
                items = [i for i in payload[key] if isinstance(i, dict)]
                for item in items:
                    if key == "positions":
                        _coherent_times(item, rng)
                    elif key == "events":
                        _coherent_event(item)
                        attributes = item.get("attributes")
                        if isinstance(attributes, dict) and "message" in attributes:
                            when = str(item.get("serverTime", ""))[:19].replace("T", " ")
                            what = _EVENT_TEXT.get(str(item.get("type")), str(item.get("type")))
                            attributes["message"] = f"Bike {item.get('deviceId', 1)} {what} at {when}"
                if key == "positions":
                    payload[key] = [_position(i, int(i.get("deviceId", 1))) for i in items]
                else:
                    payload[key] = [_ordered(i, order) for i in items]
        return payload

    def _finish_webhook(self, payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        event, device = payload.get("event"), payload.get("device")
        if not isinstance(event, dict) or not isinstance(device, dict):
            return payload
        device_id = device.get("id", 1)
        event["deviceId"] = device_id
        _coherent_event(event)
        position = payload.get("position")
        if isinstance(position, dict):
            _coherent_times(position, rng)
            if "lastUpdate" in device:  # the device was last heard from with this position
                device["lastUpdate"] = position.get("serverTime", device["lastUpdate"])
        elif isinstance(event.get("serverTime"), str) and "lastUpdate" in device:
            device["lastUpdate"] = event["serverTime"]
        if event.get("type") in STATUS_EVENTS:
            # status events carry no position (Traccar EventData omits it)
            payload.pop("position", None)
            event["positionId"] = 0
        elif isinstance(position, dict):
            payload["position"] = position = _position(position, device_id)
            event["positionId"] = position.get("id", 0)
            device["positionId"] = position.get("id", 0)
            if "serverTime" in position and "serverTime" in event:
                event["serverTime"] = position["serverTime"]
            alarm = event.get("attributes", {}).get("alarm") if isinstance(event.get("attributes"), dict) else None
            if event.get("type") == "alarm" and alarm and isinstance(position.get("attributes"), dict):
                position["attributes"]["alarm"] = alarm
        payload["event"] = _ordered(event, EVENT_ORDER)
        payload["device"] = _ordered(device, DEVICE_ORDER)
        return _ordered(payload, WEBHOOK_ORDER)

    def envelope(self, kind: str, payload: Any, *, message_id: str, settings: Mapping[str, Any]) -> Envelope:
        return Envelope(self.serialize(payload), {"Content-Type": "application/json", "X-PowTxn": message_id})
