"""A FastAPI SmartGPS receiver with a classic mistake: it never verifies the signature (SIG-04 must fail)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request

app = FastAPI()
_seen: set[str] = set()


@app.post("/smartgps")
async def smartgps(request: Request) -> dict[str, str]:
    try:
        doc: Any = json.loads(await request.body())  # the X-SmartGPS-Signature header is never looked at
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    key = json.dumps([doc.get(f) for f in ("objectId", "event", "timestamp")]) if isinstance(doc, dict) else ""
    duplicate = key in _seen
    _seen.add(key)
    return {"status": "duplicate" if duplicate else "ok"}
