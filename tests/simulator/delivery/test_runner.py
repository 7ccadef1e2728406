"""`fleetsim run` over real sockets: against the reference receiver, and against receivers that fail in
every way we know. fleetsim must never crash and never lose track of an event."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from simulator.delivery.capture import CaptureWriter, read_capture
from simulator.delivery.replay import replay
from simulator.delivery.runner import RunConfig, Runner
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario, load_scenario_text
from simulator.scenario.model import Rate, Scenario
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.signing import SIGNERS, CIHeaders, Secret
from simulator.signing.samsara import SamsaraSigner

from . import hostile

SAMSARA_SECRET = "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"


def tiny(provider: str, *, extra: str = "") -> Scenario:
    """A few minutes of one provider's traffic: enough events, quick to run."""
    profile = "e-bike" if provider == "powunity" else "van"
    settings = {
        "samsara": f'samsara: {{secret: "{SAMSARA_SECRET}", org_id: 4000}}',
        "smartgps": 'smartgps: {secret: "tiny-secret"}',
        "powunity": 'powunity: {psk: "Bearer tiny"}',
        "mettax": "mettax: {envelope: json}",
        "standard_webhooks": 'standard_webhooks: {secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}',
    }[provider]
    text = f"""
name: tiny-{provider}
seed: 3
start: "2026-03-03T08:00:00"
duration: 3h
region: {{city: chicago}}
report_intervals: {{moving: 5s}}
fleet:
  - {{name: g, count: 3, provider: {provider}, profile: {profile}, risk: high, stops_per_trip: 2}}
injections:
  - {{at: 1m, device: g/1, event: sos}}
  - {{at: 2m, device: g/2, event: power_cut}}
delivery:
  providers:
    {settings}
{extra}
"""
    return load_scenario_text(text, f"<tiny-{provider}>")


def config(scenario: Scenario, target: str, **kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(scenario=scenario, target=target, settings=scenario.delivery.providers,
                                rate=Rate("max"), concurrency=8, time_scale=1e6, timeout_s=0.5, limit=12,
                                grace_s=2.0)
    base.update(kw)
    return RunConfig(**base)


async def run(cfg: RunConfig) -> tuple[Runner, dict[str, Any]]:
    runner = Runner(cfg)
    await runner.run()
    summary = runner.summary()
    assert summary["invariant"]["ok"], summary["invariant"]
    return runner, summary


async def test_end_to_end_against_the_reference_receiver() -> None:
    scenario = load_scenario(scenarios_dir() / "demo-city.yaml")
    store = Store()
    server, url = await start_receiver(scenario.delivery.providers, store)
    try:
        _, summary = await run(config(scenario, url, limit=400, timeout_s=5.0))
        counts = await store.counts()
    finally:
        await stop_receiver(server)
        await store.close()
    totals = summary["totals"]
    assert totals["generated"] == 400 and totals["delivered"] == 400 and totals["failed"] == 0
    accepted = sum(c["accepted"] for c in counts.values())
    caught = sum(c["duplicate"] for c in counts.values())
    assert accepted == 400  # every event processed exactly once...
    assert caught == totals["duplicates_sent"]  # ...and every duplicate recognised as one
    for probe in totals["probes"].values():
        assert probe["accepted_2xx"] == 0 and probe["rejected_4xx"] == probe["sent"]


@pytest.mark.parametrize(
    ("server", "outcome"),
    [
        (hostile.crash_mid_request, "reset"),
        (hostile.hang, "timeout_total"),
        (hostile.trickle, "timeout_total"),
        (hostile.reset, "reset"),
        (hostile.error_500, "5xx"),
        (hostile.malformed, "protocol_error"),
    ],
    ids=["crash", "hang", "trickle", "reset", "500", "malformed"],
)
async def test_failing_receivers_keep_exact_accounting(server: Any, outcome: str) -> None:
    async with server() as url:
        # PowUnity never re-sends: one attempt per event, every event failed
        _, summary = await run(config(tiny("powunity"), url))
    totals = summary["totals"]
    assert totals["generated"] == 12 and totals["failed"] == 12 and totals["delivered"] == 0
    assert totals["attempts"] == 12
    outcomes = set(totals["attempts_by_outcome"])
    assert outcome in outcomes
    # a receiver that answers garbage may also leave some connections hanging until the deadline
    assert outcomes <= {outcome, "timeout_total", "timeout_connect"}


async def test_samsara_retries_until_it_gives_up() -> None:
    async with hostile.error_500() as url:
        _, summary = await run(config(tiny("samsara"), url, limit=4))
    totals = summary["totals"]
    assert totals["failed"] == totals["generated"] == 4
    assert totals["attempts"] == 4 * 10  # the standard-webhooks schedule: 10 attempts, time-scaled


async def test_retry_after_429_then_delivered() -> None:
    async with hostile.throttle(n=3, retry_after="1") as url:
        _, summary = await run(config(tiny("samsara"), url, limit=3, concurrency=1))
    totals = summary["totals"]
    assert totals["delivered"] == 3 and totals["failed"] == 0
    assert totals["attempts_by_outcome"].get("429") == 3


async def test_redirects_are_failures_and_never_followed() -> None:
    async with hostile.ok() as elsewhere, hostile.redirect(elsewhere) as url:
        _, summary = await run(config(tiny("samsara"), url, limit=3))
    totals = summary["totals"]
    assert totals["failed"] == 3 and set(totals["attempts_by_outcome"]) == {"3xx"}


async def test_410_stops_the_endpoint() -> None:
    async with hostile.gone() as url:
        runner, summary = await run(config(tiny("samsara"), url, limit=10, concurrency=1))
    totals = summary["totals"]
    assert totals["failed"] == 1 and totals["delivered"] == 0 and totals["attempts"] == 1
    # every other event of the run is accounted as skipped, with the reason
    assert totals["generated"] == 10 and totals["skipped_by_reason"] == {"endpoint_gone_410": 9}
    assert summary["run"]["endpoints_stopped"]["samsara"]["reason"] == "endpoint_gone_410"
    assert any("endpoint stopped (endpoint_gone_410)" in note for note in runner.notes())


async def test_unreachable_target_is_an_outcome_not_a_crash() -> None:
    _, summary = await run(config(tiny("smartgps"), "http://127.0.0.1:9", limit=5))
    totals = summary["totals"]
    assert totals["failed"] == 5 and set(totals["attempts_by_outcome"]) == {"conn_refused"}


async def test_interrupt_accounts_for_everything() -> None:
    async with hostile.ok() as url:
        runner = Runner(config(tiny("mettax"), url, limit=None, rate=Rate("factor", 60.0)))
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(1.0)
        runner.stop()
        await asyncio.wait_for(task, 10)
    summary = runner.summary()
    totals = summary["totals"]
    assert summary["invariant"]["ok"]
    assert runner.interrupted and totals["generated"] > 0
    assert totals["generated"] == totals["delivered"] + totals["failed"] + totals["skipped"]


async def test_faults_are_labelled_and_probes_rejected_by_a_correct_receiver() -> None:
    faults = ("  faults: {duplicate: 0.3, tamper_signature: 0.3, stale_timestamp: 0.3, future_timestamp: 0.3,\n"
              "           corrupt_body: 0.3, drop: 0.2, reorder_window: 3}")
    scenario = tiny("samsara", extra=faults)
    store = Store()
    server, url = await start_receiver(scenario.delivery.providers, store)
    try:
        _, summary = await run(config(scenario, url, limit=30, timeout_s=5.0))
    finally:
        await stop_receiver(server)
        await store.close()
    totals = summary["totals"]
    assert totals["skipped_by_reason"].get("fault_drop", 0) > 0
    assert totals["delivered"] + totals["skipped"] == 30
    assert set(totals["probes"]) == {"tampered_signature", "stale_timestamp", "future_timestamp", "corrupt_body"}
    for probe in totals["probes"].values():
        assert probe["rejected_4xx"] == probe["sent"] > 0


class Recorder:
    """A receiver that records exactly the bytes and headers it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.queries: list[str] = []  # each request's query, as sent

    async def handle(self, request: web.Request) -> web.Response:
        self.queries.append(request.query_string)
        self.requests.append((request.path, dict(request.headers), await request.read()))
        return web.Response(status=200)


async def _recorder() -> tuple[Recorder, web.AppRunner, str]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return recorder, runner, f"http://127.0.0.1:{port}"


async def test_capture_then_replay_is_byte_identical(tmp_path: Path) -> None:
    scenario = load_scenario(scenarios_dir() / "demo-city.yaml")
    first, first_runner, first_url = await _recorder()
    second, second_runner, second_url = await _recorder()
    capture_path = tmp_path / "capture.ndjson"
    try:
        capture = CaptureWriter(capture_path, keep_secrets=True)
        await run(config(scenario, first_url, limit=60, capture=capture, timeout_s=5.0))
        capture.close()
        result = await replay(capture_path, second_url, concurrency=1)
    finally:
        await first_runner.cleanup()
        await second_runner.cleanup()
    assert result.all_ok and result.sent == len(first.requests) >= 60
    sent = sorted((path, body, _wire(headers)) for path, headers, body in first.requests)
    replayed = sorted((path, body, _wire(headers)) for path, headers, body in second.requests)
    assert sent == replayed


async def test_a_key_in_a_url_settings_query_is_sent_never_captured_and_replayed_from_the_settings(
    tmp_path: Path,
) -> None:
    scenario = tiny("samsara")
    first, first_runner, first_url = await _recorder()
    second, second_runner, second_url = await _recorder()
    capture_path = tmp_path / "capture.ndjson"
    samsara = dict(scenario.delivery.providers["samsara"])
    try:
        capture = CaptureWriter(capture_path)
        sent_settings = {"samsara": {**samsara, "url": f"{first_url}/api/samsara?code=AzF-first-k3y&tenant=7"}}
        await run(config(scenario, "", settings=sent_settings, limit=5, capture=capture, timeout_s=5.0))
        capture.close()
        result = await replay(capture_path, second_url, concurrency=1,
                              settings={"samsara": {"url": "/api/samsara?code=AzF-second-k3y"}})
    finally:
        await first_runner.cleanup()
        await second_runner.cleanup()
    assert [path for path, _, _ in first.requests] == ["/api/samsara"] * 5
    assert first.queries == ["code=AzF-first-k3y&tenant=7"] * 5
    assert "k3y" not in capture_path.read_text()
    assert result.all_ok and second.queries == ["code=AzF-second-k3y&tenant=7"] * 5
    assert sorted(body for _, _, body in second.requests) == sorted(body for _, _, body in first.requests)


def _wire(headers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    skip = {"host", "content-length", "accept-encoding", "user-agent", "accept"}
    return tuple(sorted((k.lower(), v) for k, v in headers.items() if k.lower() not in skip))


def _age_capture(path: Path, secret: Secret, by_s: int) -> None:
    """Rewrite a Samsara capture as if it had been taken `by_s` seconds ago: each request keeps its body and is
    re-signed (validly, with the real secret) at its old timestamp, so only --resign can make it fresh again."""
    lines = []
    for raw in path.read_bytes().splitlines():
        record = orjson.loads(raw)
        headers = record["headers"]
        old = str(int(headers["X-Samsara-Timestamp"]) - by_s)
        headers["X-Samsara-Timestamp"] = old
        headers["X-Samsara-Signature"] = SamsaraSigner.signature(secret, old, record["body"].encode())
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")


async def test_replay_resign_refreshes_signatures(tmp_path: Path) -> None:
    scenario = tiny("samsara")
    secret = scenario.delivery.providers["samsara"]["secret"]
    _, first_runner, first_url = await _recorder()
    as_captured, as_captured_runner, as_captured_url = await _recorder()
    resigned, resigned_runner, resigned_url = await _recorder()
    capture_path = tmp_path / "capture.ndjson"
    try:
        capture = CaptureWriter(capture_path)
        await run(config(scenario, first_url, limit=5, capture=capture, timeout_s=5.0))
        capture.close()
        _age_capture(capture_path, secret, by_s=3600)
        captured = {line.body: dict(line.headers) for line in read_capture(capture_path)}
        assert len(captured) == 5
        # given the settings too, so that only `resign` decides whether anything is recomputed
        plain = await replay(capture_path, as_captured_url, settings=scenario.delivery.providers)
        started = int(time.time())
        result = await replay(capture_path, resigned_url, resign=True, settings=scenario.delivery.providers)
        finished = int(time.time())
    finally:
        await first_runner.cleanup()
        await as_captured_runner.cleanup()
        await resigned_runner.cleanup()
    assert plain.all_ok and result.all_ok and plain.sent == result.sent == 5

    # byte for byte: every captured header arrives exactly as captured, the hour-old timestamp included
    assert sorted(body for _, _, body in as_captured.requests) == sorted(captured)
    for _, headers, body in as_captured.requests:
        received = CIHeaders(headers)
        assert all(received[name] == value for name, value in captured[body].items()), (captured[body], headers)

    signer = SIGNERS["samsara"]
    assert sorted(body for _, _, body in resigned.requests) == sorted(captured)
    for _, headers, body in resigned.requests:
        received, old = CIHeaders(headers), captured[body]
        fresh_ts = int(received["X-Samsara-Timestamp"])
        # recomputed at replay time: not the captured timestamp, but the clock while replaying
        assert fresh_ts != int(old["X-Samsara-Timestamp"])
        assert started <= fresh_ts <= finished
        # signed with the settings' secret at that new timestamp, and still fresh for a strict receiver
        assert signer.verify(body, received, [secret], now=finished, tolerance=5).ok
        # the captured signature would not do at the new timestamp: the signature itself was recomputed
        assert received["X-Samsara-Signature"] != old["X-Samsara-Signature"]
        stale = CIHeaders({**headers, "X-Samsara-Signature": old["X-Samsara-Signature"]})
        assert signer.verify(body, stale, [secret], now=fresh_ts, tolerance=5).code == "mismatch"
        # everything else the capture held is sent unchanged
        for name, value in old.items():
            if name not in ("X-Samsara-Timestamp", "X-Samsara-Signature"):
                assert received[name] == value, name


def test_time_scale_defaults() -> None:
    from simulator.delivery.runner import time_scale_for

    assert time_scale_for(Rate("realtime"), None) == 1.0
    assert time_scale_for(Rate("factor", 240.0), None) == 240.0
    assert time_scale_for(Rate("max"), None) == 3600.0
    assert time_scale_for(Rate("max"), 10.0) == 10.0
    assert dataclasses.is_dataclass(RunConfig)


async def test_on_attempt_sees_every_attempt_as_recorded() -> None:
    from simulator.delivery.model import Attempt

    seen: list[Attempt] = []
    async with hostile.ok() as url:
        _, summary = await run(config(tiny("smartgps", extra="  faults: {duplicate: 1.0}"), url, limit=3,
                                      on_attempt=seen.append))
    assert len(seen) == summary["totals"]["attempts"] + summary["totals"]["duplicates_sent"] == 6
    assert sorted(a.copy for a in seen) == ["duplicate"] * 3 + ["genuine"] * 3
    assert all(a.request_body and a.status == 200 for a in seen)


async def test_a_full_queue_is_refilled_in_one_go_not_job_by_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """At full rate the queue is full: the producer waits until the workers took it down to REFILL_AT, then
    refills it, instead of being woken (a task switch) for every single job; accounting stays exact."""
    waits = 0
    wait_for_room = Runner._wait_for_room

    async def counted(self: Runner) -> None:
        nonlocal waits
        waits += 1
        await wait_for_room(self)

    monkeypatch.setattr(Runner, "_wait_for_room", counted)
    async with hostile.ok() as url:
        _, summary = await run(config(tiny("mettax"), url, limit=200, concurrency=2))
    totals = summary["totals"]
    assert totals["generated"] == 200 and totals["delivered"] == 200
    # woken once per refill of several jobs (4 here: a queue of 8 refilled from half), not once per job (~190)
    assert 0 < waits <= 200 // 3, waits


async def test_a_worker_cancelled_as_it_is_woken_passes_the_job_on() -> None:
    """Idle workers wait on their own wake-ups: one woken for a job and cancelled before it ran must hand the
    wake-up to another idle worker, or the job would sit in the queue while every worker waits."""
    runner = Runner(config(tiny("mettax"), "http://127.0.0.1:9"))
    first = asyncio.create_task(runner._next_job())
    second = asyncio.create_task(runner._next_job())
    await asyncio.sleep(0)  # both are waiting now
    assert len(runner._idle) == 2
    runner._wake_worker()  # a job was queued: the first is woken...
    first.cancel()  # ...and cancelled (a second Ctrl-C) before it could run
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1.0)  # the other took the wake-up
    assert first.cancelled() and not runner._idle


async def test_a_cancelled_idle_worker_leaves_no_waiter_behind() -> None:
    runner = Runner(config(tiny("mettax"), "http://127.0.0.1:9"))
    waiting = asyncio.create_task(runner._next_job())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert not runner._idle


async def test_the_queue_stays_bounded_at_full_rate() -> None:
    class Measured(collections.deque[Any]):
        deepest = 0

        def append(self, item: Any) -> None:
            super().append(item)
            self.deepest = max(self.deepest, len(self))

    async with hostile.ok() as url:
        runner = Runner(config(tiny("mettax"), url, limit=200, concurrency=1))
        runner._jobs = jobs = Measured()
        await runner.run()
    assert runner.summary()["totals"]["delivered"] == 200
    assert jobs.deepest == runner._max_queued == 4  # filled, never past its bound


async def test_the_fast_path_makes_no_attempt_and_copies_no_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A successful genuine delivery nobody captures or listens to: no Job, no Attempt, and (unsigned) the
    record's own headers go to the sender, not a copy; with a capture the same run makes an Attempt each."""
    from collections.abc import AsyncIterator, Mapping
    from contextlib import asynccontextmanager

    from simulator.delivery import runner as runner_module
    from simulator.delivery.ledger import Ledger
    from simulator.delivery.model import Attempt, Job
    from simulator.delivery.sending import Sender
    from simulator.delivery.transport import Response
    from simulator.stream import Outgoing

    records: dict[int, Outgoing] = {}
    made = {"attempts": 0, "jobs": 0}
    own_headers = 0

    class Answering:
        async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, deadline_s: float,
                       method: str = "POST", keep: int = 4096) -> Response:
            nonlocal own_headers
            own_headers += any(headers is r.headers for r in records.values())
            await asyncio.sleep(0)
            return Response("2xx", 200, latency_s=0.001)

    @asynccontextmanager
    async def answering(concurrency: int, verify: bool) -> AsyncIterator[Sender]:
        yield Answering()

    generated = Ledger.generated

    def remember(self: Ledger, record: Outgoing) -> None:
        records[record.seq] = record
        generated(self, record)

    class CountedAttempt(Attempt):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made["attempts"] += 1
            super().__init__(*args, **kwargs)

    class CountedJob(Job):  # the runner tests isinstance(item, Job): a subclass, not a factory
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made["jobs"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(Ledger, "generated", remember)
    monkeypatch.setattr(runner_module, "Attempt", CountedAttempt)
    monkeypatch.setattr(runner_module, "Job", CountedJob)
    _, summary = await run(config(tiny("mettax"), "http://127.0.0.1:9", limit=50, sender=answering))
    assert summary["totals"]["delivered"] == 50
    assert made == {"attempts": 0, "jobs": 0} and own_headers == 50

    records.clear()
    _, summary = await run(config(tiny("mettax"), "http://127.0.0.1:9", limit=50, sender=answering,
                                  on_attempt=lambda attempt: None))
    assert summary["totals"]["delivered"] == 50 and made["attempts"] == 50


async def test_a_paced_run_that_falls_behind_its_schedule_says_so() -> None:
    # a paced run against a receiver slower than the rate once ended as if it had kept the schedule: the run
    # took far longer than its scenario at that rate, and nothing said why
    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(0.05)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/{tail:.*}", slow)
    runner_ = web.AppRunner(app)
    await runner_.setup()
    site = web.TCPSite(runner_, "127.0.0.1", 0)
    await site.start()
    port = runner_.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}"
        behind, _ = await run(config(tiny("smartgps"), url, limit=60, concurrency=1, rate=Rate("factor", 3600.0)))
        on_time, _ = await run(config(tiny("smartgps"), url, limit=4, concurrency=4, rate=Rate("factor", 60.0)))
    finally:
        await runner_.cleanup()
    late = behind.summary()["run"]["behind_schedule"]
    assert late["sends"] > 10 and late["max_s"] > 1.0, late
    assert any(note.startswith("fell behind the x3600 schedule:") for note in behind.notes()), behind.notes()
    assert on_time.summary()["run"]["behind_schedule"] == {"sends": 0, "max_s": 0.0}
    assert not any("fell behind" in note for note in on_time.notes())
