"""`make bench`, load part: fleetsim's Locust users (realistic signed payloads, fresh ids, records kept) against a
bare FastHttpUser posting one fixed body, side by side against the same null receiver (bench/null_receiver.py,
from the project's bench tools), one Locust process each. The goal (issue 10): at least 90 % of the bare rate.

Where the machine has two cores or more, the receiver and Locust are pinned one core each (taskset), as in
docs/perf-anchors.md. Rounds alternate bare and ours, and the medians of the rounds are compared (the house rule
for a shared machine: side by side in one run, medians of interleaved rounds); the best rounds are kept beside
them. Results go into bench/results.json under "load".
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from simulator.benchmarks import publish_section

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
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


def rate(locustfile: Path, host: str, extra: list[str]) -> float:
    """Requests per second of one headless Locust process over SECONDS."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "stats")
        argv = [*_pin(0), sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(USERS),
                "-r", str(USERS), "-t", f"{SECONDS}s", "--host", host, "--only-summary", "--csv", prefix,
                "--loglevel", "ERROR", "--exit-code-on-error", "0", *extra]
        subprocess.run(argv, capture_output=True, check=True, timeout=SECONDS + 120)
        with open(prefix + "_stats.csv", newline="") as stats:
            for row in csv.DictReader(stats):
                if row["Name"] == "Aggregated":
                    return float(row["Requests/s"])
    raise RuntimeError("Locust wrote no aggregated row")


def measure() -> dict[str, Any]:
    port = _free_port()
    receiver = subprocess.Popen([*_pin(1), sys.executable, str(ROOT / "bench" / "null_receiver.py"), str(port)])
    try:
        time.sleep(1.0)
        host = f"http://127.0.0.1:{port}"
        bare: list[float] = []
        ours: list[float] = []
        with tempfile.TemporaryDirectory() as records:
            for _ in range(ROUNDS):
                bare.append(rate(ROOT / "loadtests" / "bench_locustfile.py", host, []))
                ours.append(rate(ROOT / "loadtests" / "locustfile.py", host, ["--fleetsim-records", records]))
    finally:
        receiver.terminate()
        receiver.wait()
    bare_rps, ours_rps = statistics.median(bare), statistics.median(ours)
    return {"seconds_per_round": SECONDS, "rounds": ROUNDS, "users": USERS, "pinned": bool(_pin(0)),
            "bare_fasthttpuser_fixed_body_per_s": round(bare_rps), "fleetsim_users_per_s": round(ours_rps),
            "ratio": round(ours_rps / bare_rps, 3) if bare_rps else 0.0, "goal_ratio": GOAL_RATIO,
            "best_round_ratio": round(max(ours) / max(bare), 3) if bare else 0.0,
            "all_rounds": {"bare": [round(r) for r in bare], "fleetsim": [round(r) for r in ours]}}


def main() -> int:
    print(f"Locust: fleetsim's provider users vs a bare FastHttpUser, {ROUNDS} x {SECONDS} s each ...", flush=True)
    measured = measure()
    return publish_section("load", measured)


if __name__ == "__main__":
    sys.exit(main())
