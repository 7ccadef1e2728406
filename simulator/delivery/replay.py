"""`fleetsim replay`: re-send a capture, byte for byte or re-signed with fresh timestamps.

The same rules as `fleetsim run` (docs/delivery.md): the target is checked before anything is sent; the
capture is read twice, streaming (once to reject a malformed file before anything is sent, once to send), so
memory stays flat; Ctrl-C/SIGTERM stops reading at once and gives requests in flight `grace_s` (a second
signal cancels them; one cancelled in flight counts as sent, outcome `cancelled`: the target may have it); a
target that answers nothing is marked down after `down_after` attempts and the rest of the capture is counted
as skipped, not sent. Every line ends sent or skipped with a reason.

Captures hold no credentials: a header redacted at capture time is dropped when replaying byte for byte
(sending "<redacted>" would only earn a 401), and the result says that `--resign` with the settings file
restores it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import FleetsimError, HarnessError, InputError
from ..providers import PROVIDERS, Provider
from ..signing import SIGNERS, Secret
from .capture import REDACTED, CapturedRequest, masked_query_names, read_capture, retarget
from .health import DOWN_AFTER, EndpointHealth
from .model import CANCELLED
from .redaction import Redactor
from .sending import Sender, trusting_sender
from .urls import check_url, check_url_credentials

FAILURES_KEPT = 20


@dataclass
class ReplayResult:
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> requests never sent
    failures: list[str] = field(default_factory=list)  # the first FAILURES_KEPT, one line each
    failures_more: int = 0
    redacted_dropped: Counter[str] = field(default_factory=Counter)  # header name -> requests sent without it
    interrupted: bool = False
    down_detail: str = ""

    @property
    def all_ok(self) -> bool:
        return self.sent > 0 and self.outcomes.get("2xx", 0) == self.sent and not self.skipped

    def render(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        lines = [f"replayed {self.sent} requests: {parts or 'nothing'}"]
        if self.skipped:
            lines.append("not sent: " + ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items())))
        if self.down_detail:
            lines.append(f"target stopped (endpoint_down): {self.down_detail}")
        lines += [f"  {f}" for f in self.failures]
        if self.outcomes.get(CANCELLED):
            lines.append(f"note: {self.outcomes[CANCELLED]} requests were cancelled in flight with no answer when "
                         "the replay stopped: the target may have received them")
        if self.failures_more:
            lines.append(f"  ... and {self.failures_more} more")
        for name, n in sorted(self.redacted_dropped.items()):
            lines.append(f"note: {n} requests had {name} redacted in the capture and were sent without it; "
                         "replay with --resign --settings FILE to send the configured credentials")
        return "\n".join(lines)


def resigned_headers(
    request: CapturedRequest, settings: Mapping[str, Mapping[str, Any]], now: int
) -> list[tuple[str, str]]:
    """The request's headers with its provider's signature and credential headers recomputed at `now`."""
    provider = PROVIDERS.get(request.provider)
    if provider is None:
        return request.headers
    fresh = _fresh_headers(provider, settings.get(request.provider, {}), request, now)
    if not fresh:
        return request.headers
    replaced = {name.lower() for name in fresh}
    kept = [(k, v) for k, v in request.headers if k.lower() not in replaced]
    return kept + list(fresh.items())


def _fresh_headers(provider: Provider, own: Mapping[str, Any], request: CapturedRequest, now: int) -> dict[str, str]:
    """What `provider` sends anew for `request` under its settings `own`: its credential headers, and its
    signature when it can make one (`_signing_secrets`)."""
    fresh = dict(provider.credential_headers(own))
    secrets = _signing_secrets(provider, own)
    if secrets is not None:
        fresh.update(SIGNERS[provider.signing].sign(request.body, secrets, timestamp=now,
                                                    message_id=request.event_id or "replay"))
    return fresh


def _signing_secrets(provider: Provider, own: Mapping[str, Any]) -> list[Secret] | None:
    """The secrets `provider` signs with under its settings `own` (none for a provider that signs nothing); None
    when it signs and `own` holds no secret: then no signature can be made."""
    secret = own.get("secret")
    if isinstance(secret, Secret):
        return [secret]
    return [] if SIGNERS[provider.signing].name == "none" else None


class Replayer:
    """One replay of one capture. `stop()` is what SIGINT/SIGTERM call."""

    def __init__(self, capture: str | Path, target: str, *, resign: bool = False,
                 settings: Mapping[str, Mapping[str, Any]] | None = None, concurrency: int = 8,
                 timeout_s: float = 10.0, verify_tls: bool = True, down_after: int = DOWN_AFTER,
                 grace_s: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.capture = capture
        self.target = check_url(target, "--target")
        self.resign = resign
        self.settings = settings or {}
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.verify_tls = verify_tls
        self.ssl_context = ssl_context  # whom to trust (--ca-bundle); None: the system's CAs
        self.grace_s = grace_s
        self.health = EndpointHealth(down_after=down_after)
        self.redactor = Redactor.from_settings(self.settings, [self.target])
        self.result = ReplayResult()
        self._signals = 0
        self._stop = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._fatal: Exception | None = None
        self._in_flight = 0
        self._capture_checked = False
        self._given: dict[str, str] = {}  # provider -> its url setting's query (`_given_query`)

    def stop(self) -> None:
        self._signals += 1
        self.result.interrupted = True
        self._stop.set()
        if self._signals > 1:
            for worker in self._workers:
                worker.cancel()

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set() or self.health.stopped

    def check_capture(self) -> None:
        """Read the whole capture once: a malformed or empty one is an error (exit 2) before anything is sent (an
        empty file is the wrong file, or a run that captured nothing: "replayed 0 requests" would hide that).
        So is a --target with credentials (sent as Authorization: Basic) for requests that carry an
        Authorization header of their own (docs/delivery.md, "Secrets")."""
        if self._capture_checked:
            return
        parts = urlsplit(self.target)
        credentials = parts.username is not None or parts.password is not None
        count = 0
        for request in read_capture(self.capture):
            count += 1
            missing = masked_query_names(request.url, self._given_query(request.provider))
            if missing:
                names = ", ".join(repr(name) for name in missing)
                example = "&".join(f"{name}=VALUE" for name in missing)
                path = urlsplit(request.url).path or "/"
                raise InputError(f"{self.capture}:{request.line}", f"url: the query's {names} was masked when "
                                 f"captured (a secret is never written down); give it in the {request.provider} "
                                 f"url of --settings FILE (providers: {{{request.provider}: {{url: "
                                 f"'{path}?{example}'}}}})")
            if self.resign:
                self._check_resignable(request)
            if credentials:
                sent = {name.lower() for name, value in self._headers(request, 0) if value != REDACTED}
                check_url_credentials(self.target, "--target", f"{request.provider} (capture line {request.line})",
                                      sent, settings_url=False)
        if not count:
            raise InputError(str(self.capture), "the capture holds no requests (expected one JSON object per "
                             "line, as `fleetsim run --capture FILE` writes)")
        self._capture_checked = True

    def _check_resignable(self, request: CapturedRequest) -> None:
        """--resign signs each request with its provider's scheme and the settings' secret: a line naming no known
        provider, or a provider whose secret the settings lack, would go out with its old signature and come back
        a 401 that reads as the receiver's fault."""
        where = f"{self.capture}:{request.line}"
        unit = PROVIDERS.get(request.provider)
        if unit is None:
            raise InputError(where, f"provider: unknown provider {request.provider!r} (known: "
                             f"{', '.join(sorted(PROVIDERS))}); --resign signs with the provider's own scheme")
        own = self.settings.get(request.provider, {})
        # what resigned_headers decides by: no signature and no credential header, the old ones would go out again
        if _signing_secrets(unit, own) is None and not unit.credential_headers(own):
            raise InputError(where, f"--resign: the settings have no {request.provider} secret to sign with (give "
                             f"--settings FILE with providers: {{{request.provider}: {{secret: ...}}}})")

    def _given_query(self, provider: str) -> str:
        """The query of `provider`'s url setting (a whole URL or a path): where masked query values come from.
        Read once per provider, not per request."""
        query = self._given.get(provider)
        if query is None:
            url = self.settings.get(provider, {}).get("url")
            query = self._given[provider] = urlsplit(url).query if isinstance(url, str) else ""
        return query

    def _headers(self, request: CapturedRequest, now: int) -> list[tuple[str, str]]:
        """What `request` is sent with (before redacted values are dropped): re-signed at `now` with --resign."""
        return resigned_headers(request, self.settings, now) if self.resign else request.headers

    async def run(self) -> ReplayResult:
        self.check_capture()
        queue: asyncio.Queue[CapturedRequest] = asyncio.Queue(maxsize=self.concurrency * 4)
        # the sender every run uses (FLEETSIM_TRANSPORT picks it), trusting --ca-bundle's CAs when verifying
        sender = trusting_sender(self.ssl_context if self.verify_tls else None)
        async with sender(self.concurrency, self.verify_tls) as transport:
            self._workers = [asyncio.create_task(self._work(transport, queue)) for _ in range(self.concurrency)]
            feeder = asyncio.create_task(self._feed(queue))
            stop = asyncio.create_task(self._stop.wait())
            try:
                await asyncio.wait({feeder, stop}, return_when=asyncio.FIRST_COMPLETED)
                if feeder.done():
                    feeder.result()
                    drained = asyncio.create_task(queue.join())
                    await asyncio.wait({drained, stop}, return_when=asyncio.FIRST_COMPLETED)
                    drained.cancel()
            finally:
                feeder.cancel()
                stop.cancel()
                await asyncio.gather(feeder, stop, return_exceptions=True)
                await self._shutdown(queue)
        if self._fatal is not None:
            if isinstance(self._fatal, FleetsimError) and not isinstance(self._fatal, HarnessError):
                raise self._fatal
            raise HarnessError(f"replay stopped by an internal error: {type(self._fatal).__name__}: {self._fatal}")
        if not self.result.interrupted and not self.health.stopped:
            return self.result
        # count what was never sent: the rest of the capture, streamed (nothing is held in memory)
        sent_or_queued = self.result.sent + sum(self.result.skipped.values())
        total = sum(1 for _ in read_capture(self.capture))
        reason = "interrupted" if self.result.interrupted else "endpoint_down"
        if total > sent_or_queued:
            self.result.skipped[reason] += total - sent_or_queued
        return self.result

    async def _feed(self, queue: asyncio.Queue[CapturedRequest]) -> None:
        for request in read_capture(self.capture):
            if self._stopping:
                return
            await queue.put(request)

    async def _shutdown(self, queue: asyncio.Queue[CapturedRequest]) -> None:
        self._drain(queue)
        deadline = time.monotonic() + self.grace_s
        while self._in_flight and time.monotonic() < deadline and self._signals < 2:
            self._drain(queue)
            await asyncio.sleep(0.02)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._drain(queue)

    def _drain(self, queue: asyncio.Queue[CapturedRequest]) -> None:
        reason = "interrupted" if self.result.interrupted else "endpoint_down"
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()
            self.result.skipped[reason] += 1

    async def _work(self, transport: Sender, queue: asyncio.Queue[CapturedRequest]) -> None:
        while True:
            request = await queue.get()
            try:
                if self._stopping:
                    self.result.skipped["interrupted" if self.result.interrupted else "endpoint_down"] += 1
                    continue
                self._in_flight += 1
                try:
                    await self._send(transport, request)
                finally:
                    self._in_flight -= 1
            except Exception as exc:  # a bug or a late usage error: stop cleanly instead of hanging the feeder
                if self._fatal is None:
                    self._fatal = exc
                self._stop.set()
            finally:
                queue.task_done()

    async def _send(self, transport: Sender, request: CapturedRequest) -> None:
        headers = self._headers(request, int(time.time()))
        redacted = [name for name, value in headers if value == REDACTED]
        for name in redacted:
            self.result.redacted_dropped[name] += 1
        result = self.result
        try:
            response = await transport.post(retarget(request.url, self.target, self._given_query(request.provider)),
                                            request.body,
                                            {k: v for k, v in headers if v != REDACTED}, deadline_s=self.timeout_s)
        except asyncio.CancelledError:
            # the stop's grace ran out with this request unanswered: it was sent, or being sent, and the target may
            # have it, so it counts as sent (docs/delivery.md, "Stopping"), never among the requests not sent
            result.sent += 1
            result.outcomes[CANCELLED] += 1
            raise
        result.sent += 1
        result.outcomes[response.outcome] += 1
        if self.health.observe(response.outcome, response.error):
            result.down_detail = self.redactor.text(self.health.detail)
        if response.outcome == "2xx":
            return
        if len(result.failures) >= FAILURES_KEPT:
            result.failures_more += 1
            return
        detail = self.redactor.text(response.error) if response.error else f"HTTP {response.status}"
        if redacted and response.status in (401, 403):
            detail += f" (its {', '.join(redacted)} was redacted in the capture: use --resign --settings FILE)"
        result.failures.append(f"line {request.line} ({request.event_id} {request.copy}): {detail}")


async def replay(capture: str | Path, target: str, *, resign: bool = False,
                 settings: Mapping[str, Mapping[str, Any]] | None = None, concurrency: int = 8,
                 timeout_s: float = 10.0, verify_tls: bool = True) -> ReplayResult:
    """Send every request of `capture` to `target` (see Replayer)."""
    return await Replayer(capture, target, resign=resign, settings=settings, concurrency=concurrency,
                          timeout_s=timeout_s, verify_tls=verify_tls).run()
