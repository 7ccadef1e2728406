"""The sample project's SmartGPS webhook receiver (FastAPI): `X-SmartGPS-Signature: sha256=<hex HMAC-SHA256 of
the raw body>` checked before parsing (401), JSON errors 400, each event (vehicle, type, time) processed once.
JSON only (415), no compressed bodies (415 with Accept-Encoding), at most 1 MiB (413), and the URL with a
trailing slash served too (a redirect counts as a failed delivery)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from fastapi import FastAPI, HTTPException, Request

SECRET = os.environ.get("SMARTGPS_SECRET", "fleetsim-demo-smartgps-secret").encode()

app = FastAPI(redirect_slashes=False)
seen: set[str] = set()
MAX_BODY = 1024 * 1024


@app.post("/smartgps")
@app.post("/smartgps/")
async def smartgps(request: Request) -> dict[str, str]:
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise HTTPException(415, "compressed bodies are not accepted", headers={"Accept-Encoding": "identity"})
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "application/json only")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "body too large")
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(request.headers.get("x-smartgps-signature", "").encode(), expected.encode()):
        raise HTTPException(401, "invalid signature")
    try:
        doc = json.loads(body)
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    if not isinstance(doc, dict):
        raise HTTPException(400, "body is not a JSON object")
    key = "|".join(str(doc.get(field)) for field in ("objectId", "event", "timestamp"))
    duplicate = key in seen
    seen.add(key)
    return {"status": "duplicate" if duplicate else "ok"}
