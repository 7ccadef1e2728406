"""Event accounting (conformance catalogue H-1): every generated event ends in exactly one terminal state.

The `Ledger` is pure bookkeeping. The runner reports what happens; the ledger validates each transition and
raises HarnessError on an impossible one (that is a bug in fleetsim, not in the receiver):

    generated ─> pending ─job_started─> in_flight ─attempt_recorded─> (attempted)
    in_flight (attempted) ─retry_scheduled─> retry_scheduled ─job_started─> in_flight ...
    in_flight (attempted) ─delivered─> delivered     (the last attempt must be a 2xx)
    in_flight (attempted) ─failed─> failed
    any open state ─skipped(reason)─> skipped

Only the genuine copy moves an event through these states. Duplicate and probe attempts are counted (sent,
outcome, how the receiver answered each probe kind) but never change or require an event's state: a
duplicate may well come back after its event was delivered.

Memory stays flat however long the run: per-event state exists only while the event is open (pending,
in flight or waiting for a retry) and is dropped at its terminal transition (a pending event is one dict entry
pointing at its kind's counters: most events go from pending straight to delivered, `delivered_at_once`);
what remains are counters per provider and kind, a fixed-size latency histogram, and capped lists of failed
ids and failures' last attempts. A consequence: a transition on an event that already ended cannot be told
apart from one on an event never generated; both raise.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import HarnessError
from ..stream import Outgoing
from .model import DELIVERED, DUPLICATE, FAILED, GENUINE, OUTCOMES, PROBES, SKIP_REASONS, SKIPPED, Attempt, Job

PENDING, IN_FLIGHT, RETRY_SCHEDULED = "pending", "in_flight", "retry_scheduled"
OPEN_STATES = (PENDING, IN_FLIGHT, RETRY_SCHEDULED)
TERMINAL_STATES = (DELIVERED, FAILED, SKIPPED)

#: how a receiver answered a probe: a 4xx is the expected rejection; 2xx accepts a bad request (receiver bug);
#: 5xx is a crash on bad input (receiver bug); anything else (3xx, 429, transport errors) is "other"
PROBE_ANSWERS = ("rejected_4xx", "accepted_2xx", "server_error_5xx", "other")

FAILED_IDS_CAP = 1000
LAST_ATTEMPTS_CAP = 100
FAILED_SAMPLE_CAP = 20


def probe_answer(outcome: str) -> str:
    return {"4xx": "rejected_4xx", "2xx": "accepted_2xx", "5xx": "server_error_5xx"}.get(outcome, "other")


# --- latency histogram ------------------------------------------------------------------------------------


_LOW_S, _HIGH_S, _PER_DECADE = 1e-4, 60.0, 20
_bisect_left = bisect.bisect_left
_INF = math.inf
_BOUNDS = (*(_LOW_S * 10 ** (i / _PER_DECADE) for i in range(math.ceil(math.log10(_HIGH_S / _LOW_S) * _PER_DECADE))),
           _HIGH_S)


class LatencyHistogram:
    """Log-spaced buckets from 0.1 ms to 60 s (20 per decade, about ±6 % per quantile), plus one bucket
    below and one above. Quantiles come from the buckets (clamped to the exact min and max), so memory is
    fixed whatever the number of samples."""

    LOW_S = _LOW_S
    HIGH_S = _HIGH_S
    #: upper bounds: bucket i holds bounds[i-1] < x <= bounds[i]; bucket 0 everything <= LOW_S;
    #: the last bucket (index len(BOUNDS)) everything above HIGH_S
    BOUNDS: tuple[float, ...] = _BOUNDS

    __slots__ = ("count", "counts", "max_s", "min_s", "total_s")

    def __init__(self) -> None:
        self.counts = [0] * (len(self.BOUNDS) + 1)
        self.count = 0
        self.total_s = 0.0
        self.min_s = math.inf
        self.max_s = 0.0

    def add(self, seconds: float) -> None:
        # once per delivery: comparisons rather than isfinite/min/max calls (NaN and inf fail the first test)
        if not 0 <= seconds < _INF:
            raise HarnessError(f"latency must be a finite non-negative number of seconds, not {seconds!r}")
        self.counts[_bisect_left(_BOUNDS, seconds)] += 1
        self.count += 1
        self.total_s += seconds
        if seconds < self.min_s:
            self.min_s = seconds
        if seconds > self.max_s:
            self.max_s = seconds

    def merge(self, other: LatencyHistogram) -> None:
        for i, n in enumerate(other.counts):
            self.counts[i] += n
        self.count += other.count
        self.total_s += other.total_s
        self.min_s = min(self.min_s, other.min_s)
        self.max_s = max(self.max_s, other.max_s)

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 < q <= 1) in seconds: the geometric middle of the bucket holding it."""
        if not 0 < q <= 1:
            raise HarnessError(f"quantile must be in (0, 1], not {q}")
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen, i = 0, 0
        for i, n in enumerate(self.counts):  # noqa: B007 (i is the bucket found)
            seen += n
            if seen >= rank:
                break
        if i == 0:
            value = self.LOW_S / 2
        elif i == len(self.BOUNDS):
            value = self.max_s
        else:
            value = math.sqrt(self.BOUNDS[i - 1] * self.BOUNDS[i])
        return min(max(value, self.min_s), self.max_s)

    def as_dict(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        buckets = []
        for i, n in enumerate(self.counts):
            if n:
                upper = self.BOUNDS[i] if i < len(self.BOUNDS) else math.inf
                buckets.append({"le_ms": "inf" if upper == math.inf else round(upper * 1000, 4), "count": n})
        return {
            "count": self.count,
            "mean_ms": ms(self.total_s / self.count) if self.count else None,
            "min_ms": ms(self.min_s) if self.count else None,
            "max_ms": ms(self.max_s) if self.count else None,
            "p50_ms": ms(self.quantile(0.5)),
            "p90_ms": ms(self.quantile(0.9)),
            "p99_ms": ms(self.quantile(0.99)),
            "buckets": buckets,
        }


# --- per-kind counters and per-event state ------------------------------------------------------------------


@dataclass
class _Counters:
    key: tuple[str, str] = ("", "")  # (provider, kind) these count; a merged total's is meaningless
    generated: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)  # genuine attempts by outcome
    duplicates: Counter[str] = field(default_factory=Counter)  # duplicate attempts by outcome
    probes: dict[str, Counter[str]] = field(default_factory=dict)  # probe -> answer -> n
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    failed_sample: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: _Counters) -> None:
        self.generated += other.generated
        self.delivered += other.delivered
        self.failed += other.failed
        self.skipped.update(other.skipped)
        self.attempts.update(other.attempts)
        self.duplicates.update(other.duplicates)
        for probe, answers in other.probes.items():
            self.probes.setdefault(probe, Counter()).update(answers)
        self.latency.merge(other.latency)

    def as_dict(self, *, sample: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "generated": self.generated,
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": {r: self.skipped[r] for r in SKIP_REASONS if self.skipped[r]},
            "open": self.generated - self.delivered - self.failed - sum(self.skipped.values()),
            "attempts": sum(self.attempts.values()),
            "attempts_by_outcome": _ordered(self.attempts),
            "duplicates_sent": sum(self.duplicates.values()),
            "duplicates_by_outcome": _ordered(self.duplicates),
            "probes_sent": sum(sum(a.values()) for a in self.probes.values()),
            "probes": {
                probe: {"sent": sum(self.probes[probe].values()), **{a: self.probes[probe][a] for a in PROBE_ANSWERS}}
                for probe in PROBES
                if probe in self.probes
            },
            "latency": self.latency.as_dict(),
        }
        if sample:
            out["failed_sample"] = list(self.failed_sample)
        return out


def _ordered(counter: Counter[str]) -> dict[str, int]:
    known = {o: counter[o] for o in OUTCOMES if counter[o]}
    return {**known, **{o: n for o, n in sorted(counter.items()) if o not in known and n}}


class _Event:
    """An event past pending (in flight, or waiting for a retry): what its next transitions are checked against."""

    __slots__ = ("attempted", "attempts", "counters", "key", "last", "state")

    def __init__(self, counters: _Counters, state: str) -> None:
        self.key = counters.key
        self.counters = counters  # its kind's, found once when generated (not again per transition)
        self.state = state
        self.attempts = 0
        self.attempted = False  # an attempt was recorded since the last job_started
        self.last: Attempt | None = None


@dataclass(frozen=True)
class InvariantResult:
    """H-1.3: generated == delivered + failed + skipped + open (pending + in_flight + retry_scheduled)."""

    ok: bool
    generated: int
    delivered: int
    failed: int
    skipped: int
    pending: int
    in_flight: int
    retry_scheduled: int
    message: str

    @property
    def open(self) -> int:
        return self.pending + self.in_flight + self.retry_scheduled

    def __bool__(self) -> bool:
        """`if not ledger.check_invariant():` reads as intended."""
        return self.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "generated": self.generated, "delivered": self.delivered, "failed": self.failed,
            "skipped": self.skipped, "pending": self.pending, "in_flight": self.in_flight,
            "retry_scheduled": self.retry_scheduled, "message": self.message,
        }


@dataclass(frozen=True)
class Snapshot:
    """What a progress line shows; `elapsed_s` comes from the runner's monotonic clock."""

    elapsed_s: float
    generated: int
    delivered: int
    failed: int
    skipped: int
    pending: int
    in_flight: int
    retry_scheduled: int
    attempts: int
    p50_s: float | None
    p99_s: float | None
    invariant_ok: bool


# --- the ledger ---------------------------------------------------------------------------------------------


class Ledger:
    """Accounting for one run. Not thread-safe: one runner (one event loop) owns it."""

    def __init__(self, *, failed_ids_cap: int = FAILED_IDS_CAP, last_attempts_cap: int = LAST_ATTEMPTS_CAP,
                 failed_sample_cap: int = FAILED_SAMPLE_CAP) -> None:
        # a pending event needs nothing but its kind's counters: no _Event is made for the many that are
        # delivered at their first attempt (two dict operations per event, not an object)
        self._pending: dict[str, _Counters] = {}
        self._open: dict[str, _Event] = {}  # in flight or retry scheduled
        self._counters: dict[tuple[str, str], _Counters] = {}
        self._states: Counter[str] = Counter()  # of the events in _open
        self._failed_ids: list[str] = []
        self._failed_ids_more = 0
        self._last_attempts: list[dict[str, Any]] = []
        self._last_attempts_more = 0
        self._failed_ids_cap = failed_ids_cap
        self._last_attempts_cap = last_attempts_cap
        self._failed_sample_cap = failed_sample_cap

    # -- transitions --

    def generated(self, record: Outgoing) -> None:
        event_id = record.event_id
        if event_id in self._pending or event_id in self._open:
            raise HarnessError(f"event {event_id} generated twice")
        key = (record.provider, record.kind)
        counters = self._counters.get(key) or self._kind(key)
        self._pending[event_id] = counters
        counters.generated += 1

    def job_started(self, job: Job) -> None:
        """A job's first or next attempt begins. Only genuine jobs move the event (pending/retry -> in flight);
        for duplicates and probes this is a no-op, so a runner may call it for every job."""
        if job.copy == GENUINE:
            self.in_flight(job.record.event_id)

    def in_flight(self, event_id: str) -> None:
        """The genuine copy of `event_id` is being sent (the same transition as `job_started`, by id)."""
        counters = self._pending.pop(event_id, None)
        if counters is not None:
            self._open[event_id] = _Event(counters, IN_FLIGHT)
            self._states[IN_FLIGHT] += 1
            return
        event = self._event(event_id, "start an attempt")
        if event.state != RETRY_SCHEDULED:
            raise HarnessError(f"event {event_id}: attempt started while {event.state}")
        self._move(event, IN_FLIGHT)
        event.attempted = False

    def attempt_recorded(self, attempt: Attempt) -> None:
        if attempt.outcome not in OUTCOMES:
            raise HarnessError(f"unknown attempt outcome {attempt.outcome!r}")
        key = (attempt.provider, attempt.kind)
        if attempt.copy == GENUINE:
            event = self._event(attempt.event_id, "record an attempt")
            if event.state != IN_FLIGHT:
                raise HarnessError(f"event {attempt.event_id}: attempt recorded while {event.state}")
            if event.key != key:
                raise HarnessError(f"event {attempt.event_id}: attempt for {key}, generated as {event.key}")
            event.attempts += 1
            event.attempted = True
            event.last = attempt
            counters = event.counters
            counters.attempts[attempt.outcome] += 1
            if attempt.outcome == "2xx":
                counters.latency.add(attempt.latency_s)
        elif attempt.copy == DUPLICATE:
            counters = self._kind(key)
            counters.duplicates[attempt.outcome] += 1
            if attempt.outcome == "2xx":
                counters.latency.add(attempt.latency_s)
        elif attempt.copy in PROBES:
            self._kind(key).probes.setdefault(attempt.copy, Counter())[probe_answer(attempt.outcome)] += 1
        else:
            raise HarnessError(f"attempt with unknown copy {attempt.copy!r}")

    def delivered_at_once(self, event_id: str, latency_s: float) -> None:
        """The fast path of a genuine attempt that succeeded: start, a 2xx attempt and delivered, in one call and
        without an Attempt (the runner uses it when nobody captures or listens to attempts). The event must be
        pending or waiting for a retry."""
        counters = self._pending.pop(event_id, None)
        if counters is None:  # not pending: a retry's success, or a bug
            event = self._open.get(event_id)
            if event is None or event.state != RETRY_SCHEDULED:
                state = "not open" if event is None else event.state
                raise HarnessError(f"event {event_id}: delivered at once while {state}")
            self._close(event_id, event, DELIVERED)
            counters = event.counters
        counters.attempts["2xx"] += 1
        counters.latency.add(latency_s)
        counters.delivered += 1

    def retry_scheduled(self, event_id: str) -> None:
        event = self._attempted(event_id, "schedule a retry")
        self._move(event, RETRY_SCHEDULED)

    def delivered(self, event_id: str) -> None:
        event = self._attempted(event_id, "mark it delivered")
        if event.last is None or event.last.outcome != "2xx":
            outcome = event.last.outcome if event.last else None
            raise HarnessError(f"event {event_id}: marked delivered after a {outcome} attempt")
        self._close(event_id, event, DELIVERED)
        event.counters.delivered += 1

    def failed(self, event_id: str) -> None:
        event = self._attempted(event_id, "mark it failed")
        self._close(event_id, event, FAILED)
        counters = event.counters
        counters.failed += 1
        last = event.last
        assert last is not None  # _attempted guarantees one
        if len(self._failed_ids) < self._failed_ids_cap:
            self._failed_ids.append(event_id)
        else:
            self._failed_ids_more += 1
        if len(self._last_attempts) < self._last_attempts_cap:
            self._last_attempts.append(last.as_dict())
        else:
            self._last_attempts_more += 1
        if len(counters.failed_sample) < self._failed_sample_cap:
            counters.failed_sample.append({"event_id": event_id, "attempts": event.attempts,
                                           "outcome": last.outcome, "status": last.status, "error": last.error})

    def skipped(self, event_id: str, reason: str) -> None:
        if reason not in SKIP_REASONS:
            raise HarnessError(f"unknown skip reason {reason!r} (known: {', '.join(SKIP_REASONS)})")
        counters = self._pending.pop(event_id, None)
        if counters is None:
            event = self._event(event_id, f"skip it ({reason})")
            self._close(event_id, event, SKIPPED)
            counters = event.counters
        counters.skipped[reason] += 1

    def interrupt_remaining(self) -> int:
        """Shutdown: every event still open becomes skipped: interrupted (H-6). Returns how many."""
        count = 0
        for event_id, _ in self.open_events():
            self.skipped(event_id, "interrupted")
            count += 1
        return count

    # -- queries --

    def state(self, event_id: str) -> str | None:
        """The open state of `event_id`, or None once it ended (or was never generated)."""
        if event_id in self._pending:
            return PENDING
        event = self._open.get(event_id)
        return event.state if event else None

    def open_events(self, provider: str | None = None) -> Iterator[tuple[str, str]]:
        """(event_id, state) of every open event, optionally one provider's (e.g. to skip them when its
        endpoint answered 410, or on shutdown). A snapshot: safe to transition events while iterating."""
        for event_id, counters in list(self._pending.items()):
            if provider is None or counters.key[0] == provider:
                yield event_id, PENDING
        for event_id, event in list(self._open.items()):
            if provider is None or event.key[0] == provider:
                yield event_id, event.state

    @property
    def open_count(self) -> int:
        return len(self._pending) + len(self._open)

    def check_invariant(self, *, final: bool = False) -> InvariantResult:
        """The H-1.3 equation from independent counts; with `final`, open events are a violation too
        (unless the run is resumable, the runner must have closed them, e.g. skipped: interrupted)."""
        counters = self._counters.values()
        generated = sum(c.generated for c in counters)
        delivered = sum(c.delivered for c in counters)
        failed = sum(c.failed for c in counters)
        skipped = sum(sum(c.skipped.values()) for c in counters)
        pending = len(self._pending)
        in_flight, retrying = self._states[IN_FLIGHT], self._states[RETRY_SCHEDULED]
        open_ = pending + in_flight + retrying
        problems = []
        if generated != delivered + failed + skipped + open_:
            problems.append(f"generated {generated} != delivered {delivered} + failed {failed} "
                            f"+ skipped {skipped} + open {open_}")
        if in_flight + retrying != len(self._open) or any(n < 0 for n in self._states.values()):
            problems.append(f"open-state counts {dict(self._states)} disagree with {len(self._open)} events past "
                            "pending")
        if final and open_:
            problems.append(f"{open_} events still open at the end of the run")
        message = "; ".join(problems) if problems else (
            f"generated {generated} = delivered {delivered} + failed {failed} + skipped {skipped} + open {open_}")
        return InvariantResult(not problems, generated, delivered, failed, skipped, pending, in_flight, retrying,
                               message)

    def snapshot(self, elapsed_s: float = 0.0) -> Snapshot:
        """Counts for a progress line; `elapsed_s` (the runner's monotonic clock) gives the rate. Use
        `dataclasses.replace` to overlay what only the runner knows (e.g. its own in-flight count)."""
        total = _Counters()
        for counters in self._counters.values():
            total.merge(counters)
        invariant = self.check_invariant()
        return Snapshot(elapsed_s, total.generated, total.delivered, total.failed, sum(total.skipped.values()),
                        invariant.pending, invariant.in_flight, invariant.retry_scheduled,
                        sum(total.attempts.values()), total.latency.quantile(0.5), total.latency.quantile(0.99),
                        invariant.ok)

    def summary(self, *, final: bool = False) -> dict[str, Any]:
        """Everything a report needs, JSON-ready: totals, per provider and kind, the invariant, failed ids."""
        total = _Counters()
        providers: dict[str, dict[str, Any]] = {}
        for provider in sorted({p for p, _ in self._counters}):
            ptotal = _Counters()
            kinds = {}
            for (p, kind), counters in sorted(self._counters.items()):
                if p == provider:
                    kinds[kind] = counters.as_dict(sample=True)
                    ptotal.merge(counters)
            total.merge(ptotal)
            providers[provider] = {"totals": ptotal.as_dict(sample=False), "kinds": kinds}
        return {
            "invariant": self.check_invariant(final=final).as_dict(),
            "totals": total.as_dict(sample=False),
            "providers": providers,
            "failed_ids": list(self._failed_ids),
            "failed_ids_more": self._failed_ids_more,
            "failed_last_attempts": list(self._last_attempts),
            "failed_last_attempts_more": self._last_attempts_more,
        }

    # -- internals --

    def _kind(self, key: tuple[str, str]) -> _Counters:
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = _Counters(key)
        return counters

    def _event(self, event_id: str, action: str) -> _Event:
        event = self._open.get(event_id)
        if event is None:
            if event_id in self._pending:
                raise HarnessError(f"cannot {action}: event {event_id} is pending (no attempt started)")
            raise HarnessError(f"cannot {action}: event {event_id} is not open (already terminal, or never generated)")
        return event

    def _attempted(self, event_id: str, action: str) -> _Event:
        event = self._event(event_id, action)
        if event.state != IN_FLIGHT or not event.attempted:
            raise HarnessError(f"cannot {action}: event {event_id} is {event.state} with no attempt recorded "
                               "since it started")
        return event

    def _move(self, event: _Event, state: str) -> None:
        self._states[event.state] -= 1
        self._states[state] += 1
        event.state = state

    def _close(self, event_id: str, event: _Event, terminal: str) -> None:
        self._states[event.state] -= 1
        del self._open[event_id]
        event.state = terminal
