"""`make bench`: run every benchmark and write bench/results.json (quoted in the README)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from typing import Any

from . import delivery, generation, startup, write_sections

TARGET_EVENTS_PER_S = 100_000
TARGET_RSS_MB_AT_1M = 150
TARGET_COMMAND_PER_S = 50_000  # issue 13: realistic signed records/s on one core, the whole command
TARGET_TWO_WORKER_RATIO = 1.8


def main() -> int:
    # every section runs the installed fleetsim in child processes: with PYTHONDONTWRITEBYTECODE set (as here)
    # no child writes bytecode, so each would compile fleetsim's sources again (~0.1 s a process), which no
    # pip-installed fleetsim does; the start-up section does the same before its rounds
    startup.compile_bytecode()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    print("generation throughput (one core, 200k records after 30k warm-up) ...", flush=True)
    gen = generation.throughput()
    gen["target_per_s"] = TARGET_EVENTS_PER_S
    print("peak RSS streaming 10k and 1M records (separate processes) ...", flush=True)
    small, large = generation.peak_rss(10_000), generation.peak_rss(1_000_000)
    gen["peak_rss_mb_10k"] = round(small["peak_rss_mb"], 1)
    gen["peak_rss_mb_1m"] = round(large["peak_rss_mb"], 1)
    gen["records_in_1m_run"] = large["records"]
    gen["rss_target_mb_1m"] = TARGET_RSS_MB_AT_1M
    print("fleetsim generate --scenario > /dev/null: 1 process, 2 workers and a pair of 1-process runs, "
          "7 interleaved rounds (every other one in reverse order) after a warm-up ...", flush=True)
    gen["command"] = {**generation.command(), "target_per_s": TARGET_COMMAND_PER_S,
                      "target_two_worker_ratio": TARGET_TWO_WORKER_RATIO}
    print("the same on a 1,000,000-record stream (bench-mixed over 30 days), where start-up weighs little: "
          "3 rounds after a warm-up ...", flush=True)
    gen["command_long"] = {**generation.long_command(), "target_two_worker_ratio": TARGET_TWO_WORKER_RATIO}
    print("the optional mypyc build: compile, same bytes, then generate interpreted vs compiled, 5 rounds ...",
          flush=True)
    gen["compiled"] = generation.compiled_command()
    results["generation"] = gen
    print("delivery: raw asyncio, bare aiohttp, fleetsim's transport, fleetsim's runner on pre-generated records and "
          "fleetsim run --rate max, interleaved rounds ...", flush=True)
    results["delivery"] = delivery.throughput()
    print("delivery: each stage's microseconds per delivery ...", flush=True)
    results["delivery"]["stages_us"] = delivery.stages()
    print("delivery memory: fleetsim run of 10k and 1M deliveries (separate processes) ...", flush=True)
    results["delivery"]["memory"] = delivery.memory()
    path = write_sections(results)
    print(json.dumps(results, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
