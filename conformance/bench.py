"""`make bench`, conformance part: the wall time a user waits for `fleetsim check --suite standard`, per provider,
against fleetsim's reference receiver (started by the command itself, as on a fresh machine).

Each provider is timed as a whole command in its own process (start-up, receiver start, traffic, probes,
judging, report), three rounds interleaved across providers, median kept: the machine is shared, and a median
of interleaved rounds is steadier than one run. The figures are added to bench/results.json under "check".
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulator.benchmarks import publish_section

from .run import webhook_providers

ROUNDS = 3
SUITE = "standard"
GOAL_S = 20.0  # per provider (issue: "a user waits seconds, not minutes")


def time_check(provider: str) -> tuple[float, int]:
    """(seconds, exit code) of one `fleetsim check --provider P --suite standard` against the reference receiver."""
    started = time.perf_counter()
    command = str(Path(sys.executable).with_name("fleetsim"))  # the installed console script, as a user runs it
    done = subprocess.run([command, "check", "--provider", provider, "--suite", SUITE], capture_output=True,
                          check=False, timeout=600)
    return time.perf_counter() - started, done.returncode


def measure() -> dict[str, Any]:
    names = [p.name for p in webhook_providers() if p.name != "standard_webhooks"]  # needs a user's secret
    samples: dict[str, list[float]] = {name: [] for name in names}
    codes: dict[str, int] = {}
    for _ in range(ROUNDS):
        for name in names:
            seconds, code = time_check(name)
            samples[name].append(seconds)
            codes[name] = code
    return {
        "suite": SUITE, "rounds": ROUNDS, "goal_s_per_provider": GOAL_S,
        "per_provider": {name: {"median_s": round(statistics.median(s), 2), "min_s": round(min(s), 2),
                                "max_s": round(max(s), 2), "exit_code": codes[name]}
                         for name, s in samples.items()},
    }


def main() -> int:
    print(f"fleetsim check --suite {SUITE} against the reference receiver, per provider, {ROUNDS} rounds ...",
          flush=True)
    measured = measure()
    return publish_section("check", measured)


if __name__ == "__main__":
    sys.exit(main())
