"""Same seed, same bytes, across speed work: digests of `fleetsim generate --scenario` output with the record
numbering taken out.

Speed work on the world, the renderers or the JSON writer must never change a body byte or a header. The record
numbering (`seq`, `event_id`, and the headers that carry the event id: Samsara's X-Samsara-Request, PowUnity's
X-PowTxn) is the one thing allowed to change on its own (issue 13 numbers event ids per device and channel), so
the normalised digest drops `seq` and `event_id` and writes every occurrence of the record's event id in a header
as `<event-id>`. Everything else — order, provider, kind, device, send time, every other header, the body — is
hashed exactly as the command printed it.

    python -m simulator.benchmarks.identity --records 20000 > before.json     # on the old code
    python -m simulator.benchmarks.identity --records 20000 --check before.json  # on the new code: exit 1 if any differ

It runs the real command in a subprocess, so `FLEETSIM_COMPILED=DIR` in the environment digests the compiled build
(simulator/compiled.py) the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson

from ..resources import scenarios_dir

ID_PLACEHOLDER = "<event-id>"


def normalised(line: bytes) -> bytes:
    """One NDJSON record without its numbering: `seq` and `event_id` dropped, the event id in headers replaced."""
    record = orjson.loads(line)
    record.pop("seq", None)
    event_id = record.pop("event_id", None)
    headers = record.get("headers")
    if event_id and isinstance(headers, dict):
        record["headers"] = {name: value.replace(event_id, ID_PLACEHOLDER) if isinstance(value, str) else value
                             for name, value in headers.items()}
    return orjson.dumps(record)


def digest_lines(lines: Iterable[bytes]) -> tuple[int, str]:
    """How many records and the sha256 of their normalised forms, one per line."""
    sha = hashlib.sha256()
    count = 0
    for line in lines:
        if line.strip():
            sha.update(normalised(line) + b"\n")
            count += 1
    return count, sha.hexdigest()


def command_output(scenario: Path, records: int, *, workers: int = 1,
                   env: Mapping[str, str] | None = None) -> bytes:
    """`fleetsim generate --scenario FILE --limit N` as a user runs it (a fresh process), its stdout, credential
    headers kept: every byte a receiver would get is compared."""
    proc = subprocess.run(
        [sys.executable, "-m", "simulator", "generate", "--scenario", str(scenario), "--limit", str(records),
         "--workers", str(workers), "--keep-secrets"],
        capture_output=True, check=True, env=dict(os.environ if env is None else env))
    return proc.stdout


def scenario_digest(scenario: Path, records: int, *, workers: int = 1,
                    env: Mapping[str, str] | None = None) -> dict[str, object]:
    out = command_output(scenario, records, workers=workers, env=env)
    count, digest = digest_lines(out.splitlines())
    return {"records": count, "normalised_sha256": digest, "raw_sha256": hashlib.sha256(out).hexdigest()}


def shipped_scenarios() -> list[Path]:
    return sorted(scenarios_dir().glob("*.yaml"))


def digests(records: int, *, workers: int = 1, env: Mapping[str, str] | None = None) -> dict[str, dict[str, object]]:
    """Every shipped scenario's digests over its first `records` records."""
    return {path.name: scenario_digest(path, records, workers=workers, env=env) for path in shipped_scenarios()}


def differences(before: Mapping[str, Mapping[str, object]], after: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Scenarios whose normalised output differs (record count or digest), one line each."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            lines.append(f"{name}: only {'after' if old is None else 'before'}")
        elif (old["records"], old["normalised_sha256"]) != (new["records"], new["normalised_sha256"]):
            lines.append(f"{name}: {old['records']} records {str(old['normalised_sha256'])[:16]} before, "
                         f"{new['records']} records {str(new['normalised_sha256'])[:16]} after")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.benchmarks.identity", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records of each scenario (default 20000)")
    parser.add_argument("--workers", type=int, default=1, help="generate with N worker processes")
    parser.add_argument("--check", type=Path, help="digests written before: exit 1 if any scenario differs")
    args = parser.parse_args(argv)
    now = digests(args.records, workers=args.workers)
    if args.check is None:
        print(json.dumps(now, indent=2))
        return 0
    diff = differences(json.loads(args.check.read_text()), now)
    for line in diff:
        print(line)
    if not diff:
        print(f"all {len(now)} shipped scenarios give the same bytes (numbering aside) over {args.records} records")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
