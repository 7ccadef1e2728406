"""Benchmarks run by `make bench` (never by `make test`): results go to bench/results.json."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["peak_rss_mb", "publish_section", "write_sections"]


def write_sections(sections: Mapping[str, Any]) -> Path:
    """Lay `sections` over bench/results.json (or $FLEETSIM_BENCH_DIR's) and write it back: each benchmark of
    `make bench` (simulator, conformance, loadtests) owns its sections and keeps the others'."""
    path = Path(os.environ.get("FLEETSIM_BENCH_DIR", "bench")) / "results.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    results.update(sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def publish_section(name: str, measured: Mapping[str, Any]) -> int:
    """A benchmark's last step: its section written into bench/results.json and shown; exit status 0."""
    path = write_sections({name: measured})
    print(json.dumps(measured, indent=2))
    print(f"written to {path}")
    return 0


def peak_rss_mb() -> float:
    """This process's own peak resident memory in MB: Linux's VmHWM, the high-water mark of this program's memory.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries a process's maximum across fork and exec, so a
    benchmark child started by a parent that had grown (the benchmark process after its identity checks: 760 MB)
    reported the parent's peak as its own. ru_maxrss is the fallback where /proc is not there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
