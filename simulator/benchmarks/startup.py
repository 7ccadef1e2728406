"""How long each `fleetsim` command takes to start and finish a tiny job, as a user's shell sees it.

The installed console script is run as a subprocess, commands interleaved round by round (so a neighbour's
burst on a shared machine lands on all of them alike), and each command's median is reported beside that of
`python -c pass`, the floor no command can go under. The CPU time (user + system) of each child is kept too:
on a busy machine wall time waits for a core, CPU time much less. Goals from issue 13 item 3: `--help`, `sign` and
`verify` under 0.1 s; `schemas validate` and `generate` under 0.3 s. The other rows are for information.

fleetsim's own modules are byte-compiled before the rounds, as `pip install` does for an installed package (and
as the first run of an editable install does): with PYTHONDONTWRITEBYTECODE set, as on some machines and CI
images, the warm-up rounds would write no bytecode and every run would compile fleetsim's sources again.

    python -m simulator.benchmarks.startup [--runs N]     # writes the "startup" section of bench/results.json
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..resources import scenarios_dir
from . import publish_section

RUNS = 15
WARMUP_ROUNDS = 2
#: issue 13 item 3, in milliseconds
GOALS_MS = {"help": 100, "sign": 100, "verify": 100, "schemas validate": 300, "generate": 300}
#: a generic signing profile, not a provider: benchmarks ask the provider registry, never name a provider
PROFILE = "hmac-sha256"
SECRET = "fleetsim-startup-bench"
BODY = b'{"event":"ping","id":"bench"}'
TIMESTAMP = "1587597109"


def console_script() -> str:
    """The `fleetsim` the package installed beside this interpreter (else the one on PATH)."""
    beside = Path(sys.executable).with_name("fleetsim")
    found = str(beside) if beside.exists() else shutil.which("fleetsim")
    if found is None:
        raise SystemExit("startup benchmark: no `fleetsim` console script (pip install -e . first)")
    return found


def commands(fleetsim: str, work: Path) -> dict[str, list[str]]:
    from ..providers import PROVIDERS

    provider = PROVIDERS[min(PROVIDERS)]  # any provider's first kind: the import cost is the registry's
    kind = next(iter(provider.kinds))
    body = work / "body.json"
    body.write_bytes(BODY)
    sign = [fleetsim, "sign", PROFILE, "--secret", SECRET, "--timestamp", TIMESTAMP, "--body-file", str(body)]
    signed = subprocess.run(sign, check=True, capture_output=True, text=True).stdout
    document = work / "document.json"
    document.write_bytes(subprocess.run([fleetsim, "generate", provider.name, kind, "--seed", "7"],
                                        check=True, capture_output=True).stdout)
    headers = [arg for line in signed.splitlines() for arg in ("--header", line)]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "help": [fleetsim, "--help"],
        "sign": sign,
        "verify": [fleetsim, "verify", PROFILE, "--secret", SECRET, "--body-file", str(body), "--now", TIMESTAMP,
                   *headers],
        "schemas validate": [fleetsim, "schemas", "validate", provider.name, kind, str(document)],
        "generate": [fleetsim, "generate", provider.name, kind, "-n", "10", "--seed", "7"],
        "providers": [fleetsim, "providers"],
        "generate --scenario": [fleetsim, "generate", "--scenario", str(scenarios_dir() / "demo-city.yaml"),
                                "--limit", "1"],
        "check --help": [fleetsim, "check", "--help"],
        "receiver --help": [fleetsim, "receiver", "--help"],
    }


def _cpu_of_children() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    cpu, started = _cpu_of_children(), time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu_of_children() - cpu


#: the packages fleetsim installs, byte-compiled before timing
PACKAGES = ("simulator", "conformance", "loadtests")


def compile_bytecode() -> None:
    """Write the bytecode of fleetsim's packages (what `pip install` does at install time); quiet, idempotent."""
    root = Path(__file__).resolve().parents[2]  # the packages are installed side by side (editable or not)
    for name in PACKAGES:
        if (root / name / "__init__.py").is_file():
            compileall.compile_dir(str(root / name), quiet=2)


def measure(runs: int = RUNS) -> dict[str, Any]:
    fleetsim = console_script()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="fleetsim-startup-") as tmp:
        argvs = commands(fleetsim, Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in argvs}
        cpu: dict[str, list[float]] = {name: [] for name in argvs}
        for round_ in range(WARMUP_ROUNDS + runs):
            names = list(argvs)
            # rotate the order each round: no command always runs right after the same neighbour
            names = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in names:
                elapsed, used = _once(argvs[name])
                if round_ >= WARMUP_ROUNDS:
                    times[name].append(elapsed)
                    cpu[name].append(used)
    floor_ms = statistics.median(times["python -c pass"]) * 1000
    rows: dict[str, Any] = {}
    for name, samples in times.items():
        median_ms = statistics.median(samples) * 1000
        row: dict[str, Any] = {"median_ms": round(median_ms, 1), "min_ms": round(min(samples) * 1000, 1),
                               "over_floor_ms": round(median_ms - floor_ms, 1),
                               "cpu_median_ms": round(statistics.median(cpu[name]) * 1000, 1)}
        if name in GOALS_MS:
            row["goal_ms"] = GOALS_MS[name]
            row["meets_goal"] = median_ms < GOALS_MS[name]
        rows[name] = row
    return {"method": f"median of {runs} interleaved runs of the installed console script (after "
                      f"{WARMUP_ROUNDS} warm-up rounds), wall time of the whole subprocess, fleetsim's modules "
                      f"byte-compiled first (as pip install does)",
            "runs": runs, "floor_ms": round(floor_ms, 1), "load_average_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(), "commands": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.benchmarks.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=RUNS, help=f"measured rounds (default {RUNS})")
    args = parser.parse_args(argv)
    print(f"start-up: {args.runs} interleaved rounds of each command ...", flush=True)
    section = measure(max(1, args.runs))
    return publish_section("startup", section)


if __name__ == "__main__":
    sys.exit(main())
