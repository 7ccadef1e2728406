"""How fast fleetsim turns a scenario into wire-ready traffic, and how much memory a long stream takes.

Stages are measured side by side in one process so their ratios mean something on a shared machine:
world events only; + rendering; + envelope, serialization and signing (the full `generate --scenario`
pipeline minus writing the output). `command` measures the whole `fleetsim generate --scenario` writing NDJSON
to /dev/null, on one process and on two worker processes, in interleaved rounds (medians): wall-clock records/s,
and records per CPU-second (all processes' CPU), which a machine shared with other work disturbs less.
`compiled_command` builds the optional mypyc build (simulator/compiled.py), checks it gives the same bytes, and
measures the command interpreted and compiled in interleaved rounds; a failed build is reported with its reason.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import compiled
from ..resources import scenarios_dir
from ..scenario.loader import load_scenario
from ..scenario.model import Scenario
from ..stream import scenario_messages, scenario_stream
from ..world.sim import World
from . import identity, peak_rss_mb

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


COMMAND_RECORDS = 300_000  # of bench-mixed's 332,155: the whole command, start-up included


def _command_argv(workers: int, records: int, scenario_file: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())",
            "generate", "--scenario", str(scenarios_dir() / scenario_file), "--limit", str(records),
            "--workers", str(workers)]


def _command_run(workers: int, records: int, scenario_file: str, compiled_dir: Path | None = None) -> dict[str, float]:
    """One `fleetsim generate --scenario FILE --limit N --workers W > /dev/null`: wall and CPU seconds; with
    `compiled_dir`, on the mypyc build there (FLEETSIM_COMPILED)."""
    env = {k: v for k, v in os.environ.items() if k != compiled.ENV}
    if compiled_dir is not None:
        env[compiled.ENV] = str(compiled_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(_command_argv(workers, records, scenario_file), stdout=subprocess.DEVNULL, check=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers (all waited for)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def _pair_run(records: int, scenario_file: str) -> dict[str, float]:
    """Two one-process commands started together, each the whole job: how long until both have finished, and
    their CPU. Two cores that were really independent would finish both in one process's time; on this
    machine's two vCPUs two busy processes slow each other (shared physical core or caches on the host), and
    this measures by how much: the machine's own ceiling for any two-process split of the work."""
    env = {k: v for k, v in os.environ.items() if k != compiled.ENV}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = [subprocess.Popen(_command_argv(1, records, scenario_file), stdout=subprocess.DEVNULL, env=env)
             for _ in range(2)]
    codes = [proc.wait() for proc in procs]
    wall = time.perf_counter() - started
    if any(codes):
        raise subprocess.CalledProcessError(max(codes), _command_argv(1, records, scenario_file))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def command(rounds: int = 7, records: int = COMMAND_RECORDS, scenario_file: str = SCENARIO) -> dict[str, Any]:
    """`generate --scenario` as a user runs it, 1 process then 2 workers in each round, then the machine's own
    two-process ceiling (two one-process commands at once, `_pair_run`), every other round in the reverse order,
    after one unmeasured one-process run (the first run after a while paid for cold caches: up to a quarter
    slower). Rates are medians of the rounds; each ratio is the median of the rounds' own ratios, so a slow
    stretch of the shared host, which slows a round's runs alike, moves it less than it moves the rates.

    `two_worker_cpu_ratio` is the CPU of all the two-worker command's processes over the one process's: what the
    workers add (their start-up, the pipe, the command's merge). `pair_ceiling_ratio` is 2 one-process jobs' wall
    over the pair's: what two processes doing no shared work at all reach on this machine, so
    `two_worker_of_ceiling` says how much of the attainable scaling the workers reach."""
    load_before = os.getloadavg()[0]  # a shared machine's other work, for reading the figures
    _command_run(1, records, scenario_file)  # the warm-up: not measured
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    pairs: list[dict[str, float]] = []
    for index in range(rounds):
        # every other round the other way round (the pair, two workers, one process): the shared host speeds up
        # and slows down over seconds, and a round's ratios compare runs made seconds apart; in one order only, a
        # host slowing through the rounds flattered the workers (run after the one process) and one speeding up
        # flattered the one process; the medians see both orders
        steps = ["one", "two", "pair"] if index % 2 == 0 else ["pair", "two", "one"]
        for step in steps:
            if step == "pair":
                pairs.append(_pair_run(records, scenario_file))
            else:
                workers = 1 if step == "one" else 2
                runs[workers].append(_command_run(workers, records, scenario_file))
    rounds_of = list(zip(runs[1], runs[2], pairs, strict=True))
    return {
        "scenario": scenario_file, "records": records, "rounds": rounds,
        "one_process_per_s": round(statistics.median(records / r["wall_s"] for r in runs[1])),
        "one_process_per_cpu_s": round(statistics.median(records / r["cpu_s"] for r in runs[1])),
        "two_workers_per_s": round(statistics.median(records / r["wall_s"] for r in runs[2])),
        "two_workers_per_cpu_s": round(statistics.median(records / r["cpu_s"] for r in runs[2])),
        "two_worker_ratio": round(statistics.median(one["wall_s"] / two["wall_s"] for one, two, _ in rounds_of), 2),
        "two_worker_cpu_ratio": round(statistics.median(two["cpu_s"] / one["cpu_s"] for one, two, _ in rounds_of), 3),
        "pair_ceiling_ratio": round(statistics.median(2 * one["wall_s"] / pair["wall_s"]
                                                      for one, _, pair in rounds_of), 2),
        "pair_cpu_ratio": round(statistics.median(pair["cpu_s"] / (2 * one["cpu_s"]) for one, _, pair in rounds_of), 3),
        "two_worker_of_ceiling": round(statistics.median(pair["wall_s"] / (2 * two["wall_s"])
                                                         for _, two, pair in rounds_of), 2),
        "all_rounds_wall_s": {**{str(w): [round(r["wall_s"], 2) for r in rs] for w, rs in runs.items()},
                              "pair": [round(r["wall_s"], 2) for r in pairs]},
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # at the start and the end
    }


#: records of the long command: bench-mixed's fleet over 30 days (`long_scenario`), ~20 s on one process here
LONG_COMMAND_RECORDS = 1_000_000
#: how long the long streams run (`long_scenario`, `long_command`): days of bench-mixed's one
LONG_DAYS = 30
_DURATION_LINE = re.compile(r"^duration: .*$", re.MULTILINE)


def long_command(rounds: int = 3, records: int = LONG_COMMAND_RECORDS) -> dict[str, Any]:
    """`command` on a stream long enough that start-up weighs little: bench-mixed's fleet over 30 days, `records`
    records, as a file of its own (the command reads a file). Each process of `--workers 2` pays its start-up
    (imports, the scenario, the road network: ~0.35 s) in full, so on the 300,000-record command (~6 s) that part
    is not halved and caps the two-worker ratio at about 0.95 of the machine's ceiling; a stream that takes
    ~20 s shows what the split itself gives, which is what a long `generate --workers` gets."""
    text, found = _DURATION_LINE.subn(f"duration: {LONG_DAYS}d",
                                      (scenarios_dir() / SCENARIO).read_text(encoding="utf-8"))
    if found != 1:
        raise ValueError(f"{SCENARIO} has {found} top-level duration lines, not one")
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-") as directory:
        path = Path(directory) / "bench-mixed-30-days.yaml"
        path.write_text(text, encoding="utf-8")
        result = command(rounds, records, str(path))
    return {**result, "scenario": f"{SCENARIO} over 30 days"}


COMPILED_DIR = Path("build") / "compiled"
IDENTITY_RECORDS = 20_000  # of each shipped scenario, compared pure against compiled before measuring


def compiled_command(rounds: int = 5, records: int = COMMAND_RECORDS, scenario_file: str = SCENARIO,
                     directory: Path = COMPILED_DIR) -> dict[str, Any]:
    """The optional mypyc build (simulator/compiled.py) beside the interpreted modules: build it, check that every
    shipped scenario gives the same bytes with it, then `generate --scenario` on one process, interpreted and
    compiled in each round (medians). When the build fails or the bytes differ, the reason instead of figures."""
    load_before = os.getloadavg()[0]  # a shared machine's other work, for reading the figures
    started = time.perf_counter()
    try:
        compiled.build(directory)
    except compiled.CompileError as exc:
        return {"measured": False, "reason": f"the compiled build failed: {exc}"}
    build_s = time.perf_counter() - started
    env = {**{k: v for k, v in os.environ.items() if k != compiled.ENV}, compiled.ENV: str(directory)}
    pure, fast = identity.digests(IDENTITY_RECORDS), identity.digests(IDENTITY_RECORDS, env=env)
    differ = [name for name in pure if pure[name]["raw_sha256"] != fast[name]["raw_sha256"]]
    if differ:
        return {"measured": False, "reason": f"the compiled build's output differs for {', '.join(differ)}"}
    runs: dict[str, list[dict[str, float]]] = {"pure": [], "compiled": []}
    for _ in range(rounds):
        runs["pure"].append(_command_run(1, records, scenario_file))
        runs["compiled"].append(_command_run(1, records, scenario_file, directory))
    per_s = {name: statistics.median(records / r["wall_s"] for r in rs) for name, rs in runs.items()}
    per_cpu_s = {name: statistics.median(records / r["cpu_s"] for r in rs) for name, rs in runs.items()}
    paired = list(zip(runs["pure"], runs["compiled"], strict=True))  # each ratio: the median of the rounds' own
    return {
        "measured": True, "scenario": scenario_file, "records": records, "rounds": rounds,
        "modules": len(compiled.MODULES), "build_s": round(build_s, 1),
        "identical_bytes": f"all {len(pure)} shipped scenarios, first {IDENTITY_RECORDS} records",
        "pure_per_s": round(per_s["pure"]), "compiled_per_s": round(per_s["compiled"]),
        "pure_per_cpu_s": round(per_cpu_s["pure"]), "compiled_per_cpu_s": round(per_cpu_s["compiled"]),
        "compiled_ratio": round(statistics.median(pure["wall_s"] / fast["wall_s"] for pure, fast in paired), 2),
        "compiled_cpu_ratio": round(statistics.median(pure["cpu_s"] / fast["cpu_s"] for pure, fast in paired), 2),
        "all_rounds_wall_s": {name: [round(r["wall_s"], 2) for r in rs] for name, rs in runs.items()},
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # at the start and the end
    }


def long_scenario() -> Scenario:
    """The benchmark fleet over LONG_DAYS days: enough traffic for a million records or deliveries."""
    return dataclasses.replace(load_scenario(scenarios_dir() / SCENARIO), duration_s=LONG_DAYS * 86_400.0)


def _rss_child(n: int) -> None:
    scenario = long_scenario()
    count = sum(len(o.body) > 0 for o in itertools.islice(scenario_stream(scenario), n))
    print(json.dumps({"records": count, "peak_rss_mb": peak_rss_mb()}))


def peak_rss(n: int) -> dict[str, Any]:
    """Peak RSS of a fresh process streaming n records (a separate process so nothing else is counted)."""
    proc = subprocess.run([sys.executable, "-m", "simulator.benchmarks.generation", str(n)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


if __name__ == "__main__":
    _rss_child(int(sys.argv[1]))
