"""The benchmark's baseline: a bare FastHttpUser posting one fixed body, nothing else (loadtests/bench.py runs it
side by side with fleetsim's users against the same null receiver)."""

from __future__ import annotations

from locust import FastHttpUser, task

BODY = b'{"eventId":"00000000-0000-4000-8000-000000000001","eventType":"Alert","event":{"details":"' + b"x" * 400 + \
    b'"}}'
HEADERS = {"Content-Type": "application/json"}


class BareUser(FastHttpUser):
    @task
    def post(self) -> None:
        self.client.post("/bare", data=BODY, headers=HEADERS)  # type: ignore[arg-type]  # bytes, like ours
