"""Webhooks of the emulated SmartGPS: each event it records, POSTed to the smartgps settings' `url` when one is set,
enveloped and signed by the provider unit exactly as `fleetsim run` sends them (X-SmartGPS-Signature,
provider-facts §4), through the delivery engine's sender. One attempt each, in order: SmartGPS documents no
retries (the provider's retry default). The I/O edge: it reads the wall clock for the signing timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...delivery.sending import Sender
from ...providers import PROVIDERS
from ...signing import SIGNERS, Secret

__all__ = ["Delivered", "Webhooks"]

#: payloads waiting beyond this are dropped (counted): a receiver that cannot keep up must not grow memory
QUEUE_LIMIT = 10_000


@dataclass(frozen=True)
class Delivered:
    event: str
    object_id: str
    status: int | None
    outcome: str


class Webhooks:
    def __init__(self, provider: str, settings: Mapping[str, Any], sender: Sender | None) -> None:
        self.provider = PROVIDERS[provider]
        self.settings = settings
        url = settings.get("url")
        self.url = url if isinstance(url, str) and sender is not None else None
        secret = settings.get("secret")
        self._secrets = [secret] if isinstance(secret, Secret) else []
        self._sender = sender
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self.delivered: list[Delivered] = []
        self.dropped = 0
        self._sent = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.url is not None:
            self.task = asyncio.create_task(self._run(), name="fleetsim-serve-smartgps-webhooks")

    def push(self, payload: dict[str, Any]) -> None:
        if self.url is None:
            return
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        assert self._sender is not None and self.url is not None
        while True:
            payload = await self._queue.get()
            self._sent += 1
            message_id = f"smartgps-serve-{self._sent:08d}"
            env = self.provider.envelope("event", payload, message_id=message_id, settings=self.settings)
            headers = dict(env.headers)
            if self._secrets:
                signer = SIGNERS[self.provider.signing]
                headers.update(signer.sign(env.body, self._secrets, timestamp=int(time.time()),
                                           message_id=message_id))
            timeout = self.provider.delivery.timeout_s or 10.0
            response = await self._sender.post(self.url, env.body, headers, deadline_s=timeout)
            self.delivered.append(Delivered(str(payload.get("event")), str(payload.get("objectId")),
                                            response.status, response.outcome))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
