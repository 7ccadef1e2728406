"""What each Locust process sent: one JSON line per request (event id, key, provider, device, send time, status,
latency), written per process at the end of its run and merged after it (docs/load-testing.md, "Records").

Kept in memory as tuples while the test runs (an append per send), written once when the process stops, so the
hot path does no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

__all__ = ["CUT_OFF", "STOP_TIMEOUT_S", "Record", "read_records", "senders", "write_records"]

FILE_GLOB = "sent-*.jsonl"
#: a Record's status when Locust stopped its user while the request waited for an answer (the run ended)
CUT_OFF = -1
#: how long Locust lets a request in flight at the end of the run finish (its --stop-timeout) before it stops the
#: user: a request cut off after waiting this long was not answered in time, a failure; one cut off sooner was
#: stopped by the run's end, not judged
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Record:
    provider: str
    device: str
    event_id: str
    key: str | None
    sent_at: float  # UTC epoch seconds when the request went out
    status: int  # the HTTP status; 0 when none came (connection error, timeout); CUT_OFF: stopped waiting
    latency_ms: float


def write_records(directory: str | Path, records: Iterable[Record], *, name: str | None = None) -> Path:
    """Write one process's records as JSON lines into `directory` (a file of its own: sent-<pid>.jsonl)."""
    path = Path(directory) / f"sent-{name or os.getpid()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for r in records:
            out.write(orjson.dumps({"provider": r.provider, "device": r.device, "event_id": r.event_id,
                                    "key": r.key, "sent_at": r.sent_at, "status": r.status,
                                    "latency_ms": r.latency_ms}) + b"\n")
    return path


def senders(directory: str | Path) -> int:
    """How many processes wrote records (files are named sent-<process>-<chunk>.jsonl)."""
    return len({path.stem.removeprefix("sent-").rpartition("-")[0] for path in Path(directory).glob(FILE_GLOB)})


def read_records(directory: str | Path) -> Iterator[Record]:
    """Every process's records, merged (file by file; order within a file is send order)."""
    for path in sorted(Path(directory).glob(FILE_GLOB)):
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    row = orjson.loads(line)
                    yield Record(row["provider"], row["device"], row["event_id"], row["key"], row["sent_at"],
                                 row["status"], row["latency_ms"])
