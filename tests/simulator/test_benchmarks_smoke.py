"""The benchmark code must keep measuring what bench/results.json says it measures (`make bench` runs it for
real, minutes long). Here: the bookkeeping on scripted numbers, and each measurement for real at tiny sizes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from simulator import compiled
from simulator.benchmarks import __main__ as bench_main
from simulator.benchmarks import delivery, generation, identity, startup
from simulator.scenario.loader import load_scenario

# --- bookkeeping, on scripted measurements (no process, no socket) ----------------------------------------------


class ScriptedChildren:
    """Stands in for the measuring child processes: records the order they ran in, answers scripted rates."""

    def __init__(self, rates: dict[str, list[float]]) -> None:
        self.rates = {mode: iter(values) for mode, values in rates.items()}
        self.calls: list[tuple[str, float, int | None, float, dict[str, list[int]] | None]] = []

    def __call__(self, mode: str, url: str, seconds: float, limit: int | None = None,
                 warmup_s: float = delivery.WARMUP_S, plan: dict[str, list[int]] | None = None) -> dict[str, Any]:
        assert url == "http://null"
        self.calls.append((mode, seconds, limit, warmup_s, plan))
        if limit is not None:  # a memory run: deliveries and peak RSS
            return {"deliveries": limit, "failed": 0, "invariant_ok": True,
                    "peak_rss_mb": next(self.rates["rss"])}
        per_s = next(self.rates[mode])
        return {"deliveries": 1, "per_s": per_s, "sender_cpu_us_per_request": 1e6 / per_s if per_s else None,
                "sender_cpu_share": 1.0}


@pytest.fixture
def null_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextlib.contextmanager
    def fake(cpus: list[int] | None = None) -> Iterator[str]:
        yield "http://null"

    monkeypatch.setattr(delivery, "null_receiver", fake)


@pytest.mark.usefixtures("null_receiver")
def test_delivery_rounds_are_interleaved_and_report_medians_and_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    children = ScriptedChildren({"raw": [9000, 10000, 8000], "bare": [900, 1000, 1100],
                                 "transport": [850, 700, 800], "transport_aiohttp": [600, 700, 650],
                                 "pregenerated": [800, 850, 900],
                                 "fleetsim": [300, 500, 400]})
    monkeypatch.setattr(delivery, "_child", children)
    monkeypatch.setattr(delivery, "cpu_plan", lambda: {"sender": [4], "receiver": [6], "generator": [6]})
    result = delivery.throughput(seconds=2.5, rounds=3, warmup_s=0.25)
    # side by side: each round runs every mode once, so a noisy moment hits all modes alike
    assert [mode for mode, *_ in children.calls] == ["raw", "bare", "transport", "transport_aiohttp",
                                                         "pregenerated", "fleetsim"] * 3
    assert {(seconds, warmup) for _, seconds, _, warmup, _ in children.calls} == {(2.5, 0.25)}
    assert all(plan == {"sender": [4], "receiver": [6], "generator": [6]} for *_, plan in children.calls)
    assert {k: result[k] for k in ("raw_asyncio_per_s", "bare_aiohttp_per_s", "fleetsim_transport_per_s",
                                   "fleetsim_pregenerated_per_s", "fleetsim_run_max_per_s")} == {
        "raw_asyncio_per_s": 9000, "bare_aiohttp_per_s": 1000, "fleetsim_transport_per_s": 800,
        "fleetsim_pregenerated_per_s": 850, "fleetsim_run_max_per_s": 400}
    assert {k: result[k] for k in ("ratio", "pregenerated_ratio", "transport_ratio", "ratio_to_raw",
                                   "bare_ratio_to_raw", "target_ratio")} == {
        "ratio": 0.4, "pregenerated_ratio": 0.85, "transport_ratio": 0.8, "ratio_to_raw": 0.044,
        "bare_ratio_to_raw": 0.111, "target_ratio": 0.85}
    assert (result["aiohttp_transport_per_s"], result["aiohttp_transport_ratio"]) == (650, 0.65)
    assert result["sender_cpu_us_per_request"]["bare"] == 1000.0
    assert result["all_rounds"]["fleetsim"] == [300, 500, 400]
    assert result["statistic"] == "median of interleaved rounds" and result["rounds"] == 3


@pytest.mark.usefixtures("null_receiver")
def test_two_rounds_report_their_median_and_a_dead_sender_has_no_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "_child", ScriptedChildren({
        "raw": [20000, 22000], "bare": [3780, 6023], "transport": [4969, 5141], "transport_aiohttp": [4000, 4100],
        "pregenerated": [3000, 5000],
        "fleetsim": [2074, 1792]}))
    result = delivery.throughput(rounds=2)
    # the median of two is their mean: neither the lucky round nor the unlucky one alone
    assert (result["bare_aiohttp_per_s"], result["fleetsim_run_max_per_s"]) == (4902, 1933)
    assert result["ratio"] == round(1933 / 4902, 3)
    monkeypatch.setattr(delivery, "_child", ScriptedChildren({"raw": [5], "bare": [0], "transport": [5],
                                                              "transport_aiohttp": [5], "pregenerated": [5],
                                                              "fleetsim": [5]}))
    result = delivery.throughput(rounds=1)
    assert result["transport_ratio"] is None and result["ratio"] is None


def test_placement_stays_within_the_cpus_this_process_may_use() -> None:
    # under an outer `taskset -c 2,3` the children go on 2 and 3, never on CPU 0
    assert delivery.cpu_plan([3, 2]) == {"sender": [2], "receiver": [3], "generator": [3]}
    assert delivery.cpu_plan([1, 4, 7]) == {"sender": [1], "receiver": [4], "generator": [4, 7]}
    assert delivery.cpu_plan([5]) == {}  # one CPU: nothing is pinned, everything shares it
    assert set(delivery.cpu_plan().get("sender", [])) <= os.sched_getaffinity(0)


@pytest.mark.usefixtures("null_receiver")
def test_memory_growth_is_the_difference_of_its_two_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    children = ScriptedChildren({"rss": [94.3, 130.8]})
    monkeypatch.setattr(delivery, "_child", children)
    result = delivery.memory(small=10, large=1000)
    assert [(mode, limit) for mode, _, limit, *_ in children.calls] == [("fleetsim", 10), ("fleetsim", 1000)]
    assert result == {"deliveries_small": 10, "peak_rss_mb_small": 94.3, "deliveries_large": 1000,
                      "peak_rss_mb_large": 130.8, "growth_mb": 36.5, "growth_target_mb": 50, "invariant_ok": True,
                      "worker_peak_rss_mb_small": None, "worker_peak_rss_mb_large": None}


def test_a_stage_rate_times_only_the_measured_records(monkeypatch: pytest.MonkeyPatch) -> None:
    consumed: list[int] = []

    def records(count: int) -> Iterator[int]:
        for i in range(count):
            consumed.append(i)
            yield i

    # a stage whose records take 10 ms each (only generation's view of `time` is replaced)
    monkeypatch.setattr(generation, "time", SimpleNamespace(perf_counter=lambda: len(consumed) * 0.01))
    assert generation._rate(records(100), n=20, warmup=30) == pytest.approx(100.0)  # the warm-up is not timed
    assert len(consumed) == 50  # and exactly warmup + n records were drawn
    consumed.clear()
    assert generation._rate(records(5), n=20, warmup=0) == pytest.approx(100.0)  # a short stream: what was there


def test_make_bench_writes_the_documented_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    gen = {"scenario": "bench-mixed.yaml", "records_measured": 200_000, "world_events_per_s": 29001,
           "rendered_messages_per_s": 26439, "signed_wire_records_per_s": 16498}
    rss = {10_000: {"records": 10_000, "peak_rss_mb": 83.84}, 1_000_000: {"records": 999_998, "peak_rss_mb": 103.21}}
    deliv = {"bare_aiohttp_fixed_body_per_s": 6023, "ratio": 0.344}
    memory = {"growth_mb": 36.5}
    order: list[str] = []
    monkeypatch.setattr(startup, "compile_bytecode", lambda: order.append("compiled"))

    def throughput() -> dict[str, Any]:
        order.append("throughput")
        return dict(gen)

    monkeypatch.setattr(generation, "throughput", throughput)
    monkeypatch.setattr(generation, "peak_rss", lambda n: rss[n])
    command = {"one_process_per_s": 20_000, "two_worker_ratio": 1.9}
    monkeypatch.setattr(generation, "command", lambda: dict(command))
    long_command = {"records": 1_000_000, "two_worker_ratio": 1.85}
    monkeypatch.setattr(generation, "long_command", lambda: dict(long_command))
    compiled_figures = {"measured": True, "compiled_ratio": 1.25}
    monkeypatch.setattr(generation, "compiled_command", lambda: dict(compiled_figures))
    monkeypatch.setattr(delivery, "throughput", lambda: dict(deliv))
    monkeypatch.setattr(delivery, "memory", lambda: dict(memory))
    monkeypatch.setattr(delivery, "stages", lambda: {"sender_queue_us": 2.5})
    monkeypatch.setenv("FLEETSIM_BENCH_DIR", str(tmp_path / "bench"))
    assert bench_main.main() == 0
    assert order == ["compiled", "throughput"]  # fleetsim's bytecode is written before the first measured child
    written = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert set(written) == {"when", "machine", "generation", "delivery"}
    assert set(written["machine"]) == {"python", "cpus", "platform"}
    assert written["generation"] == {**gen, "target_per_s": 100_000, "peak_rss_mb_10k": 83.8,
                                     "peak_rss_mb_1m": 103.2, "records_in_1m_run": 999_998, "rss_target_mb_1m": 150,
                                     "command": {**command, "target_per_s": 50_000, "target_two_worker_ratio": 1.8},
                                     "command_long": {**long_command, "target_two_worker_ratio": 1.8},
                                     "compiled": compiled_figures}
    assert written["delivery"] == {**deliv, "stages_us": {"sender_queue_us": 2.5}, "memory": memory}
    assert f"written to {tmp_path / 'bench' / 'results.json'}" in capsys.readouterr().out
    # the committed results (quoted in the README) have the same shape
    committed = json.loads((Path(__file__).resolve().parents[2] / "bench" / "results.json").read_text())
    # (`make bench` also runs the conformance and load benchmarks, which add sections of their own)
    assert set(written) <= set(committed) and set(committed["generation"]) == set(written["generation"])


# --- each measurement for real, at tiny sizes -------------------------------------------------------------------


def test_generation_stages_measure_the_records_asked_for() -> None:
    result = generation.throughput(n=300, warmup=30, scenario_file="demo-city.yaml")
    assert set(result) == {"scenario", "records_measured", "world_events_per_s", "rendered_messages_per_s",
                           "signed_wire_records_per_s"}
    assert (result["scenario"], result["records_measured"]) == ("demo-city.yaml", 300)
    assert all(isinstance(result[k], int) and result[k] > 0 for k in list(result)[2:])


def test_the_generate_command_is_timed_on_one_process_and_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    real_run = subprocess.run

    def run(argv: list[str], **kwargs: Any) -> Any:
        ran.append(argv)
        return real_run(argv, **kwargs)

    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: Any) -> Any:
        started.append(argv)
        return real_popen(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)  # the module generation runs the command with
    monkeypatch.setattr(subprocess, "Popen", popen)  # ... and starts the ceiling's pair with
    result = generation.command(rounds=3, records=150, scenario_file="demo-city.yaml")
    # one unmeasured warm-up run, then interleaved: each round runs one process, then two workers, the whole
    # command each time, then the ceiling's pair; every other round the other way round
    workers = [argv[argv.index("--workers") + 1] for argv in started]
    pair = ["1", "1"]  # the ceiling: two one-process commands of the whole job at once
    assert workers == ["1", "1", "2", *pair, *pair, "2", "1", "1", "2", *pair]
    assert all(argv[argv.index("--limit") + 1] == "150" and "generate" in argv for argv in started)
    # subprocess.run ran the warm-up and each round's two commands (it starts them with Popen too: they are among
    # `started`, beside the pairs' Popen calls)
    assert len(ran) == 1 + 3 * 2
    walls = result["all_rounds_wall_s"]
    assert [len(v) for v in walls.values()] == [3, 3, 3]  # the warm-up is not among the rounds
    assert result["pair_ceiling_ratio"] > 0 and result["pair_cpu_ratio"] > 0
    assert result["one_process_per_s"] > 0 and result["two_workers_per_cpu_s"] > 0
    assert result["two_worker_cpu_ratio"] > 0 and len(result["load_average_1m"]) == 2
    # the rates are medians of the rounds; each ratio the median of the rounds' own ratios (walls rounded to
    # 10 ms in the result, so the ratios recomputed from them agree to about that)
    assert result["one_process_per_s"] == pytest.approx(statistics.median(150 / w for w in walls["1"]), rel=0.05)
    assert result["two_worker_ratio"] == pytest.approx(
        statistics.median(one / two for one, two in zip(walls["1"], walls["2"], strict=True)), rel=0.05)
    assert result["pair_ceiling_ratio"] == pytest.approx(
        statistics.median(2 * one / pair for one, pair in zip(walls["1"], walls["pair"], strict=True)), rel=0.05)
    assert result["two_worker_of_ceiling"] == pytest.approx(
        statistics.median(pair / (2 * two) for two, pair in zip(walls["2"], walls["pair"], strict=True)), rel=0.05)


def test_the_long_command_runs_the_benchmark_fleet_over_thirty_days(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, Any]] = []

    def command(rounds: int, records: int, scenario_file: str) -> dict[str, Any]:
        # the file exists while the command runs, and differs from bench-mixed in its duration alone
        seen.append((rounds, records, load_scenario(Path(scenario_file))))
        return {"scenario": scenario_file, "two_worker_ratio": 1.8}

    monkeypatch.setattr(generation, "command", command)
    result = generation.long_command(rounds=2, records=500)
    (rounds, records, scenario), = seen
    assert (rounds, records) == (2, 500)
    assert dataclasses.replace(scenario, source="") == dataclasses.replace(generation.long_scenario(), source="")
    assert result == {"scenario": "bench-mixed.yaml over 30 days", "two_worker_ratio": 1.8}


def test_the_compiled_build_is_reported_with_its_reason_when_it_cannot_be_measured(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_compiler(directory: Path) -> Path:
        raise compiled.CompileError("building the extensions failed: no cc")

    monkeypatch.setattr(compiled, "build", no_compiler)
    assert generation.compiled_command(directory=tmp_path) == {
        "measured": False, "reason": "the compiled build failed: building the extensions failed: no cc"}
    # built, but a scenario's bytes differ: no figures for a build that is not the same program
    monkeypatch.setattr(compiled, "build", lambda directory: directory / "manifest.json")
    digests = iter([{"a.yaml": {"raw_sha256": "1"}, "b.yaml": {"raw_sha256": "2"}},
                    {"a.yaml": {"raw_sha256": "1"}, "b.yaml": {"raw_sha256": "3"}}])
    monkeypatch.setattr(identity, "digests", lambda records, env=None: next(digests))
    ran: list[Any] = []
    monkeypatch.setattr(generation, "_command_run", lambda *args: ran.append(args))
    assert generation.compiled_command(directory=tmp_path) == {
        "measured": False, "reason": "the compiled build's output differs for b.yaml"}
    assert ran == []


def test_peak_rss_is_measured_in_a_child_streaming_exactly_n_records() -> None:
    result = generation.peak_rss(200)
    assert result["records"] == 200
    assert 10 < result["peak_rss_mb"] < 1000


def test_every_delivery_mode_really_delivers_to_the_null_receiver() -> None:
    seconds = 0.25
    with delivery.null_receiver() as url:
        for mode in delivery.MODES:
            result = delivery._child(mode, url, seconds, warmup_s=0.05)  # a fresh process, as `make bench` runs it
            assert result["deliveries"] > 0, mode
            # the rate is of the deliveries measured, over about `seconds` (longer while in-flight ones come back,
            # shorter by a late wake-up from the warm-up on a busy machine): not over the warm-up, not over nothing
            assert result["deliveries"] / (10 * seconds) <= result["per_s"] <= result["deliveries"] / (0.25 * seconds)
            assert result["peak_rss_mb"] > 10
            assert result["sender_cpu_us_per_request"] > 0, mode
            if mode in ("pregenerated", "fleetsim"):
                assert result["invariant_ok"] is True, mode  # fleetsim's accounting held
                assert result["generated"] > result["deliveries"] * 0.5, mode
    assert result["peak_rss_mb_worker"] > 10  # fleetsim run's generation worker, counted once reaped


def test_stages_are_measured_per_delivery() -> None:
    result = delivery.stages_child(n=300, upto=1500)
    assert result["records"] == 300 and result["records_generated"] == 1500
    for key in ("worker_generation_us", "worker_pipe_pickling_us", "sender_pipe_unpickling_us", "sender_queue_us",
                "sender_signing_us", "sender_bookkeeping_us"):
        assert 0 < result[key] < 100_000, key


def test_a_benchmark_child_reports_its_own_peak_memory_not_its_parents() -> None:
    # Linux carries ru_maxrss across fork and exec: a child started by a grown parent reported the parent's peak
    from simulator.benchmarks import peak_rss_mb

    ballast = bytearray(400 * 2**20)  # this process now holds 400 MB more than any benchmark child needs
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    child = subprocess.run([sys.executable, "-c", "from simulator.benchmarks import peak_rss_mb; print(peak_rss_mb())"],
                           capture_output=True, text=True, check=True)
    assert peak_rss_mb() > 400
    assert float(child.stdout) < 200, child.stdout
    del ballast
