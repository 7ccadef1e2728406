"""Worker processes (stream_workers.py): `generate --scenario --workers N` gives the bytes of one process, and a
worker stops with its parent however the parent stops. Real processes and pipes."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import marshal
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import UsageError
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.stream import record_line, scenario_stream, scenario_windows
from simulator.stream_workers import (
    _MARSHALLED,
    BATCH_GC_THRESHOLD,
    WRITE_AHEAD,
    ShardJob,
    Split,
    WorkerError,
    WorkerProcess,
    _cut,
    _decoded,
    _marshalled_parts,
    _merged_lines,
    _merged_tails,
    _merged_tails_reference,
    _numbered,
    _read_exactly,
    collecting_rarely,
    frame,
    ndjson_chunks,
    start_workers,
)
from tests.conftest import CliResult

DEMO = scenarios_dir() / "demo-city.yaml"


def one_process(providers: set[str] | None = None) -> bytes:
    return b"".join(record_line(r) for r in scenario_stream(load_scenario(DEMO), providers=providers))


def exists(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has exited and only waits to be reaped)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(exists(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Failing:
    """A job that fails inside the worker (the worker imports this module to unpickle it)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def batches(self) -> Iterator[object]:
        yield ["a first batch"]
        raise self.error


def test_a_record_line_is_the_record_as_compact_json() -> None:
    for record in islice(scenario_stream(load_scenario(DEMO)), 300):
        assert record_line(record) == orjson.dumps(record.as_record()) + b"\n"


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_give_the_bytes_of_one_process(workers: int) -> None:
    expected = one_process()
    assert b'"kind":"socket_frame"' in expected and b'"channel"' not in expected
    assert b"".join(ndjson_chunks(load_scenario(DEMO), workers)) == expected


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_bytes_of_one_process_for_one_provider(workers: int) -> None:
    expected = one_process({"samsara"})
    got = b"".join(ndjson_chunks(load_scenario(DEMO), workers, providers={"samsara"}))
    assert got == expected and got.count(b"\n") > 10
    assert got.startswith(b'{"seq":1,')  # numbered as emitted


@pytest.mark.parametrize(("workers", "limit"), [(2, 1), (3, 777)])
def test_a_limit_gives_the_first_records_of_one_process(workers: int, limit: int) -> None:
    expected = b"".join(record_line(r) for r in islice(scenario_stream(load_scenario(DEMO)), limit))
    assert b"".join(ndjson_chunks(load_scenario(DEMO), workers, limit=limit)) == expected


def _long_demo() -> Any:
    """demo-city over 30 days: far more than a pipe holds, so the workers are still at work when the first chunk
    arrives (one day's 4,325 records fit in the pipes, and workers could finish and exit before being stopped)."""
    return dataclasses.replace(load_scenario(DEMO), duration_s=30 * 86_400.0)


def test_stopping_early_stops_and_reaps_the_workers() -> None:
    started = start_workers(1)
    pids = [proc.pid for proc in started]
    chunks = ndjson_chunks(_long_demo(), 2, started=started)
    assert next(chunks).startswith(b'{"seq":1,')
    assert all(exists(pid) for pid in pids)
    chunks.close()
    assert not any(exists(pid) for pid in pids)  # killed and reaped, not left to init


def test_stopping_early_under_an_event_loops_signal_handling() -> None:
    # a forked worker inherited the loop's wakeup fd and handlers (SIGTERM became a byte on a pipe) and the read
    # ends of the workers forked before it; the workers are fresh interpreters now, which inherit neither
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: None)
    try:
        started = start_workers(2)
        chunks = ndjson_chunks(_long_demo(), 3, started=started)
        next(chunks)
        assert all(exists(proc.pid) for proc in started)  # stopped while at work
        chunks.close()
        assert not any(exists(proc.pid) for proc in started)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.close()


class Busy:
    """A shard with more frames than a pipe holds, which says when all of them are written (`done`)."""

    # of ~100 kB: more than a pipe's 1 MB (~10 frames) and the worker's writer holds (WRITE_AHEAD + 1), and no
    # more than the parent reads ahead (READ_AHEAD)
    FRAMES = 30

    def __init__(self, done: Path) -> None:
        self.done = done

    def batches(self) -> Iterator[object]:
        for n in range(self.FRAMES):
            yield [float(n)], [1], [b'"pad":"' + b"x" * 100_000 + b'"}\n']
        self.done.touch()  # the worker asks for the next batch only once its writer has taken the last one


class Counting:
    """A shard of many ~100 kB frames, which counts the batches the worker has taken (`made`)."""

    FRAMES = 40

    def __init__(self, made: Path) -> None:
        self.made = made

    def batches(self) -> Iterator[object]:
        for n in range(self.FRAMES):
            yield [float(n)], [1], [b'"n":%d,"pad":"' % n + b"x" * 100_000 + b'"}\n']
            self.made.write_text(str(n + 1))


def test_a_worker_keeps_making_batches_while_its_parent_is_busy_and_no_further_than_its_writer_holds(
        tmp_path: Path) -> None:
    # the parent of `generate --workers` reads its workers' pipes only between windows of its own shard: a worker
    # writing straight to its pipe blocked once ~10 frames filled it; its writer thread holds WRITE_AHEAD more,
    # so making the next batches goes on meanwhile (bounded: memory stays flat)
    made = tmp_path / "made"
    proc = WorkerProcess("generation worker 1")
    try:
        proc.send(Counting(made))
        def count() -> int:
            return int(made.read_text() or 0) if made.exists() else 0

        deadline = time.monotonic() + 20
        while count() < WRITE_AHEAD + 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count() >= WRITE_AHEAD + 10  # past what the pipe holds, nothing read yet
        time.sleep(1.0)
        assert count() < Counting.FRAMES  # and not without bound
        numbers: list[int] = []
        tails: list[bytes] = []
        while (batch := proc.recv()) is not None:
            assert isinstance(batch, tuple)
            numbers += batch[1]
            tails += batch[2]
        assert numbers == [1] * Counting.FRAMES
        assert [tail[:12] for tail in tails[:2]] == [b'"n":0,"pad":', b'"n":1,"pad":']
        assert int(made.read_text()) == Counting.FRAMES
    finally:
        proc.close()


class Waiting:
    """A shard whose first (and only) record comes once `Busy` has written everything, or after 20 s."""

    def __init__(self, done: Path) -> None:
        self.done = done

    def batches(self) -> Iterator[object]:
        deadline = time.monotonic() + 20
        while not self.done.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        yield [1000.0], [0], [b'"saw_it_done":%s}\n' % (b"true" if self.done.exists() else b"false")]


def test_the_merge_reads_ahead_so_a_busier_shard_never_waits_on_a_full_pipe(tmp_path: Path) -> None:
    # the merge awaits worker 1 (it holds the watermark back) while worker 2 has more to send than its pipe
    # holds: unread, worker 2 would block (its core idle) until worker 1 gave up after 20 s
    procs = [WorkerProcess("generation worker 1"), WorkerProcess("generation worker 2")]
    try:
        procs[0].send(Waiting(tmp_path / "done"))
        procs[1].send(Busy(tmp_path / "done"))
        started = time.monotonic()
        out = b"".join(_merged_lines(procs, None))
        assert time.monotonic() - started < 15
    finally:
        for proc in procs:
            proc.close()
    assert out.count(b"\n") == Busy.FRAMES + 1 and out.startswith(b'{"seq":1,"pad":')
    assert out.endswith(b'{"seq":%d,"saw_it_done":true}\n' % (Busy.FRAMES + 1))


def test_this_process_reads_the_workers_frames_while_it_makes_its_own_shard(tmp_path: Path) -> None:
    # this process's own shard holds the merge back (its keys come first) and, like `Waiting`, ends only once
    # `Busy` has written everything, more than its pipe holds: unless this process read the worker's frames
    # between its own windows, the worker would block and the shard would give up after 20 s
    done = tmp_path / "done"

    def own_shard() -> Iterator[Any]:
        deadline = time.monotonic() + 20
        while not done.exists() and time.monotonic() < deadline:
            yield [], [], []  # a window with nothing in it, as a quiet stretch of send time would make
            time.sleep(0.01)
        yield [1000.0], [0], [b'"saw_it_done":%s}\n' % (b"true" if done.exists() else b"false")]

    procs = [WorkerProcess("generation worker 1")]
    try:
        procs[0].send(Busy(done))
        out = b"".join(_merged_lines(procs, None, own_shard()))
    finally:
        for proc in procs:
            proc.close()
    assert out.count(b"\n") == Busy.FRAMES + 1 and out.startswith(b'{"seq":1,"pad":')
    assert out.endswith(b'{"seq":%d,"saw_it_done":true}\n' % (Busy.FRAMES + 1))


class Slow:
    """A shard with one early record, which then holds the merge back for a second before it ends."""

    def batches(self) -> Iterator[object]:
        yield [0.5], [1], [b'"n":0.5}\n']
        time.sleep(1)


def test_this_process_makes_its_own_shard_no_further_than_the_limit_takes() -> None:
    made = []

    def own_shard() -> Iterator[Any]:
        for n in itertools.count(1):
            made.append(n)
            yield [float(n)], [0], [b'"n":%d}\n' % n]

    procs = [WorkerProcess("generation worker 1")]
    try:
        procs[0].send(Slow())
        out = b"".join(_merged_lines(procs, 3, own_shard()))
    finally:
        procs[0].close()
    assert out == b'{"seq":1,"n":0.5}\n{"seq":2,"n":1}\n{"seq":3,"n":2}\n'
    assert len(made) <= 4  # not the LOCAL_AHEAD records it makes ahead while a worker holds the merge back


def test_a_failing_worker_is_one_error_naming_it() -> None:
    proc = WorkerProcess("generation worker 2")
    try:
        proc.send(Failing(ValueError("no world today")))
        assert proc.recv() == ["a first batch"]
        with pytest.raises(WorkerError, match=r"^generation worker 2 failed: ValueError: no world today$"):
            proc.recv()
    finally:
        proc.close()
    assert not exists(proc.pid)


def test_a_users_mistake_in_a_worker_stays_a_usage_error() -> None:
    proc = WorkerProcess("generation worker 1")
    try:
        proc.send(Failing(UsageError("faults.duplicate must be at most 1")))
        proc.recv()
        with pytest.raises(UsageError, match=r"^faults\.duplicate must be at most 1$"):
            proc.recv()
    finally:
        proc.close()


@pytest.mark.parametrize("victim", [0, 1])
def test_a_worker_that_dies_is_one_error_with_its_exit_code(victim: int) -> None:
    started = start_workers(2)
    # the long scenario: demo-city's one day fits in the pipes, and a worker that finished before the kill
    # exited 0 (the test failed now and then on a busy machine); this process makes its own shard meanwhile,
    # which must end in the error, not in a hang or a cut-short output
    chunks = ndjson_chunks(_long_demo(), 3, started=started)
    next(chunks)
    os.kill(started[victim].pid, signal.SIGKILL)
    with pytest.raises(WorkerError, match=rf"^generation worker {victim + 1} exited without finishing "
                       r"\(exit code -9\)"):
        list(chunks)
    assert not any(exists(proc.pid) for proc in started)


def test_an_error_in_this_processs_own_shard_stops_and_reaps_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    windows = ShardJob.windows

    def failing(job: ShardJob) -> Iterator[Any]:
        made = windows(job)
        yield next(made)
        if job.part == 0:  # this process's shard (the workers, fresh interpreters, never see the patch)
            raise ValueError("no world today")
        yield from made

    monkeypatch.setattr(ShardJob, "windows", failing)
    started = start_workers(1)
    with pytest.raises(ValueError, match=r"^no world today$"):
        list(ndjson_chunks(_long_demo(), 2, started=started))
    assert not any(exists(proc.pid) for proc in started)


def generate(*extra: str) -> tuple[subprocess.Popen[bytes], list[int]]:
    """`fleetsim generate --scenario bench-mixed --workers 2` writing to a pipe nobody reads: soon blocked. It has
    one worker process: it makes the other shard itself."""
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "generate", "--scenario",
                             str(scenarios_dir() / "bench-mixed.yaml"), "--workers", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (kids := [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]):
        assert time.monotonic() < deadline and proc.poll() is None, "the workers never started"
        time.sleep(0.02)
    assert proc.stdout is not None
    proc.stdout.read(100_000)  # they are generating
    return proc, kids


@pytest.mark.parametrize("how", ["sigkill", "ctrl-c-to-the-process-group", "sigterm"])
def test_the_workers_stop_with_their_command(how: str) -> None:
    proc, workers = generate()
    if how == "sigkill":  # no chance to clean up: the workers notice the closed pipe by themselves
        proc.kill()
    elif how == "sigterm":
        proc.terminate()
    else:  # what a terminal's Ctrl-C does: the workers get it too, and leave stopping to the command
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    if how == "ctrl-c-to-the-process-group":
        assert proc.returncode == 130 and err.decode().strip() == "fleetsim: interrupted"
    assert gone_within(workers, 5), "a worker outlived its command"


def test_generate_workers_option(cli: Callable[..., CliResult]) -> None:
    one = cli("generate", "--scenario", str(DEMO), "--limit", "300")
    two = cli("generate", "--scenario", str(DEMO), "--limit", "300", "--workers", "2")
    assert one.code == two.code == 0 and len(two.lines) == 300 and two.out == one.out
    alone = cli("generate", "mettax", "gps", "--workers", "2")
    assert alone.code == 2 and "--workers applies to --scenario" in alone.err
    zero = cli("generate", "--scenario", str(DEMO), "--workers", "0")
    assert zero.code == 2 and "Traceback" not in zero.err
    missing = cli("generate", "--scenario", "nowhere.yaml", "--workers", "2")
    assert missing.code == 2 and "nowhere.yaml" in missing.err and "Traceback" not in missing.err


class Threshold:
    """A shard of one record: the worker's collector threshold."""

    def batches(self) -> Iterator[object]:
        yield [0.0], [1], [b"%d" % gc.get_threshold()[0]]


def test_a_worker_collects_garbage_rarely() -> None:
    proc = WorkerProcess("generation worker 1")
    try:
        proc.send(Threshold())
        batch = proc.recv()
        assert isinstance(batch, tuple) and batch[2] == [b"%d" % BATCH_GC_THRESHOLD]
    finally:
        proc.close()


def _faults_of_frames(frames: int = 64) -> int:
    """Page faults while `frames` frames of 1,024 records (~0.7 MB each) are marshalled and freed one after
    another, as a worker sends them."""
    import resource

    run = ([0.5] * 1024, [1] * 1024, [b"x" * 700] * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(frames):
        payload = marshal.dumps(run, 2)
        del payload
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


class Faults:
    """A shard of one record: the page faults of marshalling frames in the worker."""

    def batches(self) -> Iterator[object]:
        _faults_of_frames(4)  # the heap grows to a frame's size once
        yield [0.0], [1], [b"%d" % _faults_of_frames()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_reusing_freed_memory_stops_large_blocks_faulting_their_pages_in_again() -> None:
    # a fresh interpreter: the test process's own allocator may already be set either way
    code = ("from tests.simulator.test_stream_workers import _faults_of_frames as f; "
            "from simulator.stream_workers import reuse_freed_memory as r; "
            "a = f(); ok = r(); f(4); b = f(); print(a, ok, b)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2]).stdout.split()
    default, reused, tuned = int(out[0]), out[1], int(out[2])
    pages = 64 * len(marshal.dumps(([0.5] * 1024, [1] * 1024, [b"x" * 700] * 1024), 2)) // 4096
    assert default >= pages // 2  # by default each frame's pages are mapped afresh and faulted in again
    assert reused == "True"
    assert tuned < pages // 20  # the same frames now reuse the heap's pages


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_generate_scenario_reuses_freed_memory_in_its_own_process() -> None:
    code = ("import io, sys; from tests.simulator.test_stream_workers import _faults_of_frames as f; "
            "from simulator.cli import main; a = f(); sys.stdout = io.TextIOWrapper(io.BytesIO()); "
            f"main(['generate', '--scenario', {str(DEMO)!r}, '--limit', '5']); sys.stdout = sys.__stdout__; "
            "f(4); print(a, f())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2]).stdout.split()
    pages = 64 * len(marshal.dumps(([0.5] * 1024, [1] * 1024, [b"x" * 700] * 1024), 2)) // 4096
    assert int(out[0]) >= pages // 2 and int(out[1]) < pages // 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_a_worker_reuses_freed_memory() -> None:
    proc = WorkerProcess("generation worker 1")
    try:
        proc.send(Faults())
        batch = proc.recv()
        assert isinstance(batch, tuple)
        assert int(batch[2][0]) < 64 * 700 * 1024 // 4096 // 20
    finally:
        proc.close()


def _collections_while_generating(records: int) -> list[int]:
    """Collections of each generation set off while `records` of bench-mixed are made, past the first window
    (which builds the world)."""
    counts = [0, 0, 0]

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            counts[info["generation"]] += 1

    windows = scenario_windows(load_scenario(scenarios_dir() / "bench-mixed.yaml"))
    made = len(next(windows))
    gc.callbacks.append(count)
    try:
        while made < records:
            made += len(next(windows))
    finally:
        gc.callbacks.remove(count)
    return counts


def test_generation_sets_off_no_collection_when_collecting_rarely_and_the_threshold_comes_back() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])  # CPython's default
    try:
        assert sum(_collections_while_generating(20_000)) >= 5  # a window's records, alive until written
        with collecting_rarely():
            assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD
            assert _collections_while_generating(20_000) == [0, 0, 0]
        assert gc.get_threshold()[0] == 700
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize(("first", "count"), [(1, 1), (1, 2500), (995, 10), (998_990, 2100), (123_456_789, 3)])
def test_the_merge_numbers_lines_as_record_line_does(first: int, count: int) -> None:
    # the merge lays each seq out in pieces (thousands, then the last three digits): every boundary it crosses
    # (999 -> 1000, 999999 -> 1000000) must still read as the plain number
    tails = [b'"n":%d}\n' % n for n in range(count)]
    expected = b"".join(b'{"seq":%d,%b' % (first + n, tail) for n, tail in enumerate(tails))
    assert _numbered(first, tails) == expected


@pytest.mark.parametrize("weights", [(1, 1), (9, 10), (9, 10, 10), (3, 1, 2), (1,)])
def test_a_split_gives_each_part_its_weight_in_every_period_spread_out(weights: tuple[int, ...]) -> None:
    split = Split(weights)
    period = sum(weights)
    owners = [split(position) for position in range(3 * period)]
    assert owners[:period] == owners[period:2 * period] == owners[2 * period:]
    assert [owners[:period].count(part) for part in range(len(weights))] == list(weights)
    # smooth: any run of devices gives each part its share give or take one or two, not its devices in a block
    for start in range(period):
        window = owners[start:start + period // 2]
        for part, weight in enumerate(weights):
            assert abs(window.count(part) - weight * len(window) / period) < 2


def test_an_equal_split_is_every_nth_device() -> None:
    assert [Split((1, 1, 1))(position) for position in range(7)] == [position % 3 for position in range(7)]


def test_the_split_is_what_it_says_and_the_shards_make_every_record_once() -> None:
    scenario = load_scenario(DEMO)
    split = Split.of(3)
    devices: list[set[int]] = []
    for part in range(3):
        devices.append({n for window in ShardJob(scenario, part, 3, None, split).windows() for n in window[1]})
    assert not devices[0] & devices[1] and not devices[0] & devices[2] and not devices[1] & devices[2]
    total = sum(map(len, devices))
    assert all(len(part) > 0 for part in devices) and total > 10


def test_frames_decode_marshalled_batches_and_pickled_frames() -> None:
    batch = ([1.5, 2.0], [3, 4], [b'"a":1}\n', b'"b":2}\n'])
    head, payload = _marshalled_parts(batch)
    assert head[4:] == _MARSHALLED and int.from_bytes(head[:4], "big") == len(payload) + 1
    assert _decoded("w", _MARSHALLED + payload) == batch
    assert _decoded("w", frame("batch", [("a row", {"h": "v"})])[4:]) == [("a row", {"h": "v"})]  # run's frames
    assert _decoded("w", frame("end", None)[4:]) is None
    with pytest.raises(WorkerError, match=r"^w failed: boom$"):
        _decoded("w", frame("error", WorkerError("boom"))[4:])


#: (device, send time) records: few devices and few instants, so that runs often share a send time and a device
#: often has several records at one instant
_RECORDS = st.lists(st.tuples(st.integers(1, 9), st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.0, 1e9 + 0.1])),
                    max_size=40)


def _runs(records: list[tuple[int, float]], parts: int) -> list[Any]:
    """`records` as the runs a merge of `parts` sources gets: each device's records in one run (device % parts),
    each run in merge order (by send time, then device number; a device's records in their order), each tail
    naming its device and its place among that device's records. A run goes through marshal as a worker's
    frame does (so no float object is in two runs, as in `_merged_lines`)."""
    runs = []
    for part in range(parts):
        mine = [(t, device, index) for index, (device, t) in enumerate(records) if device % parts == part]
        mine.sort()  # the index keeps a device's records at one instant in their order
        run = ([t for t, _, _ in mine], [device for _, device, _ in mine],
               [b'"d":%d,"i":%d}\n' % (device, index) for _, device, index in mine])
        runs.append(marshal.loads(marshal.dumps(run, 2)))
    return runs


@settings(max_examples=300, deadline=None)
@given(_RECORDS, st.integers(1, 4))
def test_the_merge_of_runs_is_the_reference_merge_ties_and_all(records: list[tuple[int, float]], parts: int) -> None:
    runs = _runs(records, parts)
    merged = _merged_tails([run for run in runs if run[0]])
    assert merged == _merged_tails_reference(runs)
    # and the one-process order: by send time, then device, a device's records in their order
    one_process = sorted((t, device, index) for index, (device, t) in enumerate(records))
    assert merged == [b'"d":%d,"i":%d}\n' % (device, index) for _, device, index in one_process]


def test_a_send_time_in_two_runs_is_ordered_by_device_number() -> None:
    # devices 1 and 3 in one run, 2 in the other, all at one instant: the send times alone would put 1, 3, 2
    runs = [([5.0, 5.0, 6.0], [1, 3, 1], [b"1\n", b"3\n", b"1b\n"]), ([4.0, 5.0], [2, 2], [b"2a\n", b"2\n"])]
    runs = [marshal.loads(marshal.dumps(run, 2)) for run in runs]
    assert _merged_tails(runs) == [b"2a\n", b"1\n", b"2\n", b"3\n", b"1b\n"] == _merged_tails_reference(runs)
    assert _merged_tails(runs[::-1]) == [b"2a\n", b"1\n", b"2\n", b"3\n", b"1b\n"]


@settings(max_examples=300, deadline=None)
@given(_RECORDS, st.integers(1, 9), st.sampled_from([0.0, 0.5, 1.0, 1.1, 1.25, 2.0, 3.0, 1e9 + 0.1]))
def test_a_cut_takes_the_records_up_to_the_key(records: list[tuple[int, float]], n: int, t: float) -> None:
    times, numbers, _ = _runs(records, 1)[0]
    assert _cut(times, numbers, t, n) == sum(1 for key in zip(times, numbers, strict=True) if key <= (t, n))


def test_a_frame_read_in_pieces_is_read_whole_and_an_early_end_is_none() -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"abc")
        writer = threading.Timer(0.2, os.write, (write, b"defgh"))
        writer.start()
        assert _read_exactly(read, 8) == b"abcdefgh"  # the first read finds only 3 bytes
        writer.join()
        os.write(write, b"xy")
        os.close(write)
        write = -1
        assert _read_exactly(read, 5) is None
    finally:
        os.close(read)
        if write != -1:
            os.close(write)
