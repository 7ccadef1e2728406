"""`fleetsim run`: deliver a scenario's webhooks to a receiver over real HTTP, and account for every event.

The edge where the pure parts meet the network and the clock:

    scenario_stream ──▶ plan_jobs (faults) ──▶ scheduler (rate) ──▶ bounded queue ──▶ N workers ──▶ transport
                             │ Skip(fault_drop)                         ▲                 │ Attempt
                             ▼                                          │ retry heap      ▼
                           Ledger ◀──────────────────────────────────────────────────── classify + policy

Each request is signed when it is sent (fresh timestamp); retry delays follow the provider's policy divided
by the time scale, so long schedules fit a CI run, while signed timestamps always use the real clock.
Memory stays flat: records are generated lazily, the queue is bounded (backpressure), and the ledger keeps
counters, not per-event history.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import HarnessError
from ..providers import PROVIDERS
from ..scenario.model import Rate, Scenario
from ..signing import SIGNERS, Secret, Signer
from ..stream import Outgoing, scenario_stream
from .capture import CaptureWriter
from .faults import Skip, applicable_probes, apply_fault, plan_jobs
from .ledger import Ledger, Snapshot
from .model import GENUINE, Attempt, Job
from .retry import RetryPolicy, TimeScale, classify, policy_for_provider
from .transport import HttpTransport

QUEUE_PER_WORKER = 4
_HTTP_OUTCOMES = frozenset({"2xx", "3xx", "4xx", "5xx", "429"})


@dataclass
class Endpoint:
    provider: str
    url: str
    signer: Signer
    secrets: list[Secret]
    success: frozenset[int] | None
    policy: RetryPolicy
    timeout_s: float
    gone: bool = False


@dataclass
class RunConfig:
    scenario: Scenario
    target: str
    settings: Mapping[str, Mapping[str, Any]]
    rate: Rate
    concurrency: int = 32
    time_scale: float | None = None  # None: the rate's factor (realtime 1, xN N, max 3600)
    timeout_s: float | None = None  # per-attempt total deadline; None: the provider's own
    limit: int | None = None  # stop generating after this many records
    grace_s: float = 10.0  # how long Ctrl-C waits for in-flight attempts
    capture: CaptureWriter | None = None
    verify_tls: bool = True
    on_progress: Callable[[Snapshot], None] | None = None
    progress_every_s: float = 1.0


@dataclass(order=True)
class _Pending:
    at: float  # monotonic time it becomes due
    order: int
    job: Job = field(compare=False)


def endpoint_url(target: str, provider: str, settings: Mapping[str, Any]) -> str:
    """A provider's traffic goes to its `url` setting, else to TARGET/<provider>."""
    url = settings.get("url")
    if isinstance(url, str) and url:
        return url
    return f"{target.rstrip('/')}/{provider}"


def time_scale_for(rate: Rate, explicit: float | None) -> float:
    if explicit is not None:
        return explicit
    return {"realtime": 1.0, "max": 3600.0}.get(rate.mode, rate.factor)


class Runner:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.ledger = Ledger()
        scenario = config.scenario
        self.endpoints: dict[str, Endpoint] = {}
        for name in scenario.providers():
            provider = PROVIDERS[name]
            settings = config.settings.get(name, {})
            secret = settings.get("secret")
            self.endpoints[name] = Endpoint(
                provider=name,
                url=endpoint_url(config.target, name, settings),
                signer=SIGNERS[provider.signing],
                secrets=[secret] if isinstance(secret, Secret) else [],
                success=provider.delivery.success_statuses,
                policy=policy_for_provider(name, settings),
                timeout_s=config.timeout_s or provider.delivery.timeout_s,
            )
        self.time_scale = time_scale_for(config.rate, config.time_scale)
        self._scale = TimeScale(self.time_scale)
        self.rng = random.Random(f"fleetsim:{scenario.name}:{scenario.seed}:delivery")
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=max(1, config.concurrency) * QUEUE_PER_WORKER)
        self.retries: list[_Pending] = []
        self._order = itertools.count()
        self.in_flight = 0
        self.stopping = False
        self.interrupted = False
        self.fatal: Exception | None = None
        self.started_wall = 0.0
        self.started_mono = 0.0

    def stop(self) -> None:
        """Ctrl-C: stop generating, let in-flight attempts finish (up to the grace period), account the rest."""
        self.stopping = True
        self.interrupted = True

    def notes(self) -> list[str]:
        notes = []
        if self.time_scale != 1.0:
            notes.append(f"retry delays scaled 1/{self.time_scale:g}; signed timestamps use the real clock")
        if "powunity" in self.endpoints:
            notes.append("PowUnity WebSocket frames are socket traffic, not webhooks: not part of this run")
        return notes

    def retarget(self, base_url: str) -> None:
        for name, endpoint in self.endpoints.items():
            endpoint.url = endpoint_url(base_url, name, self.config.settings.get(name, {}))

    def summary(self) -> dict[str, Any]:
        summary = self.ledger.summary()
        summary["run"] = {
            "scenario": self.config.scenario.name,
            "seed": self.config.scenario.seed,
            "rate": self.config.rate.describe(),
            "time_scale": self.time_scale,
            "concurrency": self.config.concurrency,
            "endpoints": {name: e.url for name, e in self.endpoints.items()},
            "interrupted": self.interrupted,
            "elapsed_s": round(time.monotonic() - self.started_mono, 3) if self.started_mono else 0.0,
        }
        return summary

    # -- the source ---------------------------------------------------------------------------------------

    def _records(self) -> Iterator[Outgoing]:
        # WebSocket frames are not HTTP deliveries: a webhook run neither encodes nor counts them
        stream = scenario_stream(self.config.scenario, providers=set(self.endpoints), channels={"webhook"})
        for count, record in enumerate(stream, 1):
            if self.stopping:
                return
            self.ledger.generated(record)
            yield record
            if self.config.limit is not None and count >= self.config.limit:
                return

    async def _produce(self) -> None:
        """Put jobs on the queue at their scheduled times (scaled by the rate)."""
        scenario = self.config.scenario
        rate = self.config.rate
        factor = 1.0 if rate.mode == "realtime" else rate.factor
        applicable = {name: applicable_probes(e.signer, has_secret=bool(e.secrets))
                      for name, e in self.endpoints.items()}
        for item in plan_jobs(self._records(), scenario.delivery.faults, self.rng, start=scenario.start,
                              applicable=applicable):
            if self.stopping:
                break
            if isinstance(item, Skip):
                self.ledger.skipped(item.record.event_id, item.reason)
                continue
            endpoint = self.endpoints[item.record.provider]
            if endpoint.gone:
                if item.copy == GENUINE:
                    self.ledger.skipped(item.record.event_id, "endpoint_gone_410")
                continue
            if rate.mode != "max":
                wait = self.started_mono + item.due / factor - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self.queue.put(item)  # blocks when the queue is full: backpressure, and the workers' turn

    async def _pump_retries(self) -> None:
        """Move retries whose time has come back onto the queue."""
        while True:
            now = time.monotonic()
            while self.retries and self.retries[0].at <= now:
                job = heapq.heappop(self.retries).job
                if self.endpoints[job.record.provider].gone:
                    self.ledger.skipped(job.record.event_id, "endpoint_gone_410")
                    continue
                await self.queue.put(job)
            delay = self.retries[0].at - time.monotonic() if self.retries else 0.05
            await asyncio.sleep(min(max(delay, 0.001), 0.05))

    # -- the workers --------------------------------------------------------------------------------------

    async def _work(self, transport: HttpTransport) -> None:
        while True:
            job = await self.queue.get()
            if job is None:
                self.queue.task_done()
                return
            self.in_flight += 1
            try:
                await self._deliver(transport, job)
            except Exception as exc:  # a bug in fleetsim: stop cleanly and report it (exit 3), never hang
                if self.fatal is None:
                    self.fatal = exc
                self.stopping = True
            finally:
                self.in_flight -= 1
                self.queue.task_done()

    async def _deliver(self, transport: HttpTransport, job: Job) -> None:
        record = job.record
        endpoint = self.endpoints[record.provider]
        if endpoint.gone:
            if job.copy == GENUINE:
                self.ledger.skipped(record.event_id, "endpoint_gone_410")
            return
        now_wall = time.time()
        body, headers = apply_fault(job, record.body, record.headers, signer=endpoint.signer,
                                    secrets=endpoint.secrets, now=int(now_wall), message_id=record.event_id)
        if job.copy == GENUINE:
            self.ledger.in_flight(record.event_id)
        response = await transport.post(endpoint.url, body, headers, deadline_s=endpoint.timeout_s)
        attempt = Attempt(
            event_id=record.event_id, provider=record.provider, kind=record.kind, copy=job.copy,
            attempt=job.attempt, url=endpoint.url, sent_at=now_wall, latency_s=response.latency_s,
            outcome=response.outcome, status=response.status, retry_after_s=response.retry_after_s,
            response_headers=dict(response.headers), response_body=response.body, error=response.error,
            request_headers=dict(headers), request_body=body,
        )
        self.ledger.attempt_recorded(attempt)
        if self.config.capture is not None:
            self.config.capture.write(attempt)
        if job.copy != GENUINE:
            return  # duplicates and probes are recorded, never retried, never terminal for the event
        # a status only counts once the whole exchange completed: a 200 whose body never finished is a timeout
        completed = response.outcome in _HTTP_OUTCOMES
        verdict = classify(response.status if completed else None, endpoint.success)
        if verdict == "success":
            self.ledger.delivered(record.event_id)
        elif verdict == "gone":
            endpoint.gone = True
            self.ledger.failed(record.event_id)
        else:
            delay = endpoint.policy.next_delay(job.attempt, response.outcome, response.status,
                                               response.retry_after_s, rng=self.rng, time_scale=self._scale,
                                               ) if verdict == "retry" else None
            if delay is None or self.stopping:
                self.ledger.failed(record.event_id)
            else:
                self.ledger.retry_scheduled(record.event_id)
                retry = Job(record, GENUINE, job.due, job.attempt + 1)
                heapq.heappush(self.retries, _Pending(time.monotonic() + delay, next(self._order), retry))

    # -- the run ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        config = self.config
        self.started_wall, self.started_mono = time.time(), time.monotonic()
        async with HttpTransport(concurrency=config.concurrency, verify=config.verify_tls) as transport:
            workers = [asyncio.create_task(self._work(transport)) for _ in range(max(1, config.concurrency))]
            pump = asyncio.create_task(self._pump_retries())
            ticker = asyncio.create_task(self._tick()) if config.on_progress else None
            try:
                await self._produce()
                # wait for the queue and every scheduled retry to drain
                while not self.stopping and (self.retries or self.queue.qsize() or self.in_flight):
                    await asyncio.sleep(0.02)
                await self.queue.join()
            except asyncio.CancelledError:
                self.interrupted = True
                raise
            finally:
                self.stopping = True
                await self._shutdown(workers, pump, ticker)

    async def _shutdown(self, workers: list[asyncio.Task[None]], pump: asyncio.Task[None],
                        ticker: asyncio.Task[None] | None) -> None:
        pump.cancel()
        if ticker:
            ticker.cancel()
        # retries that never got their turn, and queued jobs, end as interrupted
        for pending in self.retries:
            self.ledger.skipped(pending.job.record.event_id, "interrupted")
        self.retries.clear()
        while not self.queue.empty():
            job = self.queue.get_nowait()
            self.queue.task_done()
            if job is not None and job.copy == GENUINE:
                self.ledger.skipped(job.record.event_id, "interrupted")
        deadline = time.monotonic() + self.config.grace_s
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, pump, *( [ticker] if ticker else []), return_exceptions=True)
        # whatever is still not terminal (in flight past the grace period) was interrupted
        self.ledger.interrupt_remaining()
        if self.fatal is not None:
            raise HarnessError(f"delivery stopped by an internal error: {type(self.fatal).__name__}: {self.fatal}")
        if not self.ledger.check_invariant():
            raise HarnessError("accounting invariant violated: generated != delivered + failed + skipped")

    async def _tick(self) -> None:
        assert self.config.on_progress is not None
        while True:
            await asyncio.sleep(self.config.progress_every_s)
            self.config.on_progress(self.snapshot())

    def snapshot(self) -> Snapshot:
        return self.ledger.snapshot(time.monotonic() - self.started_mono)
