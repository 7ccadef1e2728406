"""Generation in a worker process (`fleetsim run --rate max`): the same records and plan as generating in-process,
exact accounting through the fast path with faults on, captures still complete, and no process outlives a run
however it stops. Real processes, real pipes, real sockets; no timing assertions beyond the promised grace."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from simulator.delivery import runner as runner_module
from simulator.delivery.capture import CaptureWriter, read_capture
from simulator.delivery.ledger import Ledger
from simulator.delivery.runner import Runner
from simulator.delivery.source import InlineSource, SourceSpec, WorkerSource, plan_groups
from simulator.errors import UsageError
from simulator.scenario.model import Faults, Scenario
from simulator.stream import scenario_stream

from . import hostile
from .test_runner import config, tiny

FAULTS = Faults(duplicate=0.2, drop=0.1, reorder_window=5, jitter_ms=20, tamper_signature=0.1,
                stale_timestamp=0.1, future_timestamp=0.1, corrupt_body=0.1)


def with_faults(scenario: Scenario, faults: Faults = FAULTS) -> Scenario:
    return dataclasses.replace(scenario, delivery=dataclasses.replace(scenario.delivery, faults=faults))


def spec_of(scenario: Scenario, limit: int | None = 150) -> SourceSpec:
    runner = Runner(config(scenario, "http://127.0.0.1:9", limit=limit))
    return runner.source_spec()


async def worker_groups(spec: SourceSpec) -> list[Any]:
    source = WorkerSource(spec)
    await source.start()
    try:
        return [group async for batch in source.batches() for group in batch]
    finally:
        await source.close()


def exists(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not: it has exited and only waits to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "State:\tZ" not in status


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


# --- the same records and the same plan -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["samsara", "smartgps", "powunity"])
async def test_the_worker_gives_exactly_the_records_and_plan_of_inline_generation(provider: str) -> None:
    spec = spec_of(with_faults(tiny(provider)))
    inline = list(plan_groups(spec))
    remote = await worker_groups(spec)
    assert len(inline) == (35 if provider == "powunity" else 150)  # tiny's PowUnity sends few webhooks
    assert [(dataclasses.astuple(r), plan) for r, plan in remote] == [(dataclasses.astuple(r), p) for r, p in inline]
    # the plan is not trivial: drops, duplicates, probes and reordered records are all in it
    plans = [plan for _, plan in inline]
    assert "fault_drop" in plans
    copies = {copy for plan in plans if not isinstance(plan, str) for copy, _ in plan}
    assert {"genuine", "duplicate", "corrupt_body"} <= copies
    # same seed, same bytes before signing: the records are scenario_stream's own, body and headers alike
    stream = list(itertools.islice(scenario_stream(spec.scenario, providers=set(spec.providers),
                                                   channels={"webhook"}), len(inline)))
    assert sorted(dataclasses.astuple(r) for r, _ in remote) == sorted(dataclasses.astuple(r) for r in stream)


async def test_the_plan_is_the_same_on_every_run_and_for_either_source() -> None:
    spec = spec_of(with_faults(tiny("samsara")), limit=60)
    first = [(r.event_id, plan) for batch in [b async for b in InlineSource(spec).batches()] for r, plan in batch]
    again = [(r.event_id, plan) for r, plan in await worker_groups(spec)]
    assert first == again


async def test_a_generation_error_in_the_worker_is_the_same_error_as_inline() -> None:
    spec = spec_of(with_faults(tiny("samsara"), Faults(duplicate=1.5)))  # a share above 1: the user's mistake
    with pytest.raises(UsageError, match=r"faults\.duplicate"):
        list(plan_groups(spec))
    with pytest.raises(UsageError, match=r"faults\.duplicate"):
        await worker_groups(spec)


async def test_closing_the_source_early_stops_and_reaps_the_worker() -> None:
    source = WorkerSource(spec_of(tiny("smartgps"), limit=None))
    await source.start()
    pid = source.pid
    assert pid is not None
    batches = source.batches()
    assert await batches.__anext__()  # it is generating, and the pipe is full behind this batch
    await source.close()
    assert not exists(pid)


# --- accounting through the fast path, with faults on ------------------------------------------------------------


def flaky() -> hostile.HostileServer:
    """200 to most requests, 500 to every 7th: events are delivered, retried and failed in one run."""
    def answer(server: hostile.HostileServer, request: hostile.Request) -> bytes:
        if server.requests % 7 == 0:
            return hostile.response(500, "Internal Server Error", b"boom")
        return hostile.response(200, "OK", b"{}")

    return hostile._responder("flaky", answer, ssl=None)


async def test_accounting_is_exact_with_faults_on_through_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    fast: list[str] = []
    full: list[tuple[str, str]] = []
    original_fast, original_full = Ledger.delivered_at_once, Ledger.attempt_recorded

    def spy_fast(self: Ledger, event_id: str, latency_s: float) -> None:
        fast.append(event_id)
        original_fast(self, event_id, latency_s)

    def spy_full(self: Ledger, attempt: Any) -> None:
        full.append((attempt.event_id, attempt.copy))
        original_full(self, attempt)

    monkeypatch.setattr(Ledger, "delivered_at_once", spy_fast)
    monkeypatch.setattr(Ledger, "attempt_recorded", spy_full)
    scenario = with_faults(tiny("samsara"))
    server = flaky()
    async with server as url:
        runner = Runner(config(scenario, url.removesuffix("/hook"), limit=150, generation="worker",
                               concurrency=8, time_scale=1e6))
        await runner.run()
    summary = runner.summary()
    totals = summary["totals"]
    assert summary["invariant"]["ok"], summary["invariant"]
    assert totals["generated"] == 150 == totals["delivered"] + totals["failed"] + totals["skipped"]
    assert totals["open"] == 0
    assert totals["skipped_by_reason"]["fault_drop"] > 0
    assert totals["duplicates_sent"] > 0 and totals["probes_sent"] > 0
    # every success took the fast path (no Attempt); failed attempts, duplicates and probes the full one
    assert totals["delivered"] == len(fast) > 100
    genuine_full = sum(1 for _, copy in full if copy == "genuine")
    assert totals["attempts"] == len(fast) + genuine_full and genuine_full > 0
    assert totals["attempts_by_outcome"]["5xx"] == genuine_full
    assert server.requests == runner.requests_sent()
    assert totals["attempts"] + totals["duplicates_sent"] + totals["probes_sent"] == server.requests


async def test_inline_and_worker_runs_account_the_same_events() -> None:
    scenario = with_faults(tiny("smartgps"))
    results = []
    for generation in ("inline", "worker"):
        async with hostile.ok() as url:
            runner = Runner(config(scenario, url.removesuffix("/hook"), limit=120, generation=generation))
            await runner.run()
        totals = runner.summary()["totals"]
        results.append({k: totals[k] for k in ("generated", "delivered", "failed", "skipped_by_reason",
                                                "duplicates_sent", "probes_sent")})
    assert results[0] == results[1]
    assert results[0]["generated"] == 120 and results[0]["delivered"] > 0


async def test_a_capture_still_records_every_request_with_the_worker(tmp_path: Path) -> None:
    scenario = with_faults(tiny("samsara"))
    path = tmp_path / "c.ndjson"
    capture = CaptureWriter(path)
    async with hostile.ok() as url:
        runner = Runner(config(scenario, url.removesuffix("/hook"), limit=80, generation="worker", capture=capture))
        await runner.run()
    capture.close()
    totals = runner.summary()["totals"]
    lines = list(read_capture(path))
    assert len(lines) == runner.requests_sent() == totals["attempts"] + totals["duplicates_sent"] + \
        totals["probes_sent"]
    delivered = {line.event_id for line in lines if line.copy == "genuine"}
    assert len(delivered) == totals["delivered"] == 80 - totals["skipped"]


def test_an_unknown_generation_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="generation must be one of inline, worker"):
        config(tiny("samsara"), "http://127.0.0.1:9", generation="threads")


def test_the_runner_defaults_to_inline_generation() -> None:
    # library callers and the conformance harness: no process of their own unless asked
    assert runner_module.RunConfig.__dataclass_fields__["generation"].default == "inline"


# --- stopping: no process outlives the run -----------------------------------------------------------------------


SCENARIO = """
name: worker-stop
seed: 5
start: "2026-03-03T08:00:00"
duration: 6h
region: {city: chicago}
report_intervals: {moving: 5s}
fleet:
  - {name: g, count: 6, provider: smartgps, profile: van, risk: high, stops_per_trip: 2}
delivery:
  rate: max
  providers:
    smartgps: {secret: "worker-stop-secret"}
"""


#: a month of it: ~50,000 webhooks, which no host delivers before a test has stopped the run (6 hours' 410 were
#: all delivered within 0.3 s on a quick one)
LONG_SCENARIO = SCENARIO.replace("duration: 6h", "duration: 30d")


async def start_run(tmp_path: Path, url: str, *extra: str,
                    scenario: str = SCENARIO) -> tuple[asyncio.subprocess.Process, int]:
    path = tmp_path / "s.yaml"
    path.write_text(scenario)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "run", str(path), "--target", url, "--quiet", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (kids := children(proc.pid)):
        assert time.monotonic() < deadline, "the generation worker never started"
        await asyncio.sleep(0.02)
    return proc, kids[0]


@pytest.mark.parametrize(("sig", "group"), [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["sigint", "sigterm", "ctrl-c-to-the-process-group"])
async def test_a_signal_stops_run_rate_max_within_the_grace_and_leaves_no_worker(tmp_path: Path, sig: signal.Signals,
                                                                                 group: bool) -> None:
    report = tmp_path / "r.json"
    server = hostile.hang()  # requests stay in flight: the worker is blocked on a full pipe meanwhile
    async with server as url:
        proc, worker = await start_run(tmp_path, url, "--grace", "1", "--timeout", "60", "--down-after", "0",
                                       "--concurrency", "4", "--report", f"json:{report}")
        assert exists(worker)
        while server.connections < 4:
            await asyncio.sleep(0.02)
        signalled = time.monotonic()
        if group:  # what a terminal's Ctrl-C does: the worker gets it too, and must leave stopping to the run
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
        took = time.monotonic() - signalled
    assert proc.returncode == 130, err.decode()
    assert took < 1 + 2.0, took  # the grace, plus process teardown
    assert not exists(worker)  # killed and reaped by the run, not left to init
    assert b"Traceback" not in err and b"error" not in err, err.decode()
    doc = json.loads(report.read_text())
    assert doc["invariant"]["ok"] and doc["exit_code"] == 130
    totals = doc["summary"]["totals"]
    assert totals["generated"] == totals["delivered"] + totals["failed"] + totals["skipped"]


async def test_a_killed_run_leaves_no_worker_behind(tmp_path: Path) -> None:
    server = hostile.ok()
    async with server as url:
        proc, worker = await start_run(tmp_path, url.removesuffix("/hook"), scenario=LONG_SCENARIO)
        deadline = time.monotonic() + 30
        while server.requests < 10:  # delivering
            assert time.monotonic() < deadline and proc.returncode is None, "the run never delivered"
            await asyncio.sleep(0.02)
        proc.kill()  # no chance to clean up: the worker must notice the closed pipe by itself
        await proc.wait()
        deadline = time.monotonic() + 10
        while exists(worker):
            assert time.monotonic() < deadline, "the worker outlived its run"
            await asyncio.sleep(0.05)
