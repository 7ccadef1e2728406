"""Ledger: valid transitions keep the H-1.3 invariant, invalid ones raise, one terminal state per event,
per-event memory is released at the terminal transition, the histogram's quantiles are close."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.delivery.ledger import (
    IN_FLIGHT,
    PENDING,
    RETRY_SCHEDULED,
    LatencyHistogram,
    Ledger,
)
from simulator.delivery.model import DUPLICATE, GENUINE, OUTCOMES, PROBES, SKIP_REASONS, Attempt, Job
from simulator.errors import HarnessError
from simulator.stream import Outgoing

PROVIDERS = ("samsara", "powunity")
KINDS = ("a", "b")


def rec(i: int) -> Outgoing:
    return Outgoing(i, f"ev-{i}", PROVIDERS[i % 2], KINDS[(i // 2) % 2], "webhook", "d", 0.0, {}, b"{}", "x")


def attempt(i: int, outcome: str = "2xx", *, copy: str = GENUINE, n: int = 1, latency: float = 0.01) -> Attempt:
    r = rec(i)
    status = {"2xx": 200, "3xx": 302, "4xx": 400, "5xx": 500, "429": 429}.get(outcome)
    return Attempt(r.event_id, r.provider, r.kind, copy, n, "https://example.test/hook", 0.0, latency, outcome,
                   status)


def deliver(ledger: Ledger, i: int, *, outcome: str = "2xx") -> None:
    ledger.generated(rec(i))
    ledger.job_started(Job(rec(i)))
    ledger.attempt_recorded(attempt(i, outcome))
    if outcome == "2xx":
        ledger.delivered(rec(i).event_id)
    else:
        ledger.failed(rec(i).event_id)


# --- model-based property ---------------------------------------------------------------------------------


@dataclass
class Model:
    state: dict[int, str] = field(default_factory=dict)  # open states and terminal ones
    attempted: dict[int, bool] = field(default_factory=dict)
    last: dict[int, str] = field(default_factory=dict)

    def count(self, s: str) -> int:
        return sum(1 for v in self.state.values() if v == s)


OP_NAMES = ("generate", "start", "attempt", "retry", "deliver", "fail", "skip", "at_once", "extra")
EXTRA_COPIES = (DUPLICATE, *PROBES)
ATTEMPT_OUTCOMES = ("2xx", "2xx", *OUTCOMES)
#: one step: (wild?, event, choice, detail): cheap integers that `make_op` turns into an operation. Drawn from a
#: hypothesis-seeded Random so choices spread evenly (hypothesis favours 0, which would always pick the first op)
STEPS = st.randoms(use_true_random=False).map(
    lambda rng: [(rng.randrange(6), rng.randrange(5), rng.randrange(10_000), rng.randrange(10_000))
                 for _ in range(rng.randrange(81))]
)


def apply(ledger: Ledger, model: Model, op: tuple[object, ...]) -> None:
    name, i = op[0], op[1]
    assert isinstance(i, int)
    eid = rec(i).event_id
    state = model.state.get(i)
    is_open = state in (PENDING, IN_FLIGHT, RETRY_SCHEDULED)
    attempted = state == IN_FLIGHT and model.attempted.get(i, False)
    action: Callable[[], None]
    if name == "generate":
        if state is not None and not is_open:
            return  # re-generating an ended event cannot be detected without per-event memory (documented)
        valid = state is None
        action = lambda: ledger.generated(rec(i))  # noqa: E731
        new = PENDING
    elif name == "start":
        valid = state in (PENDING, RETRY_SCHEDULED)
        action = lambda: ledger.job_started(Job(rec(i)))  # noqa: E731
        new = IN_FLIGHT
    elif name == "attempt":
        outcome = str(op[2])
        valid = state == IN_FLIGHT
        action = lambda: ledger.attempt_recorded(attempt(i, outcome))  # noqa: E731
        new = IN_FLIGHT
    elif name == "retry":
        valid = attempted
        action = lambda: ledger.retry_scheduled(eid)  # noqa: E731
        new = RETRY_SCHEDULED
    elif name == "deliver":
        valid = attempted and model.last.get(i) == "2xx"
        action = lambda: ledger.delivered(eid)  # noqa: E731
        new = "delivered"
    elif name == "fail":
        valid = attempted
        action = lambda: ledger.failed(eid)  # noqa: E731
        new = "failed"
    elif name == "at_once":  # the runner's fast path: start, a 2xx attempt and delivered in one call
        valid = state in (PENDING, RETRY_SCHEDULED)
        action = lambda: ledger.delivered_at_once(eid, 0.01)  # noqa: E731
        new = "delivered"
    elif name == "skip":
        reason = str(op[2])
        valid = is_open
        action = lambda: ledger.skipped(eid, reason)  # noqa: E731
        new = "skipped"
    else:  # duplicates and probes: counted, never a state change, never an error
        ledger.attempt_recorded(attempt(i, str(op[3]), copy=str(op[2])))
        return
    if not valid:
        with pytest.raises(HarnessError):
            action()
        return
    action()
    model.state[i] = new
    if name == "start":
        model.attempted[i] = False
    if name == "attempt":
        model.attempted[i] = True
        model.last[i] = str(op[2])


def valid_ops(model: Model, i: int) -> list[str]:
    """The operations the model allows on event i (the strategy below prefers them, to reach deep states)."""
    state = model.state.get(i)
    if state is None:
        return ["generate"]
    ops = {PENDING: ["start"] * 4 + ["skip", "at_once"],
           RETRY_SCHEDULED: ["start"] * 4 + ["skip", "at_once"]}.get(state, [])
    if state == IN_FLIGHT:
        ops = ["attempt"] * 4 + ["skip"]
        if model.attempted.get(i):
            ops += ["retry", "fail"] + (["deliver"] * 6 if model.last.get(i) == "2xx" else [])
    return [*ops, "extra"]


def make_op(model: Model, step: tuple[int, int, int, int]) -> tuple[object, ...]:
    wild, i, choice, detail = step
    # one step in six is any operation at all (mostly invalid); the others are valid for the event
    name = OP_NAMES[choice % len(OP_NAMES)] if wild == 0 else (lambda ops: ops[choice % len(ops)])(valid_ops(model, i))
    if name == "attempt":
        return (name, i, ATTEMPT_OUTCOMES[detail % len(ATTEMPT_OUTCOMES)])
    if name == "skip":
        return (name, i, SKIP_REASONS[detail % len(SKIP_REASONS)])
    if name == "extra":
        return (name, i, EXTRA_COPIES[detail % len(EXTRA_COPIES)], OUTCOMES[(detail // 7) % len(OUTCOMES)])
    return (name, i)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_random_transitions_keep_the_invariant(steps: list[tuple[int, int, int, int]]) -> None:
    ledger, model = Ledger(), Model()
    for step in steps:
        apply(ledger, model, make_op(model, step))
        inv = ledger.check_invariant()
        assert inv.ok, inv.message
        assert (inv.delivered, inv.failed, inv.skipped) == (
            model.count("delivered"), model.count("failed"), model.count("skipped"))
        assert (inv.pending, inv.in_flight, inv.retry_scheduled) == (
            model.count(PENDING), model.count(IN_FLIGHT), model.count(RETRY_SCHEDULED))
        assert inv.generated == len(model.state)
        for i, s in model.state.items():
            assert ledger.state(rec(i).event_id) == (s if s in (PENDING, IN_FLIGHT, RETRY_SCHEDULED) else None)
    final = ledger.check_invariant(final=True)
    assert final.ok == (final.open == 0)
    summary = ledger.summary()
    assert summary["invariant"]["ok"]
    assert summary["totals"]["generated"] == len(model.state)


# --- specific rules -----------------------------------------------------------------------------------------


def test_exactly_one_terminal_state() -> None:
    ledger = Ledger()
    deliver(ledger, 1)
    eid = rec(1).event_id
    seconds: tuple[Callable[[], None], ...] = (
        lambda: ledger.delivered(eid), lambda: ledger.failed(eid), lambda: ledger.skipped(eid, "interrupted"),
        lambda: ledger.job_started(Job(rec(1))), lambda: ledger.attempt_recorded(attempt(1)),
        lambda: ledger.retry_scheduled(eid),
    )
    for second in seconds:
        with pytest.raises(HarnessError):
            second()
    assert ledger.summary()["totals"]["delivered"] == 1


def test_invalid_transitions_raise() -> None:
    ledger = Ledger()
    r = rec(1)
    with pytest.raises(HarnessError):
        ledger.job_started(Job(r))  # never generated
    ledger.generated(r)
    with pytest.raises(HarnessError):
        ledger.generated(r)  # twice
    with pytest.raises(HarnessError):
        ledger.attempt_recorded(attempt(1))  # not started
    with pytest.raises(HarnessError):
        ledger.delivered(r.event_id)  # no attempt
    ledger.job_started(Job(r))
    with pytest.raises(HarnessError):
        ledger.job_started(Job(r))  # already in flight
    with pytest.raises(HarnessError):
        ledger.failed(r.event_id)  # in flight but no attempt yet
    ledger.attempt_recorded(attempt(1, "5xx"))
    with pytest.raises(HarnessError):
        ledger.delivered(r.event_id)  # the last attempt was not a 2xx
    with pytest.raises(HarnessError):
        ledger.skipped(r.event_id, "dropped_by_fault")  # unknown reason
    bad = attempt(1)
    bad.outcome = "teapot"
    with pytest.raises(HarnessError):
        ledger.attempt_recorded(bad)
    mismatched = attempt(1)
    mismatched.kind = "other"
    with pytest.raises(HarnessError):
        ledger.attempt_recorded(mismatched)
    ledger.retry_scheduled(r.event_id)
    with pytest.raises(HarnessError):
        ledger.retry_scheduled(r.event_id)
    ledger.job_started(Job(r))
    ledger.attempt_recorded(attempt(1, "2xx", n=2))
    ledger.delivered(r.event_id)
    assert ledger.check_invariant(final=True).ok


def test_extra_copies_never_touch_state() -> None:
    ledger = Ledger()
    deliver(ledger, 1)
    # a duplicate and probes arriving after the event ended are fine
    ledger.attempt_recorded(attempt(1, "2xx", copy=DUPLICATE))
    ledger.attempt_recorded(attempt(1, "4xx", copy="tampered_signature"))
    ledger.attempt_recorded(attempt(1, "2xx", copy="stale_timestamp"))
    ledger.attempt_recorded(attempt(1, "5xx", copy="corrupt_body"))
    ledger.attempt_recorded(attempt(1, "reset", copy="future_timestamp"))
    ledger.job_started(Job(rec(1), DUPLICATE))  # no-op for extra copies
    with pytest.raises(HarnessError):
        ledger.attempt_recorded(attempt(1, copy="bogus"))
    kind = ledger.summary()["providers"]["powunity"]["kinds"]["a"]
    assert kind["duplicates_sent"] == 1 and kind["probes_sent"] == 4 and kind["attempts"] == 1
    assert kind["probes"]["tampered_signature"] == {"sent": 1, "rejected_4xx": 1, "accepted_2xx": 0,
                                                    "server_error_5xx": 0, "other": 0}
    assert kind["probes"]["stale_timestamp"]["accepted_2xx"] == 1
    assert kind["probes"]["corrupt_body"]["server_error_5xx"] == 1
    assert kind["probes"]["future_timestamp"]["other"] == 1
    assert list(kind["probes"]) == list(PROBES)


def test_final_invariant_requires_closed_events_and_open_events_listing() -> None:
    ledger = Ledger()
    for i in range(6):
        ledger.generated(rec(i))
    ledger.job_started(Job(rec(0)))
    assert ledger.check_invariant().ok
    assert not ledger.check_invariant(final=True).ok
    assert sorted(ledger.open_events("samsara")) == [("ev-0", IN_FLIGHT), ("ev-2", PENDING), ("ev-4", PENDING)]
    for event_id, _ in ledger.open_events():  # e.g. shutdown: everything still open is interrupted
        ledger.skipped(event_id, "interrupted")
    inv = ledger.check_invariant(final=True)
    assert inv.ok and inv.skipped == 6 and ledger.open_count == 0


def test_runner_conveniences() -> None:
    ledger = Ledger()
    for i in range(4):
        ledger.generated(rec(i))
    ledger.in_flight(rec(0).event_id)  # by id: same transition as job_started(Job(...))
    assert ledger.state(rec(0).event_id) == IN_FLIGHT
    with pytest.raises(HarnessError):
        ledger.in_flight(rec(0).event_id)
    ledger.attempt_recorded(attempt(0, "5xx"))
    ledger.retry_scheduled(rec(0).event_id)
    assert ledger.check_invariant()  # truthy when it holds ...
    assert not ledger.check_invariant(final=True)  # ... falsy when it does not
    assert ledger.interrupt_remaining() == 4
    assert ledger.check_invariant(final=True)
    assert ledger.summary()["totals"]["skipped_by_reason"] == {"interrupted": 4}
    assert ledger.snapshot().elapsed_s == 0.0


def test_summary_contents() -> None:
    ledger = Ledger(failed_ids_cap=3, last_attempts_cap=2, failed_sample_cap=2)
    for i in range(20):
        deliver(ledger, i, outcome="2xx" if i % 4 else "5xx")  # 5 failures (0, 4, 8, 12, 16)
    ledger.generated(rec(21))
    ledger.skipped(rec(21).event_id, "fault_drop")
    s = ledger.summary(final=True)
    assert s["invariant"]["ok"]
    totals = s["totals"]
    assert (totals["generated"], totals["delivered"], totals["failed"], totals["skipped"]) == (21, 15, 5, 1)
    assert totals["skipped_by_reason"] == {"fault_drop": 1}
    assert totals["attempts_by_outcome"] == {"2xx": 15, "5xx": 5}
    assert s["failed_ids"] == ["ev-0", "ev-4", "ev-8"] and s["failed_ids_more"] == 2
    assert len(s["failed_last_attempts"]) == 2 and s["failed_last_attempts_more"] == 3
    assert s["failed_last_attempts"][0]["outcome"] == "5xx"
    assert set(s["providers"]) == {"samsara", "powunity"}
    kind = s["providers"]["samsara"]["kinds"]["a"]  # i % 4 == 0: every one failed
    assert kind["failed"] == 5 and len(kind["failed_sample"]) == 2
    assert kind["failed_sample"][0] == {"event_id": "ev-0", "attempts": 1, "outcome": "5xx", "status": 500,
                                        "error": None}
    assert totals["latency"]["count"] == 15


def test_snapshot() -> None:
    ledger = Ledger()
    for i in range(10):
        deliver(ledger, i)
    ledger.generated(rec(10))
    snap = ledger.snapshot(2.0)
    assert (snap.delivered, snap.pending, snap.attempts, snap.invariant_ok) == (10, 1, 10, True)
    assert snap.p50_s == pytest.approx(0.01, rel=0.07)


def test_memory_is_released_after_200k_deliveries() -> None:
    ledger = Ledger()
    r = rec(0)
    a = attempt(0)
    for i in range(200_000):
        eid = f"ev-{i}"
        r.event_id = eid
        a.event_id = eid
        ledger.generated(r)
        if i % 2:  # the runner's fast path, half of the time
            ledger.delivered_at_once(eid, 0.01)
            continue
        ledger.job_started(Job(r))
        ledger.attempt_recorded(a)
        ledger.delivered(eid)
    assert ledger.open_count == 0
    assert len(ledger._open) == len(ledger._pending) == 0
    # the dicts did not keep 200k slots
    assert sys.getsizeof(ledger._open) < 10_000 and sys.getsizeof(ledger._pending) < 10_000
    assert len(ledger._counters) == 1
    s = ledger.summary(final=True)
    assert s["invariant"]["ok"] and s["totals"]["delivered"] == 200_000
    assert s["failed_ids"] == []


def test_failed_ids_are_capped() -> None:
    ledger = Ledger()
    for i in range(1500):
        deliver(ledger, i, outcome="timeout_total")
    s = ledger.summary()
    assert len(s["failed_ids"]) == 1000 and s["failed_ids_more"] == 500
    assert len(s["failed_last_attempts"]) == 100 and s["failed_last_attempts_more"] == 1400
    assert all(len(k["failed_sample"]) <= 20 for p in s["providers"].values() for k in p["kinds"].values())


# --- histogram -----------------------------------------------------------------------------------------------


def test_histogram_quantiles_within_bucket_error() -> None:
    rng = random.Random(4)
    values = sorted(rng.lognormvariate(-4, 1.5) for _ in range(50_000))
    h = LatencyHistogram()
    for v in values:
        h.add(v)
    for q in (0.5, 0.9, 0.99):
        exact = values[int(q * len(values)) - 1]
        got = h.quantile(q)
        assert got is not None
        assert got == pytest.approx(exact, rel=0.07), q
    assert len(h.counts) == len(LatencyHistogram.BOUNDS) + 1
    assert LatencyHistogram.BOUNDS[0] == pytest.approx(1e-4) and LatencyHistogram.BOUNDS[-1] == 60.0


def test_histogram_edges() -> None:
    h = LatencyHistogram()
    assert h.quantile(0.5) is None and h.as_dict()["p50_ms"] is None
    h.add(0.0)
    h.add(1e-6)
    h.add(120.0)
    assert h.quantile(1.0) == 120.0  # overflow bucket reports the exact max
    assert h.quantile(0.1) == pytest.approx(5e-5)
    assert h.as_dict()["buckets"][-1] == {"le_ms": "inf", "count": 1}
    with pytest.raises(HarnessError):
        h.add(-1.0)
    with pytest.raises(HarnessError):
        h.quantile(0)
    other = LatencyHistogram()
    other.add(0.5)
    h.merge(other)
    assert h.count == 4 and h.max_s == 120.0
