"""The sample project's receiver before its signature check was written: every body is accepted."""

from __future__ import annotations

import json

from fastapi import FastAPI, HTTPException, Request

app = FastAPI()


@app.post("/smartgps")
async def smartgps(request: Request) -> dict[str, str]:
    try:
        json.loads(await request.body())
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    return {"status": "ok"}
