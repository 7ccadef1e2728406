"""`make bench`, load part: fleetsim's Locust users (realistic signed payloads, fresh ids, records kept) against a
bare FastHttpUser posting one fixed body, side by side against the same null receiver (bench/null_receiver.py,
from the project's bench tools), one Locust process each. The goal (issue 10): at least 90 % of the bare rate.

Where the machine has two cores or more, the receiver and Locust are pinned one core each (taskset), as in
docs/perf-anchors.md. Rounds alternate bare and ours, and the medians of the rounds are compared (the house rule
for a shared machine: side by side in one run, medians of interleaved rounds); the best rounds are kept beside
them. Each Locust process also loads loadtests/bench_meter.py, which measures from the moment every user runs
to the moment the test starts stopping: the rate compared (Locust's own requests/s, kept beside it as
"whole_run", also counts the ramp-up) and this process's CPU time per request, which is steadier than any rate
when other work shares the core (other processes take the pinned core's time, not the work per request).
Results go into bench/results.json under "load".
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.benchmarks import publish_section

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
SECONDS = 6
USERS = 16  # 16-32 saturate a core on loopback (perf-anchors §6)
GOAL_RATIO = 0.9


def _pin(core: int) -> list[str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return ["taskset", "-c", str(core)] if usable >= 2 and shutil.which("taskset") else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Round:
    """One Locust process's run: its steady rate and CPU per request (bench_meter.py) and Locust's own rate."""

    per_s: float
    cpu_us_per_request: float
    whole_run_per_s: float


def rate(locustfile: Path, host: str, extra: list[str]) -> Round:
    """One headless Locust process over SECONDS, metered (loadtests/bench_meter.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        meter = Path(tmp) / "meter.json"
        locustfiles = f"{locustfile},{ROOT / 'loadtests' / 'bench_meter.py'}"
        argv = [*_pin(0), sys.executable, "-m", "locust", "-f", locustfiles, "--headless", "-u", str(USERS),
                "-r", str(USERS), "-t", f"{SECONDS}s", "--host", host, "--only-summary", "--loglevel", "ERROR",
                "--exit-code-on-error", "0", *extra]
        subprocess.run(argv, capture_output=True, check=True, timeout=SECONDS + 120,
                       env={**os.environ, "FLEETSIM_BENCH_METER": str(meter)})
        if not meter.exists():
            raise RuntimeError(f"the Locust run of {locustfile.name} ended before every user ran")
        metered = json.loads(meter.read_text())
        return Round(metered["per_s"], metered["cpu_us_per_request"], metered["whole_run_per_s"])


def measure() -> dict[str, Any]:
    port = _free_port()
    receiver = subprocess.Popen([*_pin(1), sys.executable, str(ROOT / "bench" / "null_receiver.py"), str(port)])
    try:
        time.sleep(1.0)
        host = f"http://127.0.0.1:{port}"
        bare: list[Round] = []
        ours: list[Round] = []
        with tempfile.TemporaryDirectory() as records:
            for _ in range(ROUNDS):
                bare.append(rate(ROOT / "loadtests" / "bench_locustfile.py", host, []))
                ours.append(rate(ROOT / "loadtests" / "locustfile.py", host, ["--fleetsim-records", records]))
    finally:
        receiver.terminate()
        receiver.wait()
    return summarise(bare, ours)


def summarise(bare: list[Round], ours: list[Round]) -> dict[str, Any]:
    """Medians of the interleaved rounds and their ratios (ours over bare for rates, bare over ours for CPU per
    request, so that above 1 is better for both)."""
    def median(rounds: list[Round], field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in rounds))

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else 0.0

    bare_rps, ours_rps = median(bare, "per_s"), median(ours, "per_s")
    bare_cpu, ours_cpu = median(bare, "cpu_us_per_request"), median(ours, "cpu_us_per_request")
    bare_whole, ours_whole = median(bare, "whole_run_per_s"), median(ours, "whole_run_per_s")
    return {"seconds_per_round": SECONDS, "rounds": ROUNDS, "users": USERS, "pinned": bool(_pin(0)),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
            "bare_fasthttpuser_fixed_body_per_s": round(bare_rps), "fleetsim_users_per_s": round(ours_rps),
            "ratio": ratio(ours_rps, bare_rps), "goal_ratio": GOAL_RATIO,
            "best_round_ratio": ratio(max(r.per_s for r in ours), max(r.per_s for r in bare)),
            "cpu_us_per_request": {"bare": round(bare_cpu, 1), "fleetsim": round(ours_cpu, 1),
                                   "ratio": ratio(bare_cpu, ours_cpu)},
            "whole_run": {"bare_per_s": round(bare_whole), "fleetsim_per_s": round(ours_whole),
                          "ratio": ratio(ours_whole, bare_whole)},
            "all_rounds": {"bare": [round(r.per_s) for r in bare], "fleetsim": [round(r.per_s) for r in ours],
                           "bare_cpu_us": [round(r.cpu_us_per_request, 1) for r in bare],
                           "fleetsim_cpu_us": [round(r.cpu_us_per_request, 1) for r in ours]}}


def main() -> int:
    print(f"Locust: fleetsim's provider users vs a bare FastHttpUser, {ROUNDS} x {SECONDS} s each ...", flush=True)
    measured = measure()
    return publish_section("load", measured)


if __name__ == "__main__":
    sys.exit(main())
