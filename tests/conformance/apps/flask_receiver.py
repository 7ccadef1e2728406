"""A Flask webhook receiver for SmartGPS and Samsara, written the way an integrator would (WSGI).

The same rules as fastapi_receiver.py: SmartGPS `sha256=<hex HMAC-SHA256 of the raw body>` (docs/provider-facts.md
§4); Samsara `v1=<hex HMAC-SHA256 of "v1:" + timestamp + ":" + raw body>` with the base64-decoded key and a 300 s
window (§3.2); signature before parsing (401), JSON errors 400, each event recorded once (a duplicate is 200),
POST only (Flask answers 405 with `Allow`); JSON only (415), no compressed bodies (415 with `Accept-Encoding`),
at most 1 MiB (413); the URL with a trailing slash served too, never redirected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from typing import Any

from flask import Flask, Response, abort, request

SMARTGPS_SECRET = os.environ.get("SMARTGPS_SECRET", "fleetsim-demo-smartgps-secret").encode()
SAMSARA_KEY = base64.b64decode(os.environ.get("SAMSARA_SECRET", "ZmxlZXRzaW0tZGVtby1zYW1zYXJhLWtleQ=="))
TOLERANCE_S = 300

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # Flask answers 413 past it
_seen: set[str] = set()
_lock = threading.Lock()  # WSGI servers call the app from several threads


def _hex_hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _body() -> bytes:
    """The raw body, refused when it is not plain JSON (too large: Flask's 413)."""
    if request.headers.get("Content-Encoding", "identity").lower() != "identity":
        abort(Response("compressed bodies are not accepted", 415, {"Accept-Encoding": "identity"}))
    if request.mimetype != "application/json":
        abort(415, "application/json only")
    return request.get_data()


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        abort(400, "body is not JSON")
    if not isinstance(doc, dict):
        abort(400, "body is not a JSON object")
    return doc


def _record(key: str) -> dict[str, str]:
    with _lock:
        duplicate = key in _seen
        _seen.add(key)
    return {"status": "duplicate" if duplicate else "ok"}


@app.post("/smartgps", strict_slashes=False)
def smartgps() -> dict[str, str]:
    body = _body()
    expected = f"sha256={_hex_hmac(SMARTGPS_SECRET, body)}"
    if not hmac.compare_digest(request.headers.get("X-SmartGPS-Signature", "").encode(), expected.encode()):
        abort(401, "invalid signature")
    doc = _parse(body)
    return _record("smartgps:" + "|".join(str(doc.get(f)) for f in ("objectId", "event", "timestamp")))


@app.post("/samsara", strict_slashes=False)
def samsara() -> dict[str, str]:
    body = _body()
    timestamp = request.headers.get("X-Samsara-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
        abort(401, "missing or stale timestamp")
    expected = "v1=" + _hex_hmac(SAMSARA_KEY, b"v1:" + timestamp.encode() + b":" + body)
    if not hmac.compare_digest(request.headers.get("X-Samsara-Signature", "").encode(), expected.encode()):
        abort(401, "invalid signature")
    event_id = _parse(body).get("eventId")
    if not isinstance(event_id, str) or not event_id:
        abort(400, "eventId is missing")
    return _record(f"samsara:{event_id}")
