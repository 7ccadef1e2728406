"""MettaX (iMettaX IotHub) device pushes: seed 003 and provider-facts §5.

The body carries one parameter `data` whose value is the message as a JSON *string*. Whether the outer
body is JSON or form-encoded is not documented, so it is a setting (`envelope: json | form`, default json).
No kind discriminator is sent: receivers tell kinds apart by their fields. Nothing is signed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from ...core import ids
from ...errors import UsageError
from ...schemastore import UNKNOWN_KIND, SchemaError
from ...signing import Secret
from ..base import DeliveryDefaults, Envelope, KindSpec, Provider
from ..registry import register
from .settings import SETTINGS

_KINDS = {
    "gps": "GPS fix (satellites, course, speed km/h)",
    "device_info": "status: ACC, power, odometer, GSM signal, voltage",
    "alarm": "alarm riding on a GPS packet (same id); alarmId joins its files",
    "passthrough": "serial pass-through frames com1/com2 as a JSON string",
    "alarm_file": "picture/video uploaded for an alarm (id = alarmId)",
    "sensor": "ADC sensor data",
    "capture_file": "file of a capture requested through the API",
    "face_check_result": "driver face comparison result (messageType 1)",
    "face_check_picture": "driver picture (messageType 2), either order with the result",
    "rfid": "RFID card swipe (status 1 enter / 2 exit)",
}
# Kinds whose `id` is "<deviceId>_<snowflake>" (it equals the GPS packet id the message rides on).
_GPS_LINKED = {"gps", "device_info", "alarm", "passthrough", "face_check_result", "face_check_picture", "rfid"}
#: alarm file type (seed 003: picture 00, audio 01, audio and video 02, text 03, others 04) -> extension [I]
_FILE_EXTENSIONS = {"00": "jpg", "01": "wav", "02": "mp4", "03": "txt", "04": "bin"}
#: plausible device time-zone offsets (hours): reportCt is device wall-clock time encoded as an epoch
_TZ_OFFSETS_H = (8, -3, 1, -6, 0, 2)
#: (field, kind), first match wins: how a message is recognised, since MettaX sends no kind field
MARKERS = (
    ("alarmType", "alarm"), ("alarmId", "alarm"), ("captureId", "capture_file"), ("fileUrl", "alarm_file"),
    ("rfidNo", "rfid"), ("adc", "sensor"), ("message", "passthrough"), ("num", "gps"),
    ("status", "rfid"),  # rfidNo is optional; face-check pictures also have status but are caught earlier
    ("actual", "device_info"),  # the remaining kind with `actual`: ACC, power, odometer...
)


#: what a MettaX message needs to be recognised at all (there is no kind field)
_KNOWN_KIND = "a message of a known MettaX kind (recognised by a field among {})".format(
    ", ".join(["messageType", *dict.fromkeys(field for field, _ in MARKERS)]))


def classify(message: Mapping[str, Any]) -> str | None:
    """The kind of a MettaX message by the field only that kind has; None for a message of no known kind.

    The one place kinds are told apart: the reference receiver and `schemas validate mettax envelope` both
    ask it, so they check a message against the same schema.
    """
    if "messageType" in message:  # driver face check: 1 = comparison result, 2 = picture
        return {"1": "face_check_result", "2": "face_check_picture"}.get(str(message["messageType"]))
    return next((kind for field, kind in MARKERS if field in message), None)


@register
class MettaX(Provider):
    name = "mettax"
    title = "MettaX IotHub device push"
    transport = "http"
    signing = "none"
    kinds = {k: KindSpec(k, f"mettax/{k}.schema.json", s) for k, s in _KINDS.items()}
    extra_schemas = {
        "envelope": KindSpec("envelope", "mettax/envelope.schema.json", '{"data": "<message as JSON string>"}')
    }
    delivery = DeliveryDefaults(success_statuses=None, retries="configurable", timeout_s=10.0)
    settings_schema = SETTINGS
    retry_default = ("none", "MettaX documents no retries")

    def device_ids(self, rng: random.Random, *, number: int, plate: str) -> dict[str, Any]:
        return {"device_id": ids.mettax_device_id(rng)}  # 12 digits

    def serialize(self, payload: Any) -> bytes:
        """Numbers as the platform writes them: a whole number without a fraction (`"speed":0`, seed 003's GPS
        sample; `"voltage":0` when the power is cut), a fractional one as is (`"odometer":7.3`). Python floats
        would come out as `0.0`. Messages are flat, so only top-level values need looking at.

        `serialize_reference`'s bytes (tests compare them). Hot path (every MettaX message, a third of
        bench-mixed's records): one pass that copies the payload only when it holds a whole float (a third of
        them, mostly a stopped vehicle's `speed`), instead of a dict comprehension over every key; 10.0k
        instructions a payload against 14.4k, over bench-mixed's MettaX payloads."""
        if isinstance(payload, dict):
            whole: dict[str, Any] | None = None
            for key, value in payload.items():
                if type(value) is float and value.is_integer():
                    if whole is None:
                        whole = dict.copy(payload)
                    whole[key] = int(value)
            if whole is not None:
                return orjson.dumps(whole)
        return orjson.dumps(payload)

    def serialize_reference(self, payload: Any) -> bytes:
        """The straightforward writer `serialize` must match: every top-level whole float made an int."""
        if isinstance(payload, dict):
            payload = {k: int(v) if type(v) is float and v.is_integer() else v for k, v in payload.items()}
        return orjson.dumps(payload)

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        if kind == "envelope":
            from ...schemagen.engine import generate

            inner_kind = rng.choice(sorted(self.kinds))
            inner = self.finish(inner_kind, generate(self.kinds[inner_kind].schema, rng).value, rng)
            return {"data": self.serialize(inner).decode()}
        if not isinstance(payload, dict):
            return payload
        device = payload.get("deviceId")
        if not isinstance(device, str) or not device.isdigit():
            device = ids.mettax_device_id(rng)
            payload["deviceId"] = device
        if kind in _GPS_LINKED and "id" in payload:
            payload["id"] = f"{device}_{ids.snowflake(rng)}"
        if isinstance(payload.get("deviceCt"), int) and "reportCt" in payload:
            payload["reportCt"] = payload["deviceCt"] + rng.choice(_TZ_OFFSETS_H) * 3600
        if kind == "face_check_result" and "compaResult" in payload and "similarity" in payload:
            matched = str(payload["compaResult"]) == "0"
            payload["similarity"] = rng.randint(7000, 9900) if matched else rng.randint(0, 6999)
        if kind == "device_info" and isinstance(payload.get("reportCt"), int) and "accUpdateTime" in payload:
            # the last ACC change happened before this report, on the same (device) clock
            payload["accUpdateTime"] = payload["reportCt"] - rng.randint(60, 8 * 3600)
        if kind == "alarm" and "alarmAttribute" in payload:
            # seed 003: a fence name for fence entry/exit, a storage id for a storage fault, a camera serial
            # for a lost video signal; other alarms carry none
            codes = set(str(payload.get("alarmType", "")).split(","))
            if not codes & {"inFence", "outFence"}:
                storage = codes & {"drStorageFault", "mainMemoryFault"}
                if storage:
                    payload["alarmAttribute"] = str(rng.randint(1, 2))
                elif "videoSignalLost" in codes:
                    payload["alarmAttribute"] = f"CH{rng.randint(1, 4)}"
                else:
                    del payload["alarmAttribute"]
        if kind == "face_check_picture" and str(payload.get("status")) == "0":
            payload.pop("imageUrl", None)  # no picture was taken
        for key in ("fileUrl", "imageUrl"):
            if isinstance(payload.get(key), str):
                ext = _FILE_EXTENSIONS.get(str(payload.get("fileType")), "jpg") if key == "fileUrl" else "jpg"
                payload[key] = payload[key].rsplit(".", 1)[0] + "." + ext
        # The vendor's samples come out in hash-map order, not declaration order: receivers must not care.
        items = list(payload.items())
        rng.shuffle(items)
        return dict(items)

    def inner_errors(self, kind: str, document: Any, *, documented: bool = False) -> list[SchemaError]:
        if kind != "envelope":
            return []
        from ..receiving import UnreadableData, vendor_errors
        from .receive import read_mettax_data

        try:
            message = read_mettax_data(self, document["data"])
        except UnreadableData as exc:
            return [SchemaError("/data", "a JSON object inside the string", exc.problem)]
        if message.kind is None:
            if documented:  # a kind to come: acknowledged and ignored (MAL-03), nothing to refuse
                return []
            found = message.document.get("messageType")
            actual = "an object with none of them" if found is None else f"messageType {found!r} (known: 1, 2)"
            return [SchemaError("/data", f"{_KNOWN_KIND} ({UNKNOWN_KIND})", actual)]
        errors = vendor_errors(self, message) if documented else message.errors
        return [SchemaError(f"/data(json:{message.kind}){e.path}", e.expected, e.actual) for e in errors]

    def credential_headers(self, settings: Mapping[str, Any]) -> dict[str, str]:
        # MettaX signs nothing; an optional static token header is all the authentication a receiver can have
        token = settings.get("token")
        if isinstance(token, Secret):  # as loaded from a scenario or settings file
            token = token.reveal().decode("utf-8")
        return {str(settings.get("token_header", "Authorization")): str(token)} if token else {}

    def envelope_text(self, text: str, *, settings: Mapping[str, Any]) -> Envelope | None:
        return self.envelope("envelope", {"data": text}, message_id="", settings=settings)

    def envelope(self, kind: str, payload: Any, *, message_id: str, settings: Mapping[str, Any]) -> Envelope:
        data = payload["data"] if kind == "envelope" else self.serialize(payload).decode()
        style = settings.get("envelope", "json")
        if style == "json":
            # hot path (every MettaX message): without a token, no credential_headers call and no merge
            if not settings.get("token"):
                return Envelope(orjson.dumps({"data": data}), {"Content-Type": "application/json"})
            return Envelope(orjson.dumps({"data": data}),
                            {"Content-Type": "application/json", **self.credential_headers(settings)})
        headers = self.credential_headers(settings)
        if style == "form":
            body = urlencode({"data": data}).encode()
            return Envelope(body, {"Content-Type": "application/x-www-form-urlencoded", **headers})
        raise UsageError(f"mettax setting envelope: expected 'json' or 'form', got {style!r}")
