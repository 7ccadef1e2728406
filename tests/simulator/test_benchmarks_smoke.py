"""The benchmark code must keep measuring what bench/results.json says it measures (`make bench` runs it for
real, minutes long). Here: the bookkeeping on scripted numbers, and each measurement for real at tiny sizes."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from simulator.benchmarks import __main__ as bench_main
from simulator.benchmarks import delivery, generation

# --- bookkeeping, on scripted measurements (no process, no socket) ----------------------------------------------


class ScriptedChildren:
    """Stands in for the measuring child processes: records the order they ran in, answers scripted rates."""

    def __init__(self, rates: dict[str, list[float]]) -> None:
        self.rates = {mode: iter(values) for mode, values in rates.items()}
        self.calls: list[tuple[str, float, int | None, float]] = []

    def __call__(self, mode: str, url: str, seconds: float, limit: int | None = None,
                 warmup_s: float = delivery.WARMUP_S) -> dict[str, Any]:
        assert url == "http://null"
        self.calls.append((mode, seconds, limit, warmup_s))
        if limit is not None:  # a memory run: deliveries and peak RSS
            return {"deliveries": limit, "failed": 0, "invariant_ok": True,
                    "peak_rss_mb": next(self.rates["rss"])}
        return {"deliveries": 1, "per_s": next(self.rates[mode])}


@pytest.fixture
def null_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextlib.contextmanager
    def fake() -> Iterator[str]:
        yield "http://null"

    monkeypatch.setattr(delivery, "null_receiver", fake)


@pytest.mark.usefixtures("null_receiver")
def test_delivery_rounds_are_interleaved_and_report_medians_and_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    children = ScriptedChildren({"bare": [900, 1000, 1100], "transport": [850, 700, 800],
                                 "fleetsim": [300, 500, 400]})
    monkeypatch.setattr(delivery, "_child", children)
    result = delivery.throughput(seconds=2.5, rounds=3, warmup_s=0.25)
    # side by side: each round runs every mode once, so a noisy moment hits all modes alike
    assert [mode for mode, *_ in children.calls] == ["bare", "transport", "fleetsim"] * 3
    assert {(seconds, warmup) for _, seconds, _, warmup in children.calls} == {(2.5, 0.25)}
    assert result == {
        "seconds_per_round": 2.5, "rounds": 3,
        "bare_aiohttp_fixed_body_per_s": 1000, "fleetsim_transport_fixed_body_per_s": 800,
        "transport_ratio": 0.8, "fleetsim_run_max_per_s": 400, "ratio": 0.4, "target_ratio": 0.85,
        "all_rounds": {"bare": [900, 1000, 1100], "transport": [850, 700, 800], "fleetsim": [300, 500, 400]},
    }


@pytest.mark.usefixtures("null_receiver")
def test_two_rounds_report_the_better_one_and_a_dead_sender_has_no_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "_child", ScriptedChildren({"bare": [3780, 6023], "transport": [4969, 5141],
                                                              "fleetsim": [2074, 1792]}))
    result = delivery.throughput(rounds=2)
    # the numbers in bench/results.json, recomputed from its all_rounds
    assert (result["bare_aiohttp_fixed_body_per_s"], result["fleetsim_transport_fixed_body_per_s"],
            result["fleetsim_run_max_per_s"]) == (6023, 5141, 2074)
    assert (result["transport_ratio"], result["ratio"]) == (0.854, 0.344)
    monkeypatch.setattr(delivery, "_child", ScriptedChildren({"bare": [0], "transport": [5], "fleetsim": [5]}))
    result = delivery.throughput(rounds=1)
    assert result["transport_ratio"] is None and result["ratio"] is None


@pytest.mark.usefixtures("null_receiver")
def test_memory_growth_is_the_difference_of_its_two_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    children = ScriptedChildren({"rss": [94.3, 130.8]})
    monkeypatch.setattr(delivery, "_child", children)
    result = delivery.memory(small=10, large=1000)
    assert [(mode, limit) for mode, _, limit, _ in children.calls] == [("fleetsim", 10), ("fleetsim", 1000)]
    assert result == {"deliveries_small": 10, "peak_rss_mb_small": 94.3, "deliveries_large": 1000,
                      "peak_rss_mb_large": 130.8, "growth_mb": 36.5, "growth_target_mb": 50, "invariant_ok": True}


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
    monkeypatch.setattr(generation, "throughput", lambda: dict(gen))
    monkeypatch.setattr(generation, "peak_rss", lambda n: rss[n])
    command = {"one_process_per_s": 20_000, "two_worker_ratio": 1.9}
    monkeypatch.setattr(generation, "command", lambda: dict(command))
    monkeypatch.setattr(delivery, "throughput", lambda: dict(deliv))
    monkeypatch.setattr(delivery, "memory", lambda: dict(memory))
    monkeypatch.setenv("FLEETSIM_BENCH_DIR", str(tmp_path / "bench"))
    assert bench_main.main() == 0
    written = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert set(written) == {"when", "machine", "generation", "delivery"}
    assert set(written["machine"]) == {"python", "cpus", "platform"}
    assert written["generation"] == {**gen, "target_per_s": 100_000, "peak_rss_mb_10k": 83.8,
                                     "peak_rss_mb_1m": 103.2, "records_in_1m_run": 999_998, "rss_target_mb_1m": 150,
                                     "command": {**command, "target_per_s": 50_000, "target_two_worker_ratio": 1.8}}
    assert written["delivery"] == {**deliv, "memory": memory}
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

    monkeypatch.setattr(subprocess, "run", run)  # the module generation runs the command with
    result = generation.command(rounds=2, records=150, scenario_file="demo-city.yaml")
    # interleaved: each round runs one process, then two workers, the whole command each time
    assert [argv[argv.index("--workers") + 1] for argv in ran] == ["1", "2", "1", "2"]
    assert all(argv[argv.index("--limit") + 1] == "150" and "generate" in argv for argv in ran)
    assert [len(v) for v in result["all_rounds_wall_s"].values()] == [2, 2]
    assert result["one_process_per_s"] > 0 and result["two_workers_per_cpu_s"] > 0
    ratio = result["two_workers_per_s"] / result["one_process_per_s"]
    assert result["two_worker_ratio"] == pytest.approx(ratio, abs=0.01)


def test_peak_rss_is_measured_in_a_child_streaming_exactly_n_records() -> None:
    result = generation.peak_rss(200)
    assert result["records"] == 200
    assert 10 < result["peak_rss_mb"] < 1000


def test_every_delivery_mode_really_delivers_to_the_null_receiver() -> None:
    seconds = 0.25
    with delivery.null_receiver() as url:
        for mode in ("bare", "transport", "fleetsim"):
            result = delivery._child(mode, url, seconds, warmup_s=0.05)  # a fresh process, as `make bench` runs it
            assert result["deliveries"] > 0, mode
            # the rate is of the deliveries measured, over about `seconds` (longer while in-flight ones come back,
            # shorter by a late wake-up from the warm-up on a busy machine): not over the warm-up, not over nothing
            assert result["deliveries"] / (10 * seconds) <= result["per_s"] <= result["deliveries"] / (0.25 * seconds)
            assert result["peak_rss_mb"] > 10
    assert result["invariant_ok"] is True  # fleetsim run's accounting held
