"""`fleetsim replay`: re-send a capture, byte for byte or re-signed with fresh timestamps."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..providers import PROVIDERS
from ..signing import SIGNERS, Secret
from .capture import REDACTED, CapturedRequest, read_capture, retarget
from .transport import HttpTransport

FAILURES_KEPT = 20


@dataclass
class ReplayResult:
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # the first FAILURES_KEPT, one line each
    failures_more: int = 0

    @property
    def all_ok(self) -> bool:
        return self.sent > 0 and self.outcomes.get("2xx", 0) == self.sent

    def render(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        lines = [f"replayed {self.sent} requests: {parts or 'nothing'}"]
        lines += [f"  {f}" for f in self.failures]
        if self.failures_more:
            lines.append(f"  ... and {self.failures_more} more")
        return "\n".join(lines)


def resigned_headers(
    request: CapturedRequest, settings: Mapping[str, Mapping[str, Any]], now: int
) -> list[tuple[str, str]]:
    """The request's headers with its provider's signature headers recomputed at `now`."""
    provider = PROVIDERS.get(request.provider)
    if provider is None:
        return request.headers
    signer = SIGNERS[provider.signing]
    secret = settings.get(request.provider, {}).get("secret")
    secrets = [secret] if isinstance(secret, Secret) else []
    if not secrets and signer.name != "none":
        return request.headers
    fresh = signer.sign(request.body, secrets, timestamp=now, message_id=request.event_id or "replay")
    replaced = {name.lower() for name in fresh}
    kept = [(k, v) for k, v in request.headers if k.lower() not in replaced]
    return kept + list(fresh.items())


async def replay(capture: str | Path, target: str, *, resign: bool = False,
                 settings: Mapping[str, Mapping[str, Any]] | None = None, concurrency: int = 8,
                 timeout_s: float = 10.0, verify_tls: bool = True) -> ReplayResult:
    """Send every request of `capture` to `target`. The file is read twice, streaming: once to reject a
    malformed capture before anything is sent, once to send — memory stays flat however large it is."""
    for _ in read_capture(capture):
        pass
    result = ReplayResult()
    settings = settings or {}
    queue: asyncio.Queue[CapturedRequest | None] = asyncio.Queue(maxsize=concurrency * 4)

    async with HttpTransport(concurrency=concurrency, verify=verify_tls) as transport:

        async def worker() -> None:
            while (request := await queue.get()) is not None:
                headers = resigned_headers(request, settings, int(time.time())) if resign else request.headers
                response = await transport.post(retarget(request.url, target), request.body,
                                                _drop_redacted(headers), deadline_s=timeout_s)
                result.sent += 1
                result.outcomes[response.outcome] += 1
                if response.outcome != "2xx" and len(result.failures) >= FAILURES_KEPT:
                    result.failures_more += 1
                elif response.outcome != "2xx":
                    detail = response.error or f"HTTP {response.status}"
                    result.failures.append(f"line {request.line} ({request.event_id} {request.copy}): {detail}")

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        for request in read_capture(capture):
            await queue.put(request)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    return result


def _drop_redacted(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {k: v for k, v in headers if v != REDACTED}
