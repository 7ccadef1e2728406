"""Benchmarks run by `make bench` (never by `make test`): results go to bench/results.json."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["publish_section", "write_sections"]


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
