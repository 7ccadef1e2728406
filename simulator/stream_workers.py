"""Generation in worker processes: the one mechanism behind `fleetsim generate --scenario --workers N` and the
generation worker of `fleetsim run --rate max` (delivery/source.py).

A worker is `python -m simulator.stream_workers`, a fresh interpreter started with subprocess, never forked:
`run` starts it from inside a running asyncio loop, and a forked child inherited that loop's signal wakeup fd
and handlers (SIGTERM became a byte on a pipe instead of an exit) and the read ends of the pipes of the
workers forked before it (a stopped parent's close never reached them, and they blocked in send forever). A
fresh interpreter inherits no handlers, and subprocess's close_fds leaves it only its stdin, stdout and stderr.

The protocol: the worker imports the generation modules (while its parent loads the scenario), reads one
pickled `Job` on stdin, and writes frames on stdout: a 4-byte big-endian length, then a pickled
("batch", value) | ("end", None) | ("error", exception), one frame per value the job yields. A job that says
`marshal_batches` (its values are tuples of lists of floats, ints and bytes: `generate`'s columns, `_Run`) has
its values sent as `M` and the value marshalled (version 2) instead: marshal dumps and loads them in about two
thirds of pickle's time, and a pickle always starts with its protocol opcode (0x80), never `M`.

- Memory stays flat on both sides: a thread writes the worker's frames (`_FrameWriter`), and the worker
  blocks once WRITE_AHEAD frames wait beyond a full pipe, until its parent reads.
- Stopping: the worker ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the parent decides
  what stops) and exits quietly when its parent stops reading or is gone, even killed (its stdout's read end
  closes, the next write fails). The parent kills and reaps it whenever it stops, however it stops.
- Errors: a FleetsimError crosses as itself (a user's mistake stays exit 2); anything else becomes one line,
  a `WorkerError` naming the worker. A worker that dies without a word is a `WorkerError` with its exit code and
  the last line of its stderr (kept in a file, never a pipe nobody reads).

`generate --workers N` (`ndjson_chunks`): devices are independent until the send-order merge, so each of N shards
(stream.scenario_shard_windows: a share of the devices, `Split`) is made apart, each record's NDJSON line finished
but for its first field (the event id is numbered per device). This process makes shard 0 itself and N - 1 worker
processes the others; it merges its own records and the workers' sorted batches (columns: send times, device
numbers, lines) by (send time, device number) and prepends `{"seq":N,`. Making a shard here spares a whole
interpreter, its imports and its world, and half the frames. The shards weigh the same (`Split`): what this process
spends merging, a worker spends starting its own interpreter and marshalling its frames.

This is an edge module (processes and pipes); the stream it parallelizes stays pure (stream.py).
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import fcntl
import functools
import gc
import io
import itertools
import marshal
import math
import operator
import os
import pickle
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, Protocol

from .errors import FleetsimError, HarnessError

if TYPE_CHECKING:  # the parent of `generate --workers` starts its workers before it imports the world
    import asyncio

    from .scenario.model import Scenario

#: records per frame of `generate --workers`: large enough that pickling and the pipe cost little per record
BATCH = 1024
MAX_WORKERS = 64
#: the pipe's capacity (Linux F_SETPIPE_SZ), so a worker can run ahead of short stalls of its parent
_PIPE_BYTES = 1 << 20
#: frames the parent of `generate --workers` reads ahead, all workers together (~0.8 kB a record once read, so
#: ~25 MB): bench-mixed's two shards run up to ~4,000 records ahead of each other in send time, more than a
#: pipe holds (~1,600), and a worker blocked on a full pipe leaves its core idle
READ_AHEAD = 32


class WorkerError(HarnessError):
    """A worker process failed: its own message, or that it exited without finishing."""


class Job(Protocol):
    """What a worker runs: a picklable object whose `batches()` values are sent, one frame each (marshalled if
    the job has a true `marshal_batches`, pickled otherwise)."""

    def batches(self) -> Iterator[object]: ...


# --- the worker process -----------------------------------------------------------------------------------------


def worker_command() -> list[str]:
    return [sys.executable, "-m", "simulator.stream_workers"]


#: the cyclic garbage collector's youngest-generation threshold in a process that does nothing but generate
#: (`generate --scenario`, every generation worker), instead of CPython's 700 net new containers. Generation makes
#: no garbage cycles: at 700, each merge window (~2,000 records of a few containers each, alive until written) set
#: off a collection that scanned them all and freed nothing (bench-mixed, 300k records: 315 young and 29 middle
#: collections, ~0.3 s of ~6 s, 0 objects freed after start-up; 2.7 % of the instructions at 100k). At this
#: threshold the collector runs twice while the world is built and then only if a run really grows by this many
#: containers, so a cycle made somewhere is still freed and memory stays bounded.
BATCH_GC_THRESHOLD = 100_000


@contextlib.contextmanager
def collecting_rarely() -> Iterator[None]:
    """This process's collector set for batch generation (BATCH_GC_THRESHOLD) inside the block, and as it was
    after it: only around work that does nothing but generate, never serving or sending (a collection there
    would be one long pause)."""
    before = gc.get_threshold()
    gc.set_threshold(BATCH_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


#: glibc malloc's thresholds in a process that only generates (see `reuse_freed_memory`): blocks up to this size
#: come from the heap rather than a fresh mmap each, and this much free memory at the heap's top stays mapped
BATCH_MMAP_THRESHOLD = 16 << 20
BATCH_TRIM_THRESHOLD = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)


def reuse_freed_memory() -> bool:
    """Let this process's big allocations reuse freed memory instead of faulting in fresh pages each time; False
    where that cannot be set (not glibc). For a process that only generates, for the rest of its life.

    Generation allocates a few large blocks over and over: a worker's marshalled frame (~0.7 MB), the parent's
    read of it, a window's joined lines (~1.6 MB). By default glibc maps each block above its (adaptive) mmap
    threshold afresh and returns heap tops above 128 KiB to the system, so such blocks page-faulted their pages
    in again and again: marshalling a frame took ~410 ns a record, ~50 ns with these thresholds, and a
    300k-record `generate --workers 2` made 74-77k page faults against 45-48k (bench-mixed). The cost is that up
    to BATCH_TRIM_THRESHOLD of freed memory stays mapped until the process ends: a million records' peak RSS
    131.2 MB before, 132.2 MB after."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a libc without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt answers 1 on success (musl's stub answers 0); True only if both thresholds took
    return bool(mallopt(_M_MMAP_THRESHOLD, BATCH_MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, BATCH_TRIM_THRESHOLD))


@contextlib.contextmanager
def generating_only() -> Iterator[None]:
    """This process set up for work that does nothing but generate (`generate --scenario`, every generation
    worker): big freed blocks reused for the rest of its life (`reuse_freed_memory`), and the collector run rarely
    inside the block (`collecting_rarely`)."""
    reuse_freed_memory()
    with collecting_rarely():
        yield


def worker_main(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when generation stops
    with generating_only():
        return _worker_job(stdin, stdout)


def _worker_job(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    if os.environ.get("FLEETSIM_COMPILED"):  # the optional mypyc build reaches workers too (simulator/compiled.py)
        from .compiled import activate_from_environment

        activate_from_environment()
    # imported while the parent is still loading the scenario: Faker too, which every world draws its name pools
    # with (core/pools.py; ~0.05 s, most of it listing its locales)
    import faker  # noqa: F401

    from . import stream, world  # noqa: F401

    try:
        job: Job = pickle.load(stdin)
    except EOFError:  # the parent stopped before it sent the job
        return 0
    _grow_pipe(stdout)
    marshalled = getattr(job, "marshal_batches", False)
    writer = _FrameWriter(stdout)
    try:
        try:
            for value in job.batches():
                writer.put(_marshalled_parts(value) if marshalled else _frame_parts("batch", value))
            writer.put(_frame_parts("end", None))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:
            writer.put(_frame_parts("error", worker_error(exc)))
        writer.close()
    except (BrokenPipeError, ConnectionResetError):
        # the parent stopped reading (it is stopping, or it is gone): nothing left to do
        writer.abandon()
        with contextlib.suppress(OSError):
            os.close(stdout.fileno())
    return 0


#: frames a worker keeps made but not yet written (~0.65 MB each for `generate`), beyond the pipe's own 1 MB
WRITE_AHEAD = 8


class _FrameWriter:
    """A worker's frames written by a thread, so that making the next batch never waits for the parent to read.

    The parent of `generate --workers` makes a shard itself and reads its workers' pipes only between its own
    windows (~20-40 ms of work); a worker writing straight to its pipe (1 MB, about one and a half frames) sat
    blocked for a part of every such window: 13 % of its time on bench-mixed. The writing thread spends its wait
    in the blocking write, which releases the GIL. `put` raises BrokenPipeError once the parent has stopped
    reading (the worker then stops as it did when its own write failed)."""

    def __init__(self, stdout: IO[bytes]) -> None:
        self._out = stdout
        self._queue: queue.Queue[tuple[bytes, ...] | None] = queue.Queue(WRITE_AHEAD)
        self._broken = False
        self._thread = threading.Thread(target=self._write_all, name="frame writer", daemon=True)
        self._thread.start()

    def _write_all(self) -> None:
        while (parts := self._queue.get()) is not None:
            if self._broken:
                continue  # keep taking frames, so that `put` never blocks on a queue nobody empties
            try:
                for part in parts:
                    self._out.write(part)
                self._out.flush()
            except (OSError, ValueError):  # the parent stopped reading (BrokenPipeError), or its pipe is gone
                self._broken = True

    def put(self, parts: tuple[bytes, ...]) -> None:
        if self._broken:
            raise BrokenPipeError("the parent stopped reading")
        self._queue.put(parts)

    def close(self) -> None:
        """Write what is queued, then stop the thread; BrokenPipeError if the parent stopped reading first."""
        self._queue.put(None)
        self._thread.join()
        if self._broken:
            raise BrokenPipeError("the parent stopped reading")

    def abandon(self) -> None:
        """Stop the thread without writing any more."""
        self._broken = True
        self._queue.put(None)
        self._thread.join()


#: the first byte of a marshalled batch's payload (a pickle's first byte is its PROTO opcode, 0x80)
_MARSHALLED = b"M"
_MARSHALLED_BYTE = _MARSHALLED[0]


def frame(kind: str, value: object) -> bytes:
    """One frame as it goes down the pipe: the payload's length (4 bytes, big-endian), then the pickled payload."""
    head, payload = _frame_parts(kind, value)
    return head + payload


def _frame_parts(kind: str, value: object) -> tuple[bytes, bytes]:
    payload = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(4, "big"), payload


def _marshalled_parts(value: object) -> tuple[bytes, bytes]:
    """A batch's frame as `M` and the marshalled value (`_decoded` reads both kinds), in two parts as
    `_frame_parts`: a batch's frame is ~0.65 MB, which joining them would copy once more."""
    # version 2, without version 3's references: marshal then keeps no table of the objects it wrote (a
    # generate batch has no object twice), ~770 instructions a record less to dump and load
    payload = marshal.dumps(value, 2)  # type: ignore[arg-type]  # the job's word (marshal_batches)
    return (len(payload) + 1).to_bytes(4, "big") + _MARSHALLED, payload


def worker_error(exc: BaseException) -> FleetsimError:
    """An error as the parent raises it: fleetsim's own errors as they are (a user's mistake stays exit 2),
    anything else as one line."""
    if isinstance(exc, FleetsimError):
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            return WorkerError(f"{type(exc).__name__}: {exc}")
        return exc
    return WorkerError(f"{type(exc).__name__}: {exc}")


def _grow_pipe(stream: IO[bytes]) -> None:
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux; elsewhere the default capacity only means shorter run-ahead
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


# --- the parent's side ------------------------------------------------------------------------------------------


def _proxy(values: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(values)


class _JobPickler(pickle.Pickler):
    # scenario settings are read-only MappingProxyType views, which pickle cannot take as they are
    dispatch_table = {MappingProxyType: lambda m: (_proxy, (dict(m),))}


def dumps_job(job: Job) -> bytes:
    buffer = io.BytesIO()
    _JobPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(job)
    return buffer.getvalue()


def _value(name: str, kind: str, value: object) -> object | None:
    """A frame's batch, None at the end; an error frame raised."""
    if kind == "batch":
        return value
    if kind == "end":
        return None
    if isinstance(value, WorkerError):
        raise WorkerError(f"{name} failed: {value}")
    raise value if isinstance(value, FleetsimError) else WorkerError(f"{name} failed: {value}")


def _decoded(name: str, payload: bytes | bytearray) -> object | None:
    """A frame's payload as its batch, None at the end; an error frame raised."""
    if payload[0] == _MARSHALLED_BYTE:
        batch: object = marshal.loads(memoryview(payload)[1:])
        return batch
    kind, value = pickle.loads(payload)
    return _value(name, kind, value)


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`, None if it ends first. Read straight from the fd (not a buffered file object), so
    nothing is ever held in a buffer where poll() cannot see it. Most frames come in one read, into a bytes object
    of their size that is never zeroed first: zeroing a bytearray per frame cost ~1,000 instructions a record of
    the worker's (49 M of 9.10 G, bench-mixed --limit 100000 --workers 2)."""
    data = os.read(fd, size)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        if not data:
            return None
        data = os.read(fd, size - got)
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _stderr_tail(stderr: IO[bytes] | None) -> str:
    if stderr is None:
        return ""
    stderr.seek(0)
    lines = stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
    return f": {lines[-1][:300]}" if lines else ""


class WorkerProcess:
    """One worker, read with blocking calls (`generate`). Started at once, so it imports while the caller
    prepares the job; `send` the job, `recv` batches until None, `close` always."""

    def __init__(self, name: str) -> None:
        self.name = name
        # stderr to a file, never a pipe nobody reads: a chatty worker must not block on it
        self._stderr: IO[bytes] | None = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self.pid = self._proc.pid

    def send(self, job: Job) -> None:
        proc = self._running()
        assert proc.stdin is not None
        try:
            proc.stdin.write(dumps_job(job))
            proc.stdin.close()
        except BrokenPipeError:
            raise WorkerError(f"{self.name} stopped before it started{self._why()}") from None

    def fileno(self) -> int:
        """The worker's stdout, for poll(): `recv` reads it unbuffered, so readable means a frame is coming."""
        stdout = self._running().stdout
        assert stdout is not None
        return stdout.fileno()

    def recv(self) -> object | None:
        return self.decode(self.recv_payload())

    def recv_payload(self) -> bytes | None:
        """The next frame's payload, still encoded (`decode` it); None once the worker's output has ended."""
        fd = self.fileno()
        head = _read_exactly(fd, 4)
        return None if head is None else _read_exactly(fd, int.from_bytes(head, "big"))

    def decode(self, payload: bytes | None) -> object | None:
        """A `recv_payload` as `recv` returns it: a batch, None at the end, an error frame raised."""
        if payload is None:
            raise WorkerError(f"{self.name} exited without finishing{self._why()}")
        return _decoded(self.name, payload)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise HarnessError(f"{self.name} is closed")
        return self._proc

    def _why(self) -> str:
        proc = self._running()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2.0)
        return f" (exit code {proc.returncode}){_stderr_tail(self._stderr)}"

    def close(self) -> None:
        """Stop the worker (if it still runs) and reap it: no process outlives its parent's use of it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


class AsyncWorkerProcess:
    """One worker, read from an asyncio loop (`run`): the same process and protocol as `WorkerProcess`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] | None = None
        self.pid: int | None = None

    async def start(self, job: Job) -> None:
        import asyncio

        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = await asyncio.create_subprocess_exec(
            *worker_command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr, limit=_PIPE_BYTES)
        self.pid = self._proc.pid
        assert self._proc.stdin is not None
        self._proc.stdin.write(dumps_job(job))
        with contextlib.suppress(ConnectionError):  # a worker gone already: recv says why
            await self._proc.stdin.drain()
        self._proc.stdin.close()

    async def recv(self) -> object | None:
        import asyncio

        proc = self._proc
        if proc is None or proc.stdout is None:
            raise HarnessError(f"{self.name}: recv before start()")
        try:
            head = await proc.stdout.readexactly(4)
            payload = await proc.stdout.readexactly(int.from_bytes(head, "big"))
        except asyncio.IncompleteReadError:
            raise WorkerError(f"{self.name} exited without finishing{await self._why()}") from None
        return _decoded(self.name, payload)

    async def _why(self) -> str:
        import asyncio

        proc = self._proc
        if proc is None:
            return ""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 2.0)
        return f" (exit code {proc.returncode}){_stderr_tail(self._stderr)}"

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


# --- generate --workers N ---------------------------------------------------------------------------------------

#: what a shard sends, a run of its records in merge order (by send time, then device number) as three columns:
#: their send times, their devices' numbers, and their lines but the first field. Columns rather than a tuple per
#: record: no tuple is made, marshalled, unmarshalled, tracked by the cyclic collector or compared per record.
#: A device's records with one send time keep their order because the merge is stable (`_merged_tails`).
_Run = tuple[list[float], list[int], list[bytes]]


#: the device split of `generate --workers`: this process's weight against each worker process's. Equal: this
#: process merges every record (unmarshalling, sorting, numbering, joining), but a worker pays about as much in
#: its own interpreter's start and in marshalling its frames; counted in instructions on bench-mixed --workers 2
#: (docs/architecture.md)
OWN_WEIGHT, WORKER_WEIGHT = 10, 10


@dataclass(frozen=True)
class Split:
    """Which part makes the wanted device at each position in the fleet (`scenario_shard_windows`' `owner`): a
    smooth weighted round-robin over the parts' weights, repeated every sum(weights) devices. A scenario lists
    its devices group by group, so each group is shared out in about the weights' proportions, whatever the
    size of the group."""

    weights: tuple[int, ...]

    def __call__(self, position: int) -> int:
        return self.pattern[position % len(self.pattern)]

    @functools.cached_property
    def pattern(self) -> tuple[int, ...]:
        """The parts of sum(weights) consecutive devices: each round, every part gains its weight and the one
        that has most (the first of them on ties) takes the device and gives back the total."""
        total = sum(self.weights)
        credit = [0] * len(self.weights)
        parts: list[int] = []
        for _ in range(total):
            credit = [c + w for c, w in zip(credit, self.weights, strict=True)]
            part = credit.index(max(credit))
            credit[part] -= total
            parts.append(part)
        return tuple(parts)

    @classmethod
    def of(cls, workers: int) -> Split:
        """The split of `generate --workers N`: part 0, this process's, weighs OWN_WEIGHT, the others
        WORKER_WEIGHT each."""
        return cls((OWN_WEIGHT, *[WORKER_WEIGHT] * (workers - 1)))


@dataclass(frozen=True)
class ShardJob:
    """Shard `part` of `parts` of a scenario's stream, as `_Run`s of BATCH records (the last one shorter): the
    devices `split` gives `part` (every `parts`-th device without one)."""

    scenario: Scenario
    part: int
    parts: int
    providers: frozenset[str] | None = None
    split: Split | None = None

    #: the batches are tuples of lists of floats, ints and bytes: marshal takes them (see the module docstring)
    marshal_batches = True

    def batches(self) -> Iterator[_Run]:
        # a merge window at a time, cut into frames of BATCH records: where a frame ends does not change the
        # merge's output
        times: list[float] = []
        numbers: list[int] = []
        tails: list[bytes] = []
        for window_times, window_numbers, window_tails in self.windows():
            times += window_times
            numbers += window_numbers
            tails += window_tails
            while len(times) >= BATCH:
                yield times[:BATCH], numbers[:BATCH], tails[:BATCH]
                del times[:BATCH], numbers[:BATCH], tails[:BATCH]
        if times:
            yield times, numbers, tails

    def windows(self) -> Iterator[_Run]:
        """The shard a merge window at a time (`scenario_shard`'s items, without its generator step per record),
        as a `_Run`: what the parent makes of its own shard, and what a worker cuts into frames."""
        from .stream import record_tails, scenario_shard_windows

        number, windows = scenario_shard_windows(self.scenario, self.part, self.parts, providers=self.providers,
                                                 owner=self.split)
        for window in windows:
            yield [record.send_t for record in window], [number[record.device] for record in window], \
                record_tails(window)


def ndjson_chunks(
    scenario: Scenario, workers: int, *, providers: Collection[str] | None = None, limit: int | None = None,
    started: list[WorkerProcess] | None = None,
) -> Generator[bytes, None, None]:
    """The NDJSON of `generate --scenario` (the first `limit` records), made by `workers` processes, in chunks of
    whole lines: the same bytes as `record_line` over `scenario_stream`. This process makes shard 0 itself while
    it merges, and `workers - 1` worker processes make the others. `started`: those workers already started
    (`start_workers(workers - 1)`), so they imported while the caller loaded the scenario. Closing the generator
    early stops and reaps the workers; so does an error in this process's own shard."""
    procs = started if started is not None else start_workers(workers - 1)
    try:
        if len(procs) != workers - 1:
            raise ValueError(f"{workers} workers wanted: {workers - 1} processes besides this one, "
                             f"{len(procs)} started")
        wanted = None if providers is None else frozenset(providers)
        split = Split.of(workers)
        for index, proc in enumerate(procs):
            proc.send(ShardJob(scenario, index + 1, workers, wanted, split))
        yield from _merged_lines(procs, limit, ShardJob(scenario, 0, workers, wanted, split).windows())
    finally:
        for proc in procs:
            proc.close()


def start_workers(count: int) -> list[WorkerProcess]:
    """`count` worker processes (0 is none), started at once so they import while the caller prepares the jobs."""
    if not 0 <= count < MAX_WORKERS:
        raise ValueError(f"worker processes must be 0..{MAX_WORKERS - 1}, got {count}")
    procs: list[WorkerProcess] = []
    try:
        for index in range(count):
            procs.append(WorkerProcess(f"generation worker {index + 1}"))
    except BaseException:
        for proc in procs:
            proc.close()
        raise
    return procs


#: a seq's last three digits and the comma after them, for seqs from 1000 on (see `_numbered`)
_LOW = tuple(b"%03d," % n for n in range(1000))
#: records of its own shard this process makes ahead of the merge while a worker holds the merge back: about
#: what the other workers' frames read ahead hold (READ_AHEAD), so neither side's run-ahead is the shorter
LOCAL_AHEAD = READ_AHEAD * BATCH


def _merged_lines(procs: list[WorkerProcess], limit: int | None,
                  local: Iterator[_Run] | None = None) -> Iterator[bytes]:
    """The workers' batches (and `local`'s, this process's own shard) merged into the one-process order,
    numbered, as chunks of lines.

    Each source's records come sorted by key (send time, device number); everything up to the watermark (the
    least of the last keys received from the sources still running) is final, since a running source's later
    records have greater keys. Each source's records wait in their own columns; what is final is cut from each
    by bisection (`_cut`), and the cuts (a few sorted runs) are merged by `_merged_tails`, so every record is
    sorted once. The source holding the watermark back is the one read next. While a worker is awaited, the
    others' frames are read ahead (`READ_AHEAD`), so a worker whose shard is quieter for a stretch of send time
    keeps generating instead of blocking on a full pipe; and this process, rather than wait, makes its own shard
    ahead (up to `LOCAL_AHEAD` records, and never past what the `limit` takes). Before each window of its own,
    it reads whatever frames are ready without waiting: a worker's pipe never stays full while this process
    computes."""
    sources = len(procs) + (local is not None)
    own = len(procs)  # the index of `local` among the sources
    waiting: list[_Run] = [([], [], []) for _ in range(sources)]  # received, not yet merged, per source
    last: dict[int, tuple[float, int]] = {}  # running sources: the key of the last record received
    # frames read ahead, kept marshalled until merged: loaded at once, they went cold in the cache while they
    # waited (the merge cost ~0.2 us a record more); None where a worker's output ended
    queued: list[collections.deque[bytes | None]] = [collections.deque() for _ in procs]
    ended: set[int] = set()  # workers whose output has ended: never polled again

    def read_ahead(index: int | None) -> None:
        """Read whichever workers have frames ready: until worker `index` has a frame queued, or (None) only
        what is ready now."""
        while index is None or not queued[index]:
            room = sum(map(len, queued)) < READ_AHEAD
            poller = select.poll()
            polled = 0
            for other, proc in enumerate(procs):
                if other == index or (room and other not in ended):
                    poller.register(proc.fileno(), select.POLLIN)
                    polled += 1
            ready = poller.poll(None if index is not None else 0) if polled else []
            if not ready:
                return
            for fd, _ in ready:
                other = next(k for k, proc in enumerate(procs) if proc.fileno() == fd)
                payload = procs[other].recv_payload()
                queued[other].append(payload)
                if payload is None:
                    ended.add(other)

    def past_limit(key: tuple[float, int]) -> bool:
        """Whether the first `limit` records all have keys up to `key`: then this process's shard, made that far,
        has made every record of its that the output takes (whatever the workers still send)."""
        if limit is None:
            return False
        return seq + sum(_cut(times, numbers, *key) for times, numbers, _ in waiting) >= limit

    def receive(index: int) -> None:
        batch: Any
        if index == own:
            assert local is not None
            read_ahead(None)
            batch = next(local, None)
        else:
            read_ahead(index)
            batch = procs[index].decode(queued[index].popleft())
        if batch is None:
            last.pop(index, None)
        elif batch[0]:
            for column, more in zip(waiting[index], batch, strict=True):
                column += more
            last[index] = (batch[0][-1], batch[1][-1])

    # nothing received yet: every source holds the merge back, this process's own shard first (it is made while
    # the workers build their worlds), then each worker in turn
    for index in (own, *range(len(procs))) if local is not None else range(sources):
        last[index] = (-math.inf, 0)
    seq = 0
    while True:
        if last:
            t, n = min(last.values())
            cuts = [_cut(times, numbers, t, n) for times, numbers, _ in waiting]
        else:
            cuts = [len(times) for times, _, _ in waiting]
        runs: list[_Run] = []
        for index, cut in enumerate(cuts):
            if cut:
                run = waiting[index]
                if cut == len(run[0]):
                    waiting[index] = ([], [], [])
                else:
                    run = (run[0][:cut], run[1][:cut], run[2][:cut])
                    for column in waiting[index]:
                        del column[:cut]
                runs.append(run)
        tails = _merged_tails(runs)
        if limit is not None and len(tails) > limit - seq:
            del tails[limit - seq:]
        if tails:
            yield _numbered(seq + 1, tails)
            seq += len(tails)
        if not last or (limit is not None and seq >= limit):
            return
        holder = min(last, key=last.__getitem__)
        if (holder != own and not queued[holder] and own in last and len(waiting[own][0]) < LOCAL_AHEAD
                and not past_limit(last[own])):
            receive(own)  # the worker is still at it: make this process's own shard meanwhile
        else:
            receive(holder)


def _cut(times: list[float], numbers: list[int], t: float, n: int) -> int:
    """How many of a source's waiting records (in merge order) have keys up to (t, n): those sent before `t`,
    and those sent at `t` by devices numbered up to `n`."""
    cut = bisect.bisect_right(times, t)
    if cut and times[cut - 1] == t:
        first = bisect.bisect_left(times, t, 0, cut)
        cut = bisect.bisect_right(numbers, n, first, cut)
    return cut


def _merged_tails(runs: list[_Run]) -> list[bytes]:
    """The tails of `runs` in merge order (by send time, then device number; a device's records in their order):
    each run in merge order, no device in two runs, and no float object in two runs' send times (a worker's
    are unmarshalled from its own frames, this process's own are its records').

    Once per record in this process (tests compare it with `_merged_tails_reference`). Where no send time is in
    two runs (bench-mixed: never), the send times alone order the records: a stable sort of the tails with float
    keys (no tuple per record, C float comparisons) keeps each run's own order at one instant. Whether a send
    time is in two runs is told by two plain sorts of the send times, the runs concatenated forwards and
    backwards: stable, they put a value's objects in the same order unless the value is in two runs (then the
    runs' objects, distinct, come in opposite orders). Those sorts cost half of what a hash set of the send times
    did (micro-measured in instructions: ~730 a record merged against ~1,380 with a set, ~1,420 for the tuples
    this replaces). `partial(next, iter(keys))` hands list.sort keys made beforehand without an index list: it
    calls its key once per item, in the list's order (the tests of byte identity would see any other order)."""
    if len(runs) <= 1:
        return runs[0][2] if runs else []
    times: list[float] = []
    tails: list[bytes] = []
    backwards: list[float] = []
    for times_, _, tails_ in runs:
        times += times_
        tails += tails_
    for times_, _, _ in reversed(runs):
        backwards += times_
    backwards.sort()
    if all(map(operator.is_, sorted(times), backwards)):
        tails.sort(key=functools.partial(next, iter(times)))
        return tails
    keys = zip(times, itertools.chain.from_iterable(numbers for _, numbers, _ in runs), strict=True)
    tails.sort(key=functools.partial(next, keys))
    return tails


def _merged_tails_reference(runs: list[_Run]) -> list[bytes]:
    """The straightforward `_merged_tails`: every record keyed by (send time, device number, run, position)."""
    keyed = [(t, n, index, position, tail) for index, (times, numbers, tails) in enumerate(runs)
             for position, (t, n, tail) in enumerate(zip(times, numbers, tails, strict=True))]
    return [item[-1] for item in sorted(keyed)]


def _numbered(first: int, tails: list[bytes]) -> bytes:
    """`tails` as the NDJSON lines numbered `first`, `first + 1`, ...: `{"seq":N,` and the tail, joined.

    This runs once per record in the parent, which shares the cores with its workers, so it makes no object
    per line: the lines' pieces are laid into one list by slice assignments (in C) and joined once. From 1000
    on, a seq is two pieces, its thousands (one object per run of up to 1000 lines) and its last three
    digits from `_LOW`."""
    count = len(tails)
    pieces: list[bytes] = [b""] * (3 * count)
    pieces[2::3] = tails
    seq, done = first, 0
    while done < count:
        high, low = divmod(seq, 1000)
        run = min(count - done, 1000 - low)
        start, stop = 3 * done, 3 * (done + run)
        if high:
            pieces[start:stop:3] = [b'{"seq":%d' % high] * run
            pieces[start + 1:stop:3] = _LOW[low:low + run]
        else:
            pieces[start:stop:3] = [b'{"seq":'] * run
            pieces[start + 1:stop:3] = [b"%d," % n for n in range(low, low + run)]
        done += run
        seq += run
    return b"".join(pieces)


__all__ = ["MAX_WORKERS", "AsyncWorkerProcess", "Job", "ShardJob", "Split", "WorkerError", "WorkerProcess",
           "ndjson_chunks", "start_workers", "worker_main"]


if __name__ == "__main__":
    # through the package module, not this __main__ copy: the classes the worker pickles (WorkerError) must be
    # the ones its parent unpickles
    from simulator.stream_workers import worker_main as main

    sys.exit(main(sys.stdin.buffer, sys.stdout.buffer))
