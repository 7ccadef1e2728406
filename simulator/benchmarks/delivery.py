"""Delivery throughput, side by side in one run, against one null receiver:

- `raw`: the machine's practical ceiling, a hand-rolled asyncio sender with pre-encoded requests (raw_sender.py);
- `bare`: a bare aiohttp sender posting pre-built, pre-signed requests;
- `transport`: the HTTP transport `fleetsim run` sends with (h1.H1Transport: deadline, capped read, outcome
  classes) with the same requests; `transport_aiohttp`: the same with the aiohttp one (transport.HttpTransport);
- `pregenerated`: fleetsim's runner fed records generated before the measurement (signing at send time, faults,
  accounting): the sending process's own cost, what `fleetsim run` reaches once its generation keeps up;
- `fleetsim`: `fleetsim run --rate max` (generation in its worker process, faults on, signing at send time,
  accounting).

Every sender posts the same realistic requests: bench-mixed's own webhooks (their bodies and signature headers),
not a token body. The modes alternate round by round and the medians are reported, so a noisy moment of the
shared machine hits every mode alike. Placement respects an outer `taskset`: the receiver gets one of the CPUs
this process may use and the sender another (never CPUs outside that set); with a single CPU nothing is pinned.
The generation worker of `fleetsim run` goes on the CPUs the sender does not use.

Also: each stage's microseconds per delivery (`stages`), and the peak RSS of long runs (memory must stay flat).

Run as `python -m simulator.benchmarks.delivery <mode> ...` for one measurement in a fresh process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

from . import peak_rss_mb

CONCURRENCY = 32
SCENARIO = "bench-mixed.yaml"
POOL_SIZE = 2000  # distinct requests the fixed senders cycle through
MODES = ("raw", "bare", "transport", "transport_aiohttp", "pregenerated", "fleetsim")
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def bench_faults() -> Any:
    """The faults `fleetsim run` is measured with: a few duplicates, drops and every probe, so the fast path is
    measured beside the slow one it must not break."""
    from ..scenario.model import Faults

    return Faults(duplicate=0.01, drop=0.01, tamper_signature=0.002, stale_timestamp=0.002,
                  future_timestamp=0.002, corrupt_body=0.002)


class _NullProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1 to answer every request with 200 (keep-alive, Content-Length bodies)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they have write()
        self.transport = cast(asyncio.Transport, transport)
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            i = head.find(b"\r\ncontent-length:")
            length = int(head[i + 17: head.find(b"\r\n", i + 2) if head.find(b"\r\n", i + 2) > 0 else None]) \
                if i >= 0 else 0
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length:]
            out.append(_RESPONSE)
        self.buffer = buf
        if out:
            self.transport.write(b"".join(out))


def cpu_plan(allowed: Sequence[int] | None = None) -> dict[str, list[int]]:
    """Which CPUs the receiver, the sender and fleetsim's generation worker get, within `allowed` (default: the
    CPUs this process may run on, i.e. an outer taskset's). Fewer than two: {} (nothing is pinned)."""
    cpus = sorted(allowed if allowed is not None else _allowed())
    if len(cpus) < 2:
        return {}
    sender, receiver = cpus[0], cpus[1]
    return {"sender": [sender], "receiver": [receiver], "generator": [c for c in cpus if c != sender]}


def _allowed() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def _pin(cpus: Sequence[int], pid: int = 0) -> None:
    if cpus:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(pid, set(cpus))


def _cpus_arg(cpus: Sequence[int] | None) -> str:
    return ",".join(map(str, cpus)) if cpus else "-"


def _parse_cpus(text: str) -> list[int]:
    return [] if text == "-" else [int(c) for c in text.split(",")]


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def serve_null(port: int, cpus: Sequence[int] = ()) -> None:
    _pin(cpus)
    loop = _loop()
    server = loop.run_until_complete(loop.create_server(_NullProtocol, "127.0.0.1", port, backlog=4096))
    try:
        loop.run_forever()
    finally:
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def null_receiver(cpus: Sequence[int] | None = None) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.benchmarks.delivery", "serve", str(port),
                             _cpus_arg(cpus)])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


WARMUP_S = 1.5


def _cpu_s() -> float:
    """CPU seconds of this process (its threads, not its children) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rates(requests: int, elapsed: float, cpu: float) -> dict[str, Any]:
    """A measurement: requests per second of wall time, and the sending process's CPU per request, which a busy
    machine moves far less than the rate (a sender that waits for work uses less than its core)."""
    return {"deliveries": requests, "per_s": round(requests / elapsed) if elapsed else 0,
            "sender_cpu_share": round(cpu / elapsed, 3) if elapsed else None,
            "sender_cpu_us_per_request": round(cpu * 1e6 / requests, 1) if requests else None}
SETUP_TIMEOUT_S = 30.0  # longest wait for `fleetsim run`'s first delivery before measuring anyway


def _scenario(faults: bool = True) -> Any:
    from ..resources import scenarios_dir
    from ..scenario.loader import load_scenario

    scenario = load_scenario(scenarios_dir() / SCENARIO)
    if faults:
        scenario = dataclasses.replace(
            scenario, delivery=dataclasses.replace(scenario.delivery, faults=bench_faults()))
    return scenario


def request_pool(base_url: str, n: int = POOL_SIZE) -> list[tuple[str, dict[str, str], bytes]]:
    """(url, headers, body) of the scenario's first `n` webhooks, as `fleetsim run` would post them: the fixed
    senders' requests are as big and as varied as the real ones."""
    from ..stream import scenario_stream

    scenario = _scenario(faults=False)
    stream = scenario_stream(scenario, channels={"webhook"})
    return [(f"{base_url}/{r.provider}", {**r.headers, "Content-Type": r.headers.get("Content-Type",
                                                                                       "application/json")}, r.body)
            for r in itertools.islice(stream, n)]


async def _raw(url: str, seconds: float, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    from urllib.parse import urlsplit

    from .raw_sender import encode_request, send_for

    parts = urlsplit(url)
    requests = [encode_request(u, h, b) for u, h, b in request_pool(url)]
    cpu = _cpu_s()
    result = await send_for(parts.hostname or "127.0.0.1", parts.port or 80, requests, concurrency=CONCURRENCY,
                            seconds=seconds, warmup_s=warmup_s)
    # the warm-up's CPU is included: read the raw sender's CPU per request as an upper bound
    return {**_rates(result["deliveries"], result["elapsed_s"], (_cpu_s() - cpu) * seconds / (seconds + warmup_s)),
            "errors": result["errors"]}


async def _bare(url: str, seconds: float, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """The reference: aiohttp posting pre-built, pre-signed realistic requests as fast as it can."""
    import aiohttp

    pool = request_pool(url)
    done = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + warmup_s + seconds

        async def worker(n: int) -> None:
            nonlocal done
            for target, headers, body in itertools.islice(itertools.cycle(pool), n * 7, None):
                if time.perf_counter() >= deadline:
                    return
                async with session.post(target, data=body, headers=headers) as response:
                    await response.read()
                    done += response.status == 200

        workers = asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        await asyncio.sleep(warmup_s)
        first, started, cpu = done, time.perf_counter(), _cpu_s()
        await workers
        elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    return _rates(done - first, elapsed, cpu)


async def _transport(url: str, seconds: float, warmup_s: float = WARMUP_S, aiohttp: bool = False) -> dict[str, Any]:
    """fleetsim's own HTTP transport (deadline, capped read, outcome classes) with the same requests: separates
    the cost of the transport from the cost of generating and accounting for traffic. The one `fleetsim run` uses
    (sending.http_sender), or with `aiohttp` the aiohttp one."""
    from ..delivery.sending import http_sender
    from ..delivery.transport import HttpTransport

    pool = request_pool(url)
    done = 0
    sender = HttpTransport(concurrency=CONCURRENCY) if aiohttp else http_sender(CONCURRENCY, True)
    async with sender as transport:
        deadline = time.perf_counter() + warmup_s + seconds

        async def worker(n: int) -> None:
            nonlocal done
            for target, headers, body in itertools.islice(itertools.cycle(pool), n * 7, None):
                if time.perf_counter() >= deadline:
                    return
                response = await transport.post(target, body, headers, deadline_s=10.0)
                done += response.outcome == "2xx"

        workers = asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        await asyncio.sleep(warmup_s)
        first, started, cpu = done, time.perf_counter(), _cpu_s()
        await workers
        elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    return _rates(done - first, elapsed, cpu)


def _runner(url: str, limit: int | None, generation: str) -> Any:
    from ..delivery.runner import RunConfig, Runner
    from ..scenario.model import Rate
    from .generation import long_scenario

    # the 30-day fleet either way: bench-mixed's one day holds 78,714 webhooks, which `run --rate max` exhausted
    # within its warm-up and measured seconds, so the sender sat idle at the end of the window and the figure
    # understated it (the memory runs need the million deliveries anyway)
    scenario = long_scenario()
    if limit is None:
        scenario = dataclasses.replace(scenario, delivery=dataclasses.replace(scenario.delivery,
                                                                              faults=bench_faults()))
    return Runner(RunConfig(scenario=scenario, target=url, settings=scenario.delivery.providers, rate=Rate("max"),
                            concurrency=CONCURRENCY, limit=limit, timeout_s=10.0, generation=generation))


async def _fleetsim(url: str, seconds: float, limit: int | None, warmup_s: float = WARMUP_S,
                    generator_cpus: Sequence[int] = ()) -> dict[str, Any]:
    """`fleetsim run --rate max` in-process: generation in its worker process, faults on, signing at send time,
    full accounting. With `limit`, runs to completion (memory measurement); otherwise measures `seconds` after a
    warm-up. `per_s` counts every request answered (genuine, duplicates, probes), as the fixed senders do."""
    runner = _runner(url, limit, "worker")
    if limit is not None:
        await runner.run()
        summary = runner.summary()
        return {"deliveries": summary["totals"]["delivered"], "failed": summary["totals"]["failed"],
                "invariant_ok": summary["invariant"]["ok"]}
    return await _measure_runner(runner, seconds, warmup_s, generator_cpus)


async def _measure_runner(runner: Any, seconds: float, warmup_s: float,
                          generator_cpus: Sequence[int] = ()) -> dict[str, Any]:
    task = asyncio.create_task(runner.run())
    # warm up once the fleet is running (scenario load, road network, first routes: its first delivery is in)
    setup_deadline = time.perf_counter() + SETUP_TIMEOUT_S
    while not runner.ledger.snapshot().delivered and not task.done() and time.perf_counter() < setup_deadline:
        await asyncio.sleep(0.01)
    if runner.generator_pid and generator_cpus:
        _pin(generator_cpus, runner.generator_pid)  # it inherited the sender's CPU; it belongs beside it
    await asyncio.sleep(warmup_s)
    first_requests = runner.requests_sent()
    first, started, cpu = runner.ledger.snapshot().delivered, time.perf_counter(), _cpu_s()
    await asyncio.sleep(seconds)
    done = runner.ledger.snapshot().delivered - first
    sent = runner.requests_sent() - first_requests
    elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    runner.stop()
    await task
    summary = runner.summary()
    return {**_rates(sent, elapsed, cpu), "delivered_per_s": round(done / elapsed),
            "invariant_ok": summary["invariant"]["ok"], "generated": summary["totals"]["generated"],
            "skipped_by_reason": summary["totals"]["skipped_by_reason"]}


class _Pregenerated:
    """A source of records generated before the measurement, cycled with fresh event ids (`-c<n>` appended) so
    the ledger sees every event once: isolates the sending process's cost from the generator's."""

    pid: int | None = None

    def __init__(self, groups: Sequence[Any]) -> None:
        self._groups = groups

    async def start(self) -> None:
        return None

    async def batches(self) -> Any:
        from ..delivery.source import BATCH
        from ..stream import Outgoing

        groups = self._groups
        for cycle in itertools.count():
            # built as the worker source builds them (Outgoing(*row)): dataclasses.replace cost the sender more
            # than the real source does, and was counted against it. And built batch by batch, when the run reads
            # one, as the worker source does: a whole cycle built at once kept thousands of fresh objects alive,
            # which the garbage collector walked again and again (1.1-2.1 us per delivery counted against the runner)
            for i in range(0, len(groups), BATCH):
                yield [(Outgoing(r.seq, f"{r.event_id}-c{cycle}", r.provider, r.kind, r.channel, r.device, r.send_t,
                                 r.headers, r.body, r.source), plan) for r, plan in groups[i:i + BATCH]]

    async def close(self) -> None:
        return None


async def _pregenerated(url: str, seconds: float, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    from ..delivery import runner as runner_module
    from ..delivery.source import plan_groups

    runner, source = _runner(url, None, "inline"), None
    source = _Pregenerated(list(itertools.islice(plan_groups(runner.source_spec()), POOL_SIZE * 2)))
    with _patched(runner_module, "InlineSource", lambda spec: source):
        return await _measure_runner(runner, seconds, warmup_s)


@contextlib.contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def measure(mode: str, url: str, seconds: float, limit: int | None, warmup_s: float = WARMUP_S,
            cpus: Sequence[int] = (), generator_cpus: Sequence[int] = ()) -> None:
    _pin(cpus)
    loop = _loop()
    coro = {"raw": lambda: _raw(url, seconds, warmup_s), "bare": lambda: _bare(url, seconds, warmup_s),
            "transport": lambda: _transport(url, seconds, warmup_s),
            "transport_aiohttp": lambda: _transport(url, seconds, warmup_s, aiohttp=True),
            "pregenerated": lambda: _pregenerated(url, seconds, warmup_s),
            "fleetsim": lambda: _fleetsim(url, seconds, limit, warmup_s, generator_cpus)}[mode]()
    result = loop.run_until_complete(coro)
    result["peak_rss_mb"] = peak_rss_mb()
    # the generation worker's, once reaped (the largest child's): a run's memory is both processes'. An upper
    # bound: Linux counts in a child's maximum what this process held when it started the child (peak_rss_mb)
    result["peak_rss_mb_worker"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def _child(mode: str, url: str, seconds: float, limit: int | None = None, warmup_s: float = WARMUP_S,
           plan: dict[str, list[int]] | None = None) -> dict[str, Any]:
    plan = plan or {}
    args = [sys.executable, "-m", "simulator.benchmarks.delivery", mode, url, str(seconds), str(limit or 0),
            str(warmup_s), _cpus_arg(plan.get("sender")), _cpus_arg(plan.get("generator"))]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def throughput(seconds: float = 8.0, rounds: int = 3, warmup_s: float = WARMUP_S,
               modes: Sequence[str] = MODES) -> dict[str, Any]:
    """Every mode once per round, `rounds` rounds, against one null receiver, each measuring `seconds` after
    `warmup_s`; medians of the rounds reported, and the ratios of the medians. Beside the rates, each mode's
    median CPU per request in its sending process and the share of its core it used: a sender that waits for
    work (for generation) shows it there."""
    plan = cpu_plan()
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    with null_receiver(plan.get("receiver")) as url:
        for _ in range(rounds):
            for mode, results in runs.items():
                results.append(_child(mode, url, seconds, warmup_s=warmup_s, plan=plan))
    rates = {mode: [r["per_s"] for r in results] for mode, results in runs.items()}
    raw, bare, transport, transport_aiohttp, pregenerated, fleetsim = (
        round(statistics.median(rates[m])) if rates.get(m) else 0 for m in MODES)
    return {
        "seconds_per_round": seconds, "rounds": rounds, "statistic": "median of interleaved rounds",
        "body": f"{SCENARIO}'s own webhooks ({POOL_SIZE} distinct signed requests)",
        "cpus": plan or "one CPU: nothing pinned",
        "raw_asyncio_per_s": raw, "bare_aiohttp_per_s": bare, "fleetsim_transport_per_s": transport,
        "aiohttp_transport_per_s": transport_aiohttp,
        "fleetsim_pregenerated_per_s": pregenerated, "fleetsim_run_max_per_s": fleetsim,
        "fleetsim_faults": {k: v for k, v in dataclasses.asdict(bench_faults()).items() if v},
        "ratio": _ratio(fleetsim, bare), "pregenerated_ratio": _ratio(pregenerated, bare),
        "transport_ratio": _ratio(transport, bare), "aiohttp_transport_ratio": _ratio(transport_aiohttp, bare),
        "transport_ratio_to_raw": _ratio(transport, raw), "ratio_to_raw": _ratio(fleetsim, raw),
        "bare_ratio_to_raw": _ratio(bare, raw), "target_ratio": 0.85,
        "sender_cpu_us_per_request": {m: _median([r.get("sender_cpu_us_per_request") for r in results])
                                      for m, results in runs.items()},
        "sender_cpu_share": {m: _median([r.get("sender_cpu_share") for r in results]) for m, results in runs.items()},
        "all_rounds": rates,
    }


def _per_item_us(fn: Any, items: Sequence[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return round((time.perf_counter() - started) * 1e6 / len(items), 2)


def stages_child(cpus: Sequence[int] = (), n: int = 5000, upto: int | None = None) -> dict[str, Any]:
    """Microseconds per delivery of each stage of `fleetsim run --rate max`, each timed alone: generation over the
    run's whole bench-mixed stream, the others on its first `n` records. Generation and the pipe's pickling run in
    the worker process; unpickling, the queue, signing and bookkeeping on the sending core (the HTTP send itself is
    the throughput run's)."""
    import pickle

    from ..delivery.faults import send_headers
    from ..delivery.ledger import Ledger
    from ..delivery.model import Job
    from ..delivery.source import BATCH, _row, plan_groups
    from ..stream import Outgoing
    from ..stream_workers import frame

    _pin(cpus)
    runner = _runner("http://127.0.0.1:9", None, "inline")
    # generation over the run's whole stream, world set-up included, as the worker pays it: a window of it would
    # mislead, because each device is simulated only as far as its next webhook, so the devices that send few
    # webhooks (PowUnity bikes: 1 webhook in ~85 events) weigh on the first records far more than on the rest
    started = time.perf_counter()
    groups: list[Any] = []
    generated = 0
    for group in itertools.islice(plan_groups(runner.source_spec()), upto):  # upto: the tests' short cut
        generated += 1
        if generated <= n:
            groups.append(group)
    generation = (time.perf_counter() - started) * 1e6 / generated
    rows = [(_row(record), plan) for record, plan in groups]
    batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
    started = time.perf_counter()
    frames = [frame("batch", batch) for batch in batches]
    pickling = (time.perf_counter() - started) * 1e6 / n
    started = time.perf_counter()
    for framed in frames:
        [(Outgoing(*row), plan) for row, plan in pickle.loads(framed[4:])[1]]
    unpickling = (time.perf_counter() - started) * 1e6 / n
    jobs = [Job(record, copy, due) for record, plan in groups if not isinstance(plan, str) for copy, due in plan]
    genuine = [job for job in jobs if job.copy == "genuine"]

    def sign(job: Job) -> None:  # as the runner's fast path signs a genuine copy
        endpoint = runner.endpoints[job.record.provider]
        send_headers(job.record.body, job.record.headers, endpoint.signer, endpoint.secrets, 1_800_000_000,
                     job.record.event_id)

    ledger = Ledger()

    def bookkeeping(job: Job) -> None:  # what the runner's fast path does around a successful send
        ledger.generated(job.record)
        runner.endpoints[job.record.provider].health.consecutive = 0
        ledger.delivered_at_once(job.record.event_id, 0.001)

    def queue_pass(count: int) -> float:
        """The runner's hand-off from the producer to a worker (a deque; the producer is woken once per refill,
        not per job, so at full rate a job costs its append, its popleft and the worker's refill test)."""
        from collections import deque

        jobs: deque[int] = deque()
        room: asyncio.Future[None] | None = None
        begun = time.perf_counter()
        for item in range(count):
            jobs.append(item)
            jobs.popleft()
            if room is not None and len(jobs) <= 64 and not room.done():
                room.set_result(None)
        return round((time.perf_counter() - begun) * 1e6 / count, 2)

    return {
        "records": n,
        "records_generated": generated,
        "worker_generation_us": round(generation, 2),
        "worker_pipe_pickling_us": round(pickling, 2),
        "sender_pipe_unpickling_us": round(unpickling, 2),
        "sender_queue_us": queue_pass(50_000),
        "sender_signing_us": _per_item_us(sign, genuine),
        "sender_bookkeeping_us": _per_item_us(bookkeeping, genuine),
        "signed_share_of_deliveries": round(sum(bool(runner.endpoints[j.record.provider].secrets) for j in genuine)
                                            / max(1, len(genuine)), 3),
    }


def stages(plan: dict[str, list[int]] | None = None) -> dict[str, Any]:
    plan = cpu_plan() if plan is None else plan
    args = [sys.executable, "-m", "simulator.benchmarks.delivery", "stages", _cpus_arg(plan.get("sender"))]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def memory(small: int = 10_000, large: int = 1_000_000) -> dict[str, Any]:
    plan = cpu_plan()
    with null_receiver(plan.get("receiver")) as url:
        a = _child("fleetsim", url, 0, small, plan=plan)
        b = _child("fleetsim", url, 0, large, plan=plan)
    return {"deliveries_small": a["deliveries"], "peak_rss_mb_small": a["peak_rss_mb"],
            "deliveries_large": b["deliveries"], "peak_rss_mb_large": b["peak_rss_mb"],
            "growth_mb": round(b["peak_rss_mb"] - a["peak_rss_mb"], 1), "growth_target_mb": 50,
            "worker_peak_rss_mb_small": a.get("peak_rss_mb_worker"),
            "worker_peak_rss_mb_large": b.get("peak_rss_mb_worker"),
            "invariant_ok": a["invariant_ok"] and b["invariant_ok"]}


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve_null(int(sys.argv[2]), _parse_cpus(sys.argv[3]) if len(sys.argv) > 3 else [])
    elif sys.argv[1] == "stages":
        print(json.dumps(stages_child(_parse_cpus(sys.argv[2]))))
    else:
        measure(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]) or None, float(sys.argv[5]),
                _parse_cpus(sys.argv[6]) if len(sys.argv) > 6 else [],
                _parse_cpus(sys.argv[7]) if len(sys.argv) > 7 else [])
