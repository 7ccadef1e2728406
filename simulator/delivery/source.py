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

The worker is fleetsim's one worker mechanism (simulator/stream_workers.py, also behind `generate --workers`):
a fresh interpreter, never a fork of the running event loop, whose job is the `SourceSpec` itself. Memory stays
flat on both sides: the worker blocks on a full pipe until the runner reads (which it does only when its bounded
queue has room). It ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the runner decides what
stops), exits quietly when the runner stops reading or is gone, and the runner kills and reaps it whenever the
run ends, however it ends. It generates only webhooks (`channels={"webhook"}`): other channels' messages are
not rendered where the renderer can skip them, and never encoded.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..scenario.model import Scenario
from ..stream import Outgoing, scenario_stream
from ..stream_workers import AsyncWorkerProcess
from .faults import Skip, plan_jobs

__all__ = ["BATCH", "Group", "InlineSource", "Plan", "Source", "SourceSpec", "WorkerSource", "plan_groups",
           "plan_rng"]

#: groups per frame: big enough to amortise a pipe read, small enough that the first deliveries start at once
BATCH = 128

Plan = str | tuple[tuple[str, float], ...]
Group = tuple[Outgoing, Plan]


@dataclass(frozen=True)
class SourceSpec:
    """Everything the plan depends on (and nothing else): the worker process gets exactly this."""

    scenario: Scenario  # with the run's merged provider settings
    providers: frozenset[str]  # whose webhooks the run sends
    applicable: Mapping[str, Collection[str]]  # probes that mean something per provider (faults.applicable_probes)
    limit: int | None = None  # records generated at most

    def batches(self) -> Iterator[list[tuple[tuple[Any, ...], Plan]]]:
        """The worker's job (stream_workers.Job): the groups in batches, as the worker sends them."""
        return worker_batches(self)


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
        for batch in _batched(self._groups, self._batch):
            yield batch

    async def close(self) -> None:
        return None


# --- the worker process -----------------------------------------------------------------------------------------


def _row(record: Outgoing) -> tuple[Any, ...]:
    # positional, in Outgoing's field order: rebuilt with Outgoing(*row), far cheaper to pickle than the object
    return (record.seq, record.event_id, record.provider, record.kind, record.channel, record.device,
            record.send_t, record.headers, record.body, record.source)


def _batched(groups: Iterator[Group], size: int = BATCH) -> Iterator[list[Group]]:  # itertools.batched: 3.12+
    while batch := list(itertools.islice(groups, size)):
        yield batch


def worker_batches(spec: SourceSpec) -> Iterator[list[tuple[tuple[Any, ...], Plan]]]:
    """What the worker sends: `plan_groups` in batches, each record as a row."""
    for batch in _batched(plan_groups(spec)):
        yield [(_row(record), plan) for record, plan in batch]


class WorkerSource:
    """Generates in a worker process (see the module docstring); `pid` is the worker's once started."""

    def __init__(self, spec: SourceSpec) -> None:
        self._spec = spec
        self._worker = AsyncWorkerProcess("the generation worker")
        self.pid: int | None = None

    async def start(self) -> None:
        await self._worker.start(self._spec)
        self.pid = self._worker.pid

    async def batches(self) -> AsyncIterator[list[Group]]:
        while True:
            rows: Any = await self._worker.recv()
            if rows is None:
                return
            yield [(Outgoing(*row), plan) for row, plan in rows]

    async def close(self) -> None:
        """Stop the worker (if it still runs) and reap it: no process outlives the run."""
        await self._worker.close()
