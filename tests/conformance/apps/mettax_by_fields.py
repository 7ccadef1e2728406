"""A MettaX receiver that tells kinds apart by fields of its own choosing, as provider-facts §5 leaves open (GPS by
`course`, DeviceInfo by `acc` or `odometer`, an alarm by `alarmType`), and refuses a recognised message missing a
field the vendor marks required (400); a message of no kind it knows is acknowledged (MAL-03)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

REQUIRED = {"gps": ("actual", "lat", "lon", "deviceId"), "device_info": ("actual", "deviceId"),
            "alarm": ("alarmType", "deviceId")}


def kind_of(doc: dict[str, Any]) -> str | None:
    if "course" in doc:
        return "gps"
    if "acc" in doc or "odometer" in doc:
        return "device_info"
    if "alarmType" in doc:
        return "alarm"
    return None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    def answer(status: str, text: str) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"message": text}).encode()]

    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST")])
        return [b""]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            data = parse_qs(body.decode())["data"][0]
        else:
            data = json.loads(body)["data"]
        doc = json.loads(data)
    except (ValueError, KeyError, TypeError):
        return answer("400 Bad Request", "not a MettaX push")
    if not isinstance(doc, dict):
        return answer("400 Bad Request", "data is not an object")
    kind = kind_of(doc)
    missing = [f for f in REQUIRED.get(kind or "", ()) if f not in doc]
    if missing:
        return answer("400 Bad Request", f"{kind} without {', '.join(missing)}")
    return answer("200 OK", "ok")
