"""How fast fleetsim turns a scenario into wire-ready traffic, and how much memory a long stream takes.

Stages are measured side by side in one process so their ratios mean something on a shared machine:
world events only; + rendering; + envelope, serialization and signing (the full `generate --scenario`
pipeline minus writing the output).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..resources import scenarios_dir
from ..scenario.loader import load_scenario
from ..scenario.model import Scenario
from ..stream import scenario_messages, scenario_stream
from ..world.sim import World

SCENARIO = "bench-mixed.yaml"


def _rate(items: Iterator[Any], n: int, warmup: int) -> float:
    for _ in itertools.islice(items, warmup):
        pass
    started = time.perf_counter()
    count = sum(1 for _ in itertools.islice(items, n))
    return count / (time.perf_counter() - started)


def throughput(n: int = 200_000, warmup: int = 30_000, scenario_file: str = SCENARIO) -> dict[str, Any]:
    """Records per second of each stage, over `n` records after `warmup` (a shipped scenario's file name)."""
    scenario = load_scenario(scenarios_dir() / scenario_file)
    return {
        "scenario": scenario_file,
        "records_measured": n,
        "world_events_per_s": round(_rate(World(scenario).events(), n, warmup)),
        "rendered_messages_per_s": round(_rate(scenario_messages(scenario), n, warmup)),
        "signed_wire_records_per_s": round(_rate(scenario_stream(scenario), n, warmup)),
    }


def long_scenario() -> Scenario:
    """The benchmark fleet over 30 days: enough traffic for a million records or deliveries."""
    return dataclasses.replace(load_scenario(scenarios_dir() / SCENARIO), duration_s=30 * 86_400.0)


def _rss_child(n: int) -> None:
    scenario = long_scenario()
    count = sum(len(o.body) > 0 for o in itertools.islice(scenario_stream(scenario), n))
    print(json.dumps({"records": count, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_rss(n: int) -> dict[str, Any]:
    """Peak RSS of a fresh process streaming n records (a separate process so nothing else is counted)."""
    proc = subprocess.run([sys.executable, "-m", "simulator.benchmarks.generation", str(n)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


if __name__ == "__main__":
    _rss_child(int(sys.argv[1]))
