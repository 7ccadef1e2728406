"""A FastAPI webhook receiver for SmartGPS and Samsara, written the way an integrator would.

- SmartGPS: `X-SmartGPS-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (docs/provider-facts.md §4). No
  timestamp is signed and no event id is sent, so an event is known by vehicle, type and time.
- Samsara: `X-Samsara-Signature: v1=<hex HMAC-SHA256 of "v1:" + X-Samsara-Timestamp + ":" + raw body>`, keyed with
  the base64-DECODED secret (provider-facts §3.2); timestamps more than 300 s away are refused (replay window).
- The signature is checked over the raw bytes, before parsing; a bad one is 401, a body that is not JSON 400.
- Every event is recorded once, keyed on its id, in a database opened at startup (the ASGI lifespan); a duplicate
  is acknowledged with 200 and not processed again.
- Only POST is routed: FastAPI answers anything else 405 with `Allow: POST`.
- Before anything else: a body that is not `application/json` is 415, a compressed one 415 with
  `Accept-Encoding: identity`, one over 1 MiB 413 (MAL-04, TRN-04, LIM-01 of docs/conformance-catalogue.md).
- The URL with a trailing slash is served too: FastAPI's default redirect would count as a failed delivery (TRN-03).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request

SMARTGPS_SECRET = os.environ.get("SMARTGPS_SECRET", "fleetsim-demo-smartgps-secret").encode()
SAMSARA_KEY = base64.b64decode(os.environ.get("SAMSARA_SECRET", "ZmxlZXRzaW0tZGVtby1zYW1zYXJhLWtleQ=="))
TOLERANCE_S = 300


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE events (key TEXT PRIMARY KEY, body BLOB)")
    app.state.db = db
    yield
    db.close()


app = FastAPI(lifespan=lifespan, redirect_slashes=False)
MAX_BODY = 1024 * 1024


async def _body(request: Request) -> bytes:
    """The raw body, refused before it is read when it is not plain JSON or too large."""
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise HTTPException(415, "compressed bodies are not accepted", headers={"Accept-Encoding": "identity"})
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "application/json only")
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HTTPException(413, "body too large")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "body too large")
    return body


def _hex_hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    if not isinstance(doc, dict):
        raise HTTPException(400, "body is not a JSON object")
    return doc


def _record(request: Request, key: str, body: bytes) -> dict[str, str]:
    db: sqlite3.Connection = request.app.state.db
    inserted = db.execute("INSERT OR IGNORE INTO events VALUES (?, ?)", (key, body)).rowcount
    return {"status": "ok" if inserted else "duplicate"}


@app.post("/smartgps")
@app.post("/smartgps/")
async def smartgps(request: Request) -> dict[str, str]:
    body = await _body(request)
    given = request.headers.get("x-smartgps-signature", "")
    if not hmac.compare_digest(given.encode(), f"sha256={_hex_hmac(SMARTGPS_SECRET, body)}".encode()):
        raise HTTPException(401, "invalid signature")
    doc = _parse(body)
    key = "|".join(str(doc.get(field)) for field in ("objectId", "event", "timestamp"))
    return _record(request, f"smartgps:{key}", body)


@app.post("/samsara")
@app.post("/samsara/")
async def samsara(request: Request) -> dict[str, str]:
    body = await _body(request)
    timestamp = request.headers.get("x-samsara-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
        raise HTTPException(401, "missing or stale timestamp")
    expected = "v1=" + _hex_hmac(SAMSARA_KEY, b"v1:" + timestamp.encode() + b":" + body)
    if not hmac.compare_digest(request.headers.get("x-samsara-signature", "").encode(), expected.encode()):
        raise HTTPException(401, "invalid signature")
    doc = _parse(body)
    event_id = doc.get("eventId")
    if not isinstance(event_id, str) or not event_id:
        raise HTTPException(400, "eventId is missing")
    return _record(request, f"samsara:{event_id}", body)
