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


@dataclass
class ReplayResult:
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        return self.sent > 0 and self.outcomes.get("2xx", 0) == self.sent

    def render(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        lines = [f"replayed {self.sent} requests: {parts or 'nothing'}"]
        lines += [f"  {f}" for f in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more")
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
    requests = list(read_capture(capture))  # validates the whole file before anything is sent
    result = ReplayResult()
    semaphore = asyncio.Semaphore(concurrency)
    settings = settings or {}

    async with HttpTransport(concurrency=concurrency, verify=verify_tls) as transport:

        async def send(request: CapturedRequest) -> None:
            headers = resigned_headers(request, settings, int(time.time())) if resign else request.headers
            async with semaphore:
                response = await transport.post(retarget(request.url, target), request.body,
                                                _drop_redacted(headers), deadline_s=timeout_s)
            result.sent += 1
            result.outcomes[response.outcome] += 1
            if response.outcome != "2xx":
                detail = response.error or f"HTTP {response.status}"
                result.failures.append(f"line {request.line} ({request.event_id} {request.copy}): {detail}")

        await asyncio.gather(*(send(r) for r in requests))
    return result


def _drop_redacted(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {k: v for k, v in headers if v != REDACTED}
