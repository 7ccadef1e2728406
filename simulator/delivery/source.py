"""Where a run's events come from: the scenario's webhooks with the delivery plan (faults) applied, generated
either in this process or in a worker process that streams them over a pipe.

Generating realistic traffic costs far more CPU than sending it (docs/delivery.md, "Speed"), so `fleetsim run
--rate max` generates in a worker process (`WorkerSource`) while the sending process only signs, sends and
accounts. Both sources yield the same groups from the same function (`plan_groups`), so the worker changes where
the work runs, never what is sent: the same seed gives the same records and the same plan.

A group is one record and its plan: a skip reason (str, e.g. "fault_drop"), or the (copy, due) of each job the
record becomes (probes, then the genuine copy, then a duplicate; see faults.plan_jobs). Records are sent with the
signature headers `scenario_stream` made at their scheduled time; the runner re-signs every copy with the
provider's signer at the moment it is sent (faults.apply_fault), over the exact bytes it sends.

The worker (`python -m simulator.delivery.source`) reads its pickled `SourceSpec` on stdin and writes frames on
stdout: a 4-byte big-endian length, then a pickled ("batch", groups) | ("end", None) | ("error", exception).
Memory stays flat on both sides: the worker blocks on a full pipe until the runner reads (which it does only
when its bounded queue has room). It ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the
runner decides what stops), exits quietly when the runner stops reading (broken pipe), and the runner kills and
reaps it whenever the run ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import itertools
import os
import pickle
import random
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, Any, Protocol

from ..errors import FleetsimError, HarnessError
from ..scenario.model import Scenario
from ..stream import Outgoing, scenario_stream
from .faults import Skip, plan_jobs

__all__ = ["BATCH", "Group", "InlineSource", "Plan", "Source", "SourceSpec", "WorkerSource", "plan_groups",
           "plan_rng"]

#: groups per frame: big enough to amortise a pipe read, small enough that the first deliveries start at once
BATCH = 128
#: the pipe's capacity (Linux F_SETPIPE_SZ), so the worker can run ahead of short bursts of slow sending
_PIPE_BYTES = 1 << 20

Plan = str | tuple[tuple[str, float], ...]
Group = tuple[Outgoing, Plan]


@dataclass(frozen=True)
class SourceSpec:
    """Everything the plan depends on (and nothing else): the worker process gets exactly this."""

    scenario: Scenario  # with the run's merged provider settings
    providers: frozenset[str]  # whose webhooks the run sends
    applicable: Mapping[str, Collection[str]]  # probes that mean something per provider (faults.applicable_probes)
    limit: int | None = None  # records generated at most


def plan_rng(scenario: Scenario) -> random.Random:
    """The plan's own seeded RNG: what a run sends never depends on how its retries went."""
    return random.Random(f"fleetsim:{scenario.name}:{scenario.seed}:delivery")


def plan_groups(spec: SourceSpec) -> Iterator[Group]:
    """The run's records, each with its plan, in stream order."""
    scenario = spec.scenario
    stream: Iterator[Outgoing] = scenario_stream(scenario, providers=set(spec.providers), channels={"webhook"})
    if spec.limit is not None:
        stream = itertools.islice(stream, spec.limit)
    current: Outgoing | None = None
    jobs: list[tuple[str, float]] = []
    for item in plan_jobs(stream, scenario.delivery.faults, plan_rng(scenario), start=scenario.start,
                          applicable=spec.applicable):
        if isinstance(item, Skip):
            if current is not None:
                yield current, tuple(jobs)
                current, jobs = None, []
            yield item.record, item.reason
            continue
        if item.record is not current:  # plan_jobs yields one record's jobs together
            if current is not None:
                yield current, tuple(jobs)
            current, jobs = item.record, []
        jobs.append((item.copy, item.due))
    if current is not None:
        yield current, tuple(jobs)


class Source(Protocol):
    """What the runner reads groups from."""

    pid: int | None

    async def start(self) -> None: ...

    def batches(self) -> AsyncIterator[list[Group]]: ...

    async def close(self) -> None: ...


class InlineSource:
    """Generates in the runner's own process (rates below max, conformance runs, library callers)."""

    pid: int | None = None

    def __init__(self, spec: SourceSpec, batch: int = 64) -> None:
        self._groups = plan_groups(spec)
        self._batch = batch

    async def start(self) -> None:
        return None

    async def batches(self) -> AsyncIterator[list[Group]]:
        while True:
            batch = list(itertools.islice(self._groups, self._batch))
            if not batch:
                return
            yield batch

    async def close(self) -> None:
        return None


# --- the worker process -----------------------------------------------------------------------------------------


def _proxy(values: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(values)


class _SpecPickler(pickle.Pickler):
    # settings are read-only MappingProxyType views, which pickle cannot take as they are
    dispatch_table = {MappingProxyType: lambda m: (_proxy, (dict(m),))}


def _dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    _SpecPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _row(record: Outgoing) -> tuple[Any, ...]:
    # positional, in Outgoing's field order: rebuilt with Outgoing(*row), far cheaper to pickle than the object
    return (record.seq, record.event_id, record.provider, record.kind, record.channel, record.device,
            record.send_t, record.headers, record.body, record.source)


def _frame(kind: str, value: object) -> bytes:
    payload = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(4, "big") + payload


def _worker_error(exc: BaseException) -> FleetsimError:
    """A generation error as the runner raises it: fleetsim's own errors as they are (a user's mistake stays
    exit 2), anything else as a one-line HarnessError."""
    if isinstance(exc, FleetsimError):
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            return HarnessError(f"generation failed: {type(exc).__name__}: {exc}")
        return exc
    return HarnessError(f"generation failed: {type(exc).__name__}: {exc}")


def worker_main(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when generation stops
    spec: SourceSpec = pickle.load(stdin)
    _grow_pipe(stdout)
    try:
        try:
            for batch in _batched(plan_groups(spec)):
                stdout.write(_frame("batch", [(_row(record), plan) for record, plan in batch]))
            stdout.write(_frame("end", None))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:
            stdout.write(_frame("error", _worker_error(exc)))
        stdout.flush()
    except (BrokenPipeError, ConnectionResetError):
        # the runner stopped reading (it is stopping, or it is gone): nothing left to do
        with contextlib.suppress(OSError):
            os.close(stdout.fileno())
        return 0
    return 0


def _batched(groups: Iterator[Group]) -> Iterator[list[Group]]:  # itertools.batched is Python 3.12+
    while batch := list(itertools.islice(groups, BATCH)):
        yield batch


class WorkerSource:
    """Generates in a worker process (see the module docstring); `pid` is the worker's once started."""

    def __init__(self, spec: SourceSpec) -> None:
        self._spec = spec
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] | None = None
        self.pid: int | None = None

    async def start(self) -> None:
        # stderr to a file, never a pipe nobody reads: a chatty worker must not block on it
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator.delivery.source", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=self._stderr, limit=_PIPE_BYTES)
        self.pid = self._proc.pid
        assert self._proc.stdin is not None
        self._proc.stdin.write(_dumps(self._spec))
        with contextlib.suppress(ConnectionError):
            await self._proc.stdin.drain()
        self._proc.stdin.close()

    async def batches(self) -> AsyncIterator[list[Group]]:
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise HarnessError("WorkerSource.batches before start()")
        stdout = proc.stdout
        while True:
            try:
                head = await stdout.readexactly(4)
                kind, value = pickle.loads(await stdout.readexactly(int.from_bytes(head, "big")))
            except asyncio.IncompleteReadError:
                raise HarnessError(f"the generation worker stopped without finishing{await self._why()}") from None
            if kind == "batch":
                yield [(Outgoing(*row), plan) for row, plan in value]
            elif kind == "end":
                return
            else:
                raise value if isinstance(value, FleetsimError) else HarnessError(f"generation failed: {value}")

    async def _why(self) -> str:
        proc = self._proc
        if proc is None:
            return ""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 2.0)
        lines: list[str] = []
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        last = f": {lines[-1][:300]}" if lines else ""
        return f" (exit code {proc.returncode}){last}"

    async def close(self) -> None:
        """Stop the worker (if it still runs) and reap it: no process outlives the run."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _grow_pipe(stream: IO[bytes]) -> None:
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux; elsewhere the default capacity only means shorter run-ahead
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


if __name__ == "__main__":
    sys.exit(worker_main(sys.stdin.buffer, sys.stdout.buffer))
