"""`fleetsim run`: deliver a scenario's webhooks to a receiver over real HTTP, and account for every event.

The edge where the pure parts meet the network and the clock:

    source (scenario_stream ─▶ plan_jobs) ─▶ scheduler (rate) ─▶ bounded queue ─▶ N workers ─▶ transport
           │ Skip(fault_drop)                         ▲                 │ Attempt (slow path only)
           ▼                                          │ retry heap      ▼
         Ledger ◀─────────────────────────────────────────────────── classify + policy

The source (source.py) generates in this process, or — `generation="worker"`, what `fleetsim run --rate max`
uses — in a worker process, so the sending process only signs, sends and accounts. A genuine delivery that
succeeds takes the fast path: no Job made for a first attempt (the queue holds its record), no Attempt, no
copies of headers, one ledger call (`delivered_at_once`); every other outcome, and every attempt when a capture
or an `on_attempt` listener wants it, takes the full path (`_send`, `_account`).

Each request is signed when it is sent (fresh timestamp); retry delays follow the provider's policy divided
by the time scale, so long schedules fit a CI run, while signed timestamps always use the real clock.
Memory stays flat: records are generated lazily, the queue is bounded (backpressure), and the ledger keeps
counters, not per-event history.

Stopping (docs/delivery.md, "Stopping"): the first Ctrl-C/SIGTERM stops generating at once, accounts every
queued or scheduled event as `skipped: interrupted`, and gives requests already in flight up to `grace_s` to
finish; a second signal cancels them immediately. A request cancelled in flight may have reached the receiver:
it is recorded as a `cancelled` attempt and its event ends `skipped: interrupted_in_flight`. An endpoint that
answers nothing (see health.py) is marked down and its remaining events are skipped, so a dead receiver ends a
run in seconds, not hours.

Secrets: whatever the receiver sends back (body, headers, error text) is scrubbed of every configured secret
(redaction.py) before it is recorded, so a receiver echoing the PSK cannot put it into a report or capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import FleetsimError, HarnessError, UsageError
from ..providers import PROVIDERS, get_provider
from ..scenario.model import Rate, Scenario
from ..signing import SIGNERS, Secret, Signer
from ..stream import Outgoing
from .capture import CaptureWriter
from .faults import applicable_probes, apply_fault, send_headers
from .health import DOWN_AFTER, EndpointHealth
from .ledger import Ledger, Snapshot
from .model import CANCELLED, GENUINE, INTERRUPTED_IN_FLIGHT, Attempt, Job
from .redaction import Redactor
from .retry import RetryPolicy, TimeScale, classify, policy_for_provider, success_set
from .sending import Sender, SenderFactory, http_sender
from .source import InlineSource, Source, SourceSpec, WorkerSource
from .transport import Response
from .urls import check_url, check_url_credentials, endpoint_url, is_path, masked_url_secrets, url_named

QUEUE_PER_WORKER = 4
#: a producer that found the queue full waits until the workers have taken it down to this share of its size,
#: then refills it in one go: woken once per job, it cost a task switch per delivery at full rate
REFILL_AT = 0.5
#: what the queue holds: a Job, or for a genuine first attempt (nearly every delivery) its record alone, so that
#: no Job is made for it (its `due` has served once it is queued: the producer paced the run by it)
Queued = Job | Outgoing
GENERATION_MODES = ("inline", "worker")
#: a paced send queued this much later than its schedule counts as behind it (docs/delivery.md, "Rates")
BEHIND_S = 1.0
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
    health: EndpointHealth = field(default_factory=EndpointHealth)
    #: the provider's per-delivery id header (Samsara's X-Samsara-Request), renewed on a re-sent duplicate
    delivery_header: str | None = None
    #: the static credential headers the settings add (a MettaX token): what a tampered probe makes wrong when
    #: the provider signs nothing
    credential_headers: frozenset[str] = frozenset()
    #: the statuses `classify` counts as success, as one set: one membership test per delivery on the fast path
    ok_statuses: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self.ok_statuses = success_set(self.success)

    @property
    def stopped(self) -> str | None:
        """The skip reason for this endpoint's remaining events once it is down or gone, else None."""
        return self.health.down_reason


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
    down_after: int = DOWN_AFTER  # consecutive no-response attempts that mark an endpoint down (0: never)
    #: called with every Attempt (already scrubbed of secrets) as it is recorded: for callers that judge the
    #: exchanges themselves (the conformance checks) without a capture file
    on_attempt: Callable[[Attempt], None] | None = None
    #: what carries the requests: real sockets by default; `fleetsim check --app` passes an in-process one
    sender: SenderFactory = http_sender
    #: where the traffic is generated: "inline" (this process) or "worker" (a worker process, so generation does
    #: not take the sending core: `fleetsim run --rate max`); the records and the plan are the same either way
    generation: str = "inline"
    #: deliver only these providers' webhooks (`fleetsim run --provider`); None: every provider of the scenario.
    #: The others' devices are not simulated, so their events are never generated (event ids stay the same)
    providers: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.generation not in GENERATION_MODES:
            raise UsageError(f"generation must be one of {', '.join(GENERATION_MODES)}, not {self.generation!r}")


@dataclass(order=True)
class _Pending:
    at: float  # monotonic time it becomes due
    order: int
    job: Job = field(compare=False)


def time_scale_for(rate: Rate, explicit: float | None) -> float:
    if explicit is not None:
        return explicit
    return {"realtime": 1.0, "max": 3600.0}.get(rate.mode, rate.factor)


class Runner:
    def __init__(self, config: RunConfig) -> None:
        # The stream reads the scenario's provider settings (envelope, payload_version, ...) and the runner reads
        # url/retry/secret: both must see the same merged settings, whichever file each key came from.
        scenario = dataclasses.replace(
            config.scenario, delivery=dataclasses.replace(config.scenario.delivery, providers=config.settings))
        self.config = config = dataclasses.replace(config, scenario=scenario)
        self.ledger = Ledger()
        self.redactor = Redactor.from_settings(config.settings, [config.target])
        self.endpoints: dict[str, Endpoint] = {}
        if config.target:
            check_url(config.target, "--target")
        chosen = scenario.providers()
        if config.providers is not None:
            if not config.providers:
                raise UsageError("--provider: give at least one provider")
            for name in sorted(config.providers):
                if name not in chosen:
                    get_provider(name)  # an unknown name: "did you mean"
                    raise UsageError(f"--provider {name}: scenario {scenario.name!r} has no {name} device "
                                     f"(its providers: {', '.join(chosen)})")
            chosen = [name for name in chosen if name in config.providers]
        self.left_out = [name for name in scenario.providers() if name not in chosen]
        for name in chosen:
            provider = PROVIDERS[name]
            settings = config.settings.get(name, {})
            secret = settings.get("secret")
            url = endpoint_url(config.target, name, settings)
            if config.target or not is_path(url):  # else a path for fleetsim's own receiver (`retarget`)
                check_url(url, f"{name} url")
                check_url_credentials(url, url_named(name, settings), name, provider.auth_header_names(settings))
            self.endpoints[name] = Endpoint(
                provider=name,
                url=url,
                signer=SIGNERS[provider.signing],
                secrets=[secret] if isinstance(secret, Secret) else [],
                success=provider.delivery.success_statuses,
                policy=policy_for_provider(name, settings),
                timeout_s=config.timeout_s or provider.delivery.timeout_s,
                health=EndpointHealth(down_after=config.down_after),
                delivery_header=provider.adapter.delivery_header,
                credential_headers=frozenset(provider.credential_headers(settings)),
            )
        if config.capture is not None:  # after the endpoints: it masks their credential headers by name
            self.attach_capture(config.capture)
        self.time_scale = time_scale_for(config.rate, config.time_scale)
        self._scale = TimeScale(self.time_scale)
        # retry jitter only: the plan (faults) has its own RNG in the source, so what is sent never depends on
        # how the retries went
        self.rng = random.Random(f"fleetsim:{scenario.name}:{scenario.seed}:delivery:retry")
        self._source: Source | None = None
        self._requests = 0  # requests sent, every copy and attempt
        self._fast_in_flight = 0  # genuine sends in flight on the fast path (the ledger still has them pending)
        self._slow_in_flight = 0  # every other send in flight
        # the bounded queue between the producer and the workers: a deque, and the workers' own wake-ups, rather
        # than an asyncio.Queue, whose put, get and task_done cost more than everything else the queue does here
        self._jobs: deque[Queued] = deque()
        self._max_queued = max(1, config.concurrency) * QUEUE_PER_WORKER
        self._refill_at = int(self._max_queued * REFILL_AT)
        self._room: asyncio.Future[None] | None = None  # the producer's wait for room in the queue (see REFILL_AT)
        self._idle: deque[asyncio.Future[None]] = deque()  # workers waiting for a job, each on its own future
        self.retries: list[_Pending] = []
        self._order = itertools.count()
        self._stopping = False
        #: True once anything may keep a job from being sent (the run stopping, an endpoint down or gone): the one
        #: cheap test the producer and the workers make per job before `_skip_if_stopped`'s full one
        self._halted = False
        self.interrupted = False
        self.fatal: Exception | None = None
        self.started_wall = 0.0
        self.started_mono = 0.0
        self.retry_after_waits = 0  # retries that waited for a receiver's Retry-After (real seconds)
        self.retry_after_max_s = 0.0
        #: per provider, requests the transport sent a second time because a reused keep-alive connection closed
        #: before any answer (catalogue H-3.5): not attempts, but the receiver may have read both copies
        self.stale_resends: Counter[str] = Counter()
        self.behind = 0  # paced sends queued more than BEHIND_S after their schedule
        self.behind_max_s = 0.0
        self._stop_requested: asyncio.Event | None = None
        self._signals = 0
        self._workers: list[asyncio.Task[None]] = []

    @property
    def stopping(self) -> bool:
        """The run is stopping (a signal, an internal error, or the end): nothing more is generated or sent."""
        return self._stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        self._stopping = value
        self._halted = self._halted or value

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered (every copy and attempt)."""
        return self._fast_in_flight + self._slow_in_flight

    def attach_capture(self, capture: CaptureWriter) -> None:
        """Record every attempt into `capture`, scrubbed of this run's secrets. Before `run`: the workers decide
        when they start whether any attempt needs recording."""
        # a static credential header (a MettaX token under its own name) is masked by name: the wrong token a
        # tampered probe carries is none of the secrets the redactor knows, yet it is a credential's value
        names = frozenset(n for e in self.endpoints.values() for n in e.credential_headers)
        capture.redact_with(self.redactor, names=names)
        self.config.capture = capture

    def stop(self) -> None:
        """Ctrl-C/SIGTERM. The first: stop generating, let in-flight attempts finish (up to the grace period),
        account the rest as skipped: interrupted. A second: cancel in-flight attempts now."""
        self._signals += 1
        self.stopping = True
        self.interrupted = True
        if self._stop_requested is not None:
            self._stop_requested.set()
        if self._signals > 1:
            for worker in self._workers:
                worker.cancel()  # cancels the request each one has in flight; the ledger marks those interrupted

    def notes(self) -> list[str]:
        notes = []
        if self.time_scale != 1.0:
            notes.append(f"retry delays scaled 1/{self.time_scale:g}; signed timestamps use the real clock")
        if self.retry_after_waits:
            notes.append(f"{self.retry_after_waits} retries waited for the receiver's Retry-After in real time "
                         f"(not scaled; longest {self.retry_after_max_s:.3g} s)")
        for name, endpoint in sorted(self.endpoints.items()):
            if endpoint.stopped:
                notes.append(f"{name}: endpoint stopped ({endpoint.stopped}): {endpoint.health.detail}; its "
                             "remaining events were skipped")
        if self.stale_resends:
            counts = ", ".join(f"{name} {n}" for name, n in sorted(self.stale_resends.items()))
            notes.append(f"re-sent once on a fresh connection after a reused keep-alive connection closed with no "
                         f"answer: {counts} request(s); the receiver may have read the first copy too (counted as "
                         "one attempt each; docs/delivery.md)")
        if self.behind:
            notes.append(f"fell behind the {self.config.rate.describe()} schedule: {self.behind} send(s) queued more "
                         f"than {BEHIND_S:g} s late (at most {self.behind_max_s:.1f} s): the receiver's answers (or "
                         "--concurrency) could not keep up with this rate")
        if self.left_out:
            notes.append(f"left out with --provider: {', '.join(self.left_out)} (their devices not simulated)")
        notes += self._refused_everything()
        socket = sorted(name for name in self.endpoints if "websocket" in PROVIDERS[name].channels)
        if socket:
            notes.append(f"{', '.join(socket)}: WebSocket frames are socket traffic, not webhooks: not part of "
                         "this run")
        return notes

    def _refused_everything(self) -> list[str]:
        """A hint for each endpoint that delivered nothing and got only 4xx answers: most often a receiver that
        does not serve that path (404/405) or that provider's secret, not a run gone wrong."""
        hints = []
        providers = self.ledger.summary()["providers"]
        for name, endpoint in sorted(self.endpoints.items()):
            totals = providers.get(name, {}).get("totals", {})
            outcomes = totals.get("attempts_by_outcome", {})
            if totals.get("delivered") or not outcomes or set(outcomes) != {"4xx"}:
                continue
            hints.append(f"{name}: every attempt was refused (4xx) and nothing was delivered: a 404/405 says "
                         f"your receiver does not serve {masked_url_secrets(endpoint.url)} (give its path in the "
                         f"{name} url setting, docs/delivery.md, or leave {name} out with --provider); a 401/403, "
                         "that its secret differs from the settings'")
        return hints

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
            "endpoints_stopped": {name: {"reason": e.stopped, "detail": e.health.detail}
                                  for name, e in self.endpoints.items() if e.stopped},
            "interrupted": self.interrupted,
            "stale_resends": dict(sorted(self.stale_resends.items())),
            "behind_schedule": {"sends": self.behind, "max_s": round(self.behind_max_s, 3)},
            "elapsed_s": round(time.monotonic() - self.started_mono, 3) if self.started_mono else 0.0,
        }
        return summary

    # -- the source ---------------------------------------------------------------------------------------

    def _unsent_reason(self, provider: str) -> str | None:
        """Why a job of `provider` is not sent: its endpoint's reason (down, gone) unless the user interrupted
        the run; "interrupted" when the run is stopping for any other cause; None when it may go."""
        stopped = self.endpoints[provider].stopped
        if stopped and not self.interrupted:
            return stopped
        return "interrupted" if self.stopping else None

    def _skip_if_stopped(self, item: Queued) -> bool:
        """Account a queued item whose endpoint is down or gone (or the run is stopping) instead of sending it.
        Callers test `_halted` first (`if self._halted and self._skip_if_stopped(item)`): while the run goes and
        every endpoint is up, that one attribute is the whole cost."""
        if isinstance(item, Job):
            record, genuine = item.record, item.copy == GENUINE
        else:
            record, genuine = item, True
        reason = self._unsent_reason(record.provider)
        if reason is None:
            return False
        if genuine:
            self.ledger.skipped(record.event_id, reason)
        return True

    def source_spec(self) -> SourceSpec:
        """What this run generates: the scenario's webhooks for its endpoints, with the plan's probes limited to
        those that mean something for each endpoint's signer and secret."""
        applicable = {name: applicable_probes(e.signer, has_secret=bool(e.secrets),
                                              has_credential=bool(e.credential_headers))
                      for name, e in self.endpoints.items()}
        return SourceSpec(self.config.scenario, frozenset(self.endpoints), applicable, self.config.limit)

    @property
    def generator_pid(self) -> int | None:
        """The generation worker's process id while it runs (generation="worker"), else None."""
        return self._source.pid if self._source is not None else None

    def requests_sent(self) -> int:
        """Requests sent so far: every copy (duplicates and probes too) and every retry."""
        return self._requests

    async def _produce(self, source: Source) -> None:
        """Put jobs on the queue at their scheduled times (scaled by the rate)."""
        rate = self.config.rate
        factor = 1.0 if rate.mode == "realtime" else rate.factor
        paced = rate.mode != "max"
        ledger = self.ledger
        jobs = self._jobs
        idle = self._idle
        limit = self._max_queued
        async for batch in source.batches():
            # appending never yields, and skipped items never reach the queue: without this, a stream of skips
            # would keep the loop (and Ctrl-C's handler) waiting for generation
            await asyncio.sleep(0)
            for record, plan in batch:
                if self._halted and self.stopping:
                    return
                ledger.generated(record)
                if isinstance(plan, str):
                    ledger.skipped(record.event_id, plan)
                    continue
                for copy, due in plan:
                    item: Queued = record if copy == GENUINE else Job(record, copy, due)
                    if self._halted and self._skip_if_stopped(item):
                        continue
                    if paced:
                        wait = self.started_mono + due / factor - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        elif wait < -BEHIND_S:  # the receiver (or this machine) is not keeping up: said at the end
                            self.behind += 1
                            self.behind_max_s = max(self.behind_max_s, -wait)
                    while len(jobs) >= limit:  # backpressure: the workers' turn, until the queue is down to REFILL_AT
                        await self._wait_for_room()
                    jobs.append(item)
                    if idle:
                        self._wake_worker()

    async def _wait_for_room(self) -> None:
        room = self._room = asyncio.get_running_loop().create_future()
        try:
            await room
        finally:
            self._room = None

    def _wake_worker(self) -> None:
        """A job was queued: wake one idle worker (the first still waiting) to take it."""
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _next_job(self) -> None:
        """An idle worker's wait until a job is queued (it may find the queue empty again: another took it)."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake_worker()  # woken for a job it will never take: another worker must take it
            else:
                with contextlib.suppress(ValueError):
                    self._idle.remove(waiter)
            raise

    async def _pump_retries(self) -> None:
        """Move retries whose time has come back onto the queue."""
        while True:
            now = time.monotonic()
            while self.retries and self.retries[0].at <= now:
                job = heapq.heappop(self.retries).job
                if self._skip_if_stopped(job):
                    continue
                # past the queue's bound if need be: a retry was already held in memory, in the heap
                self._jobs.append(job)
                self._wake_worker()
            delay = self.retries[0].at - time.monotonic() if self.retries else 0.05
            await asyncio.sleep(min(max(delay, 0.001), 0.05))

    # -- the workers --------------------------------------------------------------------------------------

    async def _work(self, sender: Sender) -> None:
        jobs = self._jobs
        ledger = self.ledger
        endpoints = self.endpoints
        # the fast path needs nobody to see the attempt itself: no capture, no listener
        fast = self.config.capture is None and self.config.on_attempt is None
        clock = time.time
        refill_at = self._refill_at
        while True:
            if not jobs:
                await self._next_job()
                continue
            item = jobs.popleft()
            room = self._room
            # the producer waits for room (at full rate, nearly always): wake it once the queue is down to its
            # refill mark
            if room is not None and len(jobs) <= refill_at and not room.done():
                room.set_result(None)
            try:
                if self._halted and self._skip_if_stopped(item):
                    continue
                if isinstance(item, Job):
                    if not fast or item.copy != GENUINE:
                        await self._send(item, sender)
                        continue
                    record = item.record  # a retry
                elif not fast:
                    await self._send(Job(item), sender)
                    continue
                else:
                    record = item
                # the fast path: a genuine attempt (nearly always the first, its record alone). No Attempt, no copy
                # of its headers, one ledger call when it succeeds; the send is awaited here, not in a coroutine of
                # its own (one frame less to make and to resume through, per delivery)
                endpoint = endpoints[record.provider]
                now_wall = clock()
                body = record.body
                headers = send_headers(body, record.headers, endpoint.signer, endpoint.secrets, int(now_wall),
                                       record.event_id)
                self._requests += 1
                self._fast_in_flight += 1
                try:
                    response = await sender.post(endpoint.url, body, headers, deadline_s=endpoint.timeout_s)
                except asyncio.CancelledError:
                    self._cut_off(item if isinstance(item, Job) else Job(record), endpoint, body, headers, now_wall,
                                  fast=True)
                    raise
                finally:
                    self._fast_in_flight -= 1
                if response.stale_retried:
                    self.stale_resends[record.provider] += 1
                if response.outcome == "2xx" and response.status in endpoint.ok_statuses:
                    endpoint.health.answered()  # an HTTP answer: the endpoint is up
                    ledger.delivered_at_once(record.event_id, response.latency_s)
                    continue
                ledger.in_flight(record.event_id)  # the full path from here, as if marked first
                self._account(item if isinstance(item, Job) else Job(record), endpoint, body, headers, response,
                              now_wall)
            except Exception as exc:  # a bug in fleetsim, or a usage error found late: stop cleanly, never hang
                if self.fatal is None:
                    self.fatal = exc
                self.stopping = True
                if self._stop_requested is not None:
                    self._stop_requested.set()

    async def _send(self, job: Job, sender: Sender) -> None:
        """The full path: any copy or attempt, signed (or faulted) now, its Attempt recorded."""
        record = job.record
        endpoint = self.endpoints[record.provider]
        now_wall = time.time()
        body, headers = apply_fault(job, record.body, record.headers, signer=endpoint.signer,
                                    secrets=endpoint.secrets, now=int(now_wall), message_id=record.event_id,
                                    delivery_header=endpoint.delivery_header,
                                    credential_headers=endpoint.credential_headers)
        self._requests += 1
        if job.copy == GENUINE:
            self.ledger.in_flight(record.event_id)
        self._slow_in_flight += 1
        try:
            response = await sender.post(endpoint.url, body, headers, deadline_s=endpoint.timeout_s)
        except asyncio.CancelledError:
            self._cut_off(job, endpoint, body, headers, now_wall)
            raise
        finally:
            self._slow_in_flight -= 1
        if response.stale_retried:
            self.stale_resends[record.provider] += 1
        self._account(job, endpoint, body, headers, response, now_wall)

    def _cut_off(self, job: Job, endpoint: Endpoint, body: bytes, headers: Mapping[str, str], now_wall: float,
                 *, fast: bool = False) -> None:
        """A request cancelled in flight (the stop's grace ran out, or a second Ctrl-C): it was sent, or being sent,
        and had no answer, so the receiver may have it. Recorded as a `cancelled` attempt (report, capture,
        listener) and its event, if this was the genuine copy, ends `skipped: interrupted_in_flight`, never as
        one that was not sent (docs/delivery.md, "Stopping"). Never raises: the worker is being cancelled."""
        record = job.record
        waited = max(0.0, time.time() - now_wall)
        try:
            if fast:
                self.ledger.in_flight(record.event_id)  # the fast path never marked it; the full path would have
            attempt = Attempt(
                event_id=record.event_id, provider=record.provider, kind=record.kind, copy=job.copy,
                attempt=job.attempt, url=endpoint.url, sent_at=now_wall, latency_s=waited, outcome=CANCELLED,
                error=f"no answer after {waited:.3g} s when fleetsim stopped: the receiver may have received it",
                request_headers=dict(headers), request_body=body,
            )
            self.ledger.attempt_recorded(attempt)
            if self.config.capture is not None:
                self.config.capture.write(attempt)
            if self.config.on_attempt is not None:
                self.config.on_attempt(attempt)
            if job.copy == GENUINE:
                self.ledger.skipped(record.event_id, INTERRUPTED_IN_FLIGHT)
        except Exception as exc:  # a capture that cannot be written, or a bug: reported when the run ends
            if self.fatal is None:
                self.fatal = exc

    def _account(self, job: Job, endpoint: Endpoint, body: bytes, headers: Mapping[str, str], response: Response,
                 now_wall: float) -> None:
        """The full path: an Attempt recorded (scrubbed of secrets), captured, listened to; health; retries."""
        record = job.record
        scrub = self.redactor
        attempt = Attempt(
            event_id=record.event_id, provider=record.provider, kind=record.kind, copy=job.copy,
            attempt=job.attempt, url=endpoint.url, sent_at=now_wall, latency_s=response.latency_s,
            outcome=response.outcome, status=response.status, retry_after_s=response.retry_after_s,
            response_headers=scrub.headers(response.headers), response_body=scrub.bytes(response.body),
            error=scrub.optional_text(response.error), request_headers=dict(headers), request_body=body,
        )
        self.ledger.attempt_recorded(attempt)
        if self.config.capture is not None:
            self.config.capture.write(attempt)
        if self.config.on_attempt is not None:
            self.config.on_attempt(attempt)
        if endpoint.health.observe(response.outcome, attempt.error):
            self._endpoint_stopped(record.provider)
        if job.copy != GENUINE:
            return  # duplicates and probes are recorded, never retried, never terminal for the event
        # a status only counts once the whole exchange completed: a 200 whose body never finished is a timeout
        completed = response.outcome in _HTTP_OUTCOMES
        status = response.status if completed else None
        verdict = classify(status, endpoint.success)
        if verdict == "success":
            self.ledger.delivered(record.event_id)
            return
        if verdict == "gone":
            endpoint.health.gone(response.status or 410)
            self._endpoint_stopped(record.provider)
            self.ledger.failed(record.event_id)
            return
        delay = endpoint.policy.next_delay(job.attempt, response.outcome, status, response.retry_after_s,
                                           rng=self.rng, time_scale=self._scale) if verdict == "retry" else None
        unsent = self._unsent_reason(record.provider)
        if delay is None:
            self.ledger.failed(record.event_id)
        elif unsent is not None:
            # a retry would have followed, but the run is stopping or the endpoint is down: not the event's fault
            self.ledger.skipped(record.event_id, unsent)
        else:
            if response.retry_after_s is not None and delay >= response.retry_after_s > 0:
                self.retry_after_waits += 1
                self.retry_after_max_s = max(self.retry_after_max_s, delay)
            self.ledger.retry_scheduled(record.event_id)
            retry = Job(record, GENUINE, job.due, job.attempt + 1)
            heapq.heappush(self.retries, _Pending(time.monotonic() + delay, next(self._order), retry))

    # -- the run ------------------------------------------------------------------------------------------

    def _settled(self) -> bool:
        return not (self.retries or self._jobs or self.in_flight)

    async def run(self) -> None:
        config = self.config
        self.started_wall, self.started_mono = time.time(), time.monotonic()
        self._stop_requested = asyncio.Event()
        if self.stopping:
            self._stop_requested.set()
        spec = self.source_spec()
        source = self._source = WorkerSource(spec) if config.generation == "worker" else InlineSource(spec)
        try:
            await source.start()  # the worker imports and loads while the transport is set up
            await self._run(source, self._stop_requested)
        finally:
            await source.close()  # kills and reaps the worker, however the run ended

    async def _run(self, source: Source, stop_requested: asyncio.Event) -> None:
        config = self.config
        async with config.sender(config.concurrency, config.verify_tls) as transport:
            workers = [asyncio.create_task(self._work(transport)) for _ in range(max(1, config.concurrency))]
            self._workers = workers
            pump = asyncio.create_task(self._pump_retries())
            ticker = asyncio.create_task(self._tick()) if config.on_progress else None
            producer = asyncio.create_task(self._produce(source))
            stop = asyncio.create_task(stop_requested.wait())
            try:
                await asyncio.wait({producer, stop}, return_when=asyncio.FIRST_COMPLETED)
                if producer.done():
                    producer.result()  # a generation error surfaces here
                    # wait for the queue and every scheduled retry to drain, unless asked to stop
                    while not self.stopping and not self._settled():
                        await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                self.interrupted = True
                raise
            finally:
                self.stopping = True
                for task in (producer, stop):
                    task.cancel()
                await asyncio.gather(producer, stop, return_exceptions=True)
                await self._shutdown(workers, pump, ticker)

    def _endpoint_stopped(self, provider: str) -> None:
        """An endpoint went down or gone: its scheduled retries end now, not when they fall due. Generation goes
        on (skipping costs microseconds, and never waits for the rate), so every event of the run is accounted."""
        self._halted = True  # from now on each job is tested for its endpoint (_skip_if_stopped)
        reason = self.endpoints[provider].stopped
        kept = []
        for pending in self.retries:
            if pending.job.record.provider == provider and reason is not None:
                self.ledger.skipped(pending.job.record.event_id, reason)
            else:
                kept.append(pending)
        if len(kept) != len(self.retries):
            heapq.heapify(kept)
            self.retries = kept

    async def _shutdown(self, workers: list[asyncio.Task[None]], pump: asyncio.Task[None],
                        ticker: asyncio.Task[None] | None) -> None:
        pump.cancel()
        if ticker:
            ticker.cancel()
        # retries that never got their turn, and queued jobs, end as interrupted (or as their endpoint's reason)
        for pending in self.retries:
            self._skip_if_stopped(pending.job)
        self.retries.clear()
        self._drain_queue()
        deadline = time.monotonic() + self.config.grace_s
        while self.in_flight and time.monotonic() < deadline and self._signals < 2:
            self._drain_queue()  # a worker may not be waiting on the queue: keep it empty so none picks a job
            await asyncio.sleep(0.02)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, pump, *([ticker] if ticker else []), return_exceptions=True)
        self._drain_queue()
        # whatever is still not terminal (in flight past the grace period) was interrupted
        self.ledger.interrupt_remaining()
        if self.fatal is not None:
            if isinstance(self.fatal, FleetsimError) and not isinstance(self.fatal, HarnessError):
                raise self.fatal  # e.g. a capture file that cannot be written: the user's to fix (exit 2)
            raise HarnessError(f"delivery stopped by an internal error: {type(self.fatal).__name__}: {self.fatal}")
        if not self.ledger.check_invariant():
            raise HarnessError("accounting invariant violated: generated != delivered + failed + skipped")

    def _drain_queue(self) -> None:
        jobs = self._jobs
        while jobs:
            self._skip_if_stopped(jobs.popleft())


    async def _tick(self) -> None:
        assert self.config.on_progress is not None
        while True:
            await asyncio.sleep(self.config.progress_every_s)
            self.config.on_progress(self.snapshot())

    def snapshot(self) -> Snapshot:
        snapshot = self.ledger.snapshot(time.monotonic() - self.started_mono)
        unmarked = self._fast_in_flight  # fast-path sends are in flight though the ledger still has them pending
        if unmarked:
            snapshot = dataclasses.replace(snapshot, pending=snapshot.pending - unmarked,
                                           in_flight=snapshot.in_flight + unmarked)
        return snapshot
