"""`fleetsim generate --scenario FILE --workers N`: the scenario's NDJSON records made by N processes, the same
bytes as one process.

Devices are independent until the send-order merge (world/sim.py: each has its own RNG), so each worker
process simulates and renders every N-th device (round robin, so every worker gets a share of every group)
and merges its own devices by (send time, device number). This process merges the workers' streams by the
same key, which gives exactly the one-process order, and numbers the records (`seq`, `event_id`) as it goes.

What a worker can finish without knowing a record's number it finishes: a WebSocket frame's body does not
depend on the event id, so the worker writes the whole NDJSON line but its first two fields. A webhook's
headers (and some signatures) carry the event id, so webhooks travel as rendered messages and are
enveloped and signed here. Filtered messages (another provider's) travel as their sort key alone: they are
never written but keep their place in the numbering.

This is an edge module (processes and pipes); the stream it parallelizes stays pure (stream.py).
"""

from __future__ import annotations

import contextlib
import heapq
import pickle
from collections.abc import Collection, Generator, Iterator
from typing import TYPE_CHECKING

import orjson

from .errors import FleetsimError
from .render.base import Message
from .scenario.model import Scenario
from .stream import Encoder, Outgoing, device_messages, merge_by_send_time
from .world.sim import World

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

BATCH = 1024  # items per pipe message: large enough that pickling and the pipe cost little per record
MAX_WORKERS = 64
#: how long a stopped worker may take to exit before it is killed
_STOP_GRACE_S = 5.0

#: what a worker sends per message: (send_t, device number, line tail or None, message or None)
_Item = tuple[float, int, bytes | None, Message | None]


class WorkerError(FleetsimError):
    """A worker process failed: its own message, or that it exited without finishing."""


def record_line(record: Outgoing) -> bytes:
    """One NDJSON line of `generate --scenario` (without the newline)."""
    return orjson.dumps(record.as_record())


def _frame_tail(message: Message, body: bytes, send_at: str) -> bytes:
    """The line of a record from its third field on: what follows `{"seq":N,"event_id":"...",`."""
    line = orjson.dumps({"provider": message.provider, "kind": message.kind, "device": message.device,
                         "send_at": send_at, "headers": {}, "body": body.decode("utf-8")})
    return line[1:]


def _work(scenario: Scenario, part: int, parts: int, providers: Collection[str] | None, out: Connection,
          siblings: list[Connection]) -> None:
    """A worker: every `parts`-th device from `part`, merged, sent to the parent in batches."""
    _detach(siblings)
    try:
        from .stream import iso_ms

        world = World(scenario)
        settings = scenario.delivery.providers
        encoder = Encoder(scenario)
        mine = [d for n, d in enumerate(world.devices) if n % parts == part]
        numbers = {d.key: d.number for d in mine}
        streams = [device_messages(world, d, settings.get(d.provider, {})) for d in mine]
        batch: list[_Item] = []
        for message in merge_by_send_time(streams):
            number = numbers[message.device]
            if providers is not None and message.provider not in providers:
                batch.append((message.send_t, number, None, None))
            elif encoder.channel(message) == "websocket":
                body = encoder.frame_body(message)
                batch.append((message.send_t, number, _frame_tail(message, body, iso_ms(message.send_t)), None))
            else:
                batch.append((message.send_t, number, None, message))
            if len(batch) >= BATCH:
                out.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                batch = []
        if batch:
            out.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
        out.send_bytes(b"")  # the end
    except KeyboardInterrupt:
        pass
    except BaseException as exc:  # reported to the parent, which raises it as one line
        with contextlib.suppress(OSError):
            out.send_bytes(b"!" + f"{type(exc).__name__}: {exc}".encode())
    finally:
        out.close()


def _detach(siblings: list[Connection]) -> None:
    """A forked worker drops what it inherited and must not keep: the read ends of the workers forked before it
    (held open here, a stopped parent's close would never reach them, and they would block in send forever), and
    the parent's signal handling (an asyncio loop's wakeup fd and handlers turn SIGTERM into a byte on a pipe
    instead of an exit). The parent stops a worker with SIGTERM; Ctrl-C reaches the parent, which stops them."""
    import signal

    for conn in siblings:
        conn.close()
    with contextlib.suppress(ValueError):  # not the main thread: nothing was installed
        signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _items(conn: Connection, part: int) -> Iterator[_Item]:
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            raise WorkerError(f"generation worker {part + 1} exited without finishing") from None
        if not data:
            return
        if data[:1] == b"!":
            raise WorkerError(f"generation worker {part + 1} failed: {data[1:].decode(errors='replace')}")
        yield from pickle.loads(data)


def _merged(streams: list[Iterator[_Item]]) -> Iterator[_Item]:
    """The workers' streams in (send time, device number) order: the one-process order."""
    heap: list[tuple[float, int, int, _Item]] = []
    for index, stream in enumerate(streams):
        first = next(stream, None)
        if first is not None:
            heap.append((first[0], first[1], index, first))
    heapq.heapify(heap)
    while heap:
        _, _, index, item = heap[0]
        yield item
        following = next(streams[index], None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following[0], following[1], index, following))


def ndjson_lines(
    scenario: Scenario, workers: int, *, providers: Collection[str] | None = None
) -> Generator[bytes, None, None]:
    """The NDJSON lines (without newlines) of `generate --scenario`, made by `workers` processes."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be 1..{MAX_WORKERS}, got {workers}")
    import multiprocessing  # here: the one-process path (and the command's start-up) never needs it

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    encoder = Encoder(scenario)
    prefix = orjson.dumps(encoder.prefix)[:-1]  # the event id's JSON string, open: its digits follow
    wanted = None if providers is None else frozenset(providers)
    procs = []
    conns: list[Connection] = []
    try:
        for part in range(workers):
            receive, send = context.Pipe(duplex=False)
            proc = context.Process(  # type: ignore[attr-defined]  # (typeshed: BaseContext lacks it)
                target=_work, args=(scenario, part, workers, wanted, send, list(conns)), daemon=True,
                name=f"fleetsim-generate-{part + 1}")
            proc.start()
            send.close()  # the child holds its end: EOF here when it exits
            procs.append(proc)
            conns.append(receive)
        streams = [_items(conn, part) for part, conn in enumerate(conns)]
        for seq, (_, _, tail, message) in enumerate(_merged(streams), 1):
            if tail is not None:
                yield b'{"seq":%d,"event_id":%s%08d",%s' % (seq, prefix, seq, tail)
            elif message is not None:
                yield record_line(encoder.encode(seq, message))
        for proc in procs:
            proc.join()
    finally:
        for conn in conns:
            conn.close()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # stopped early (--limit, Ctrl-C, an error): our own children only
        for proc in procs:
            proc.join(_STOP_GRACE_S)
            if proc.is_alive():  # never wait forever on a child: SIGKILL after the grace
                proc.kill()
                proc.join()


__all__ = ["MAX_WORKERS", "WorkerError", "ndjson_lines", "record_line"]
