"""Slow clients against the reference receiver (catalogue LIM-06), over real sockets with short timeouts.

Slow connections are raw asyncio streams that send a partial request and then trickle or stall; legitimate
deliveries are signed requests from an aiohttp client. Every socket a test opens is closed when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest

from simulator.cli import _Parser
from simulator.cli.receiver_cmd import add_parser
from simulator.errors import UsageError
from simulator.servers.serving import start_receiver, stop_receiver
from simulator.servers.store import Store
from simulator.servers.timeouts import ConnectionGuard, GuardedSite

from .test_receiver import SETTINGS, signed

#: how late a deadline may be acted on: timers on a busy 2-core machine running the suite with -n 2
SLACK_S = 0.5
#: the server's clock for a deadline starts a moment before the test's own (at accept, or before the reply is read)
EARLY_S = 0.05
SLOW_HEAD = b"POST /samsara HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "


@dataclass
class Served:
    url: str
    guard: ConnectionGuard
    store: Store
    streams: list[asyncio.StreamWriter] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        self.streams.append(writer)
        return reader, writer

    async def state(self) -> Any:
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/state") as resp:
            return await resp.json()


@contextlib.asynccontextmanager
async def serving(**kwargs: Any) -> AsyncIterator[Served]:
    store = Store()
    runner, url = await start_receiver(SETTINGS, store, **kwargs)
    (site,) = runner.sites
    assert isinstance(site, GuardedSite)
    served = Served(url, site.guard, store)
    try:
        yield served
    finally:
        for writer in served.streams:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await stop_receiver(runner)
        await store.close()


async def until_closed(reader: asyncio.StreamReader, since: float, limit_s: float = 5.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed (seconds after `since`)."""
    try:
        data = await asyncio.wait_for(reader.read(), limit_s)
    except ConnectionResetError:
        data = b""
    return data, time.monotonic() - since


@contextlib.asynccontextmanager
async def trickling(writers: list[asyncio.StreamWriter], every_s: float,
                    for_s: float | None = None) -> AsyncIterator[None]:
    """One byte at a time on every connection, every `every_s`, while the context lasts (at most `for_s`).

    Stop before the server's deadline when the test reads its 408s: a byte written after the server closed is
    answered with a reset, and a reset throws away the 408 still unread in the client's buffer."""
    until = None if for_s is None else time.monotonic() + for_s

    async def drip() -> None:
        while True:
            await asyncio.sleep(every_s)
            if until is not None and time.monotonic() >= until:
                return
            for writer in writers:
                if not writer.is_closing():
                    writer.write(b"a")

    task = asyncio.create_task(drip())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def deliver(session: aiohttp.ClientSession, url: str, index: int) -> tuple[int, Any]:
    """A legitimate delivery: a signed Samsara alert, a fresh event each index."""
    body, headers = signed("samsara", "alert_v1", index=index, mid=f"slowloris-{index}")
    async with session.post(f"{url}/samsara", data=body, headers=headers) as resp:
        return resp.status, await resp.json()


# --- the header timeout -----------------------------------------------------------------------------------------


async def test_a_trickled_head_gets_408_and_is_closed_at_the_header_timeout() -> None:
    async with serving(header_timeout_s=0.5) as rx:
        reader, writer = await rx.connect()
        start = time.monotonic()
        writer.write(SLOW_HEAD)
        async with trickling([writer], 0.05, for_s=0.3):  # stops before the 0.5 s timeout (see trickling)
            reply, closed = await until_closed(reader, start)
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"\r\nConnection: close" in head
        assert orjson.loads(body)["error"] == "header_timeout"
        assert 0.5 - EARLY_S <= closed < 0.5 + SLACK_S
        assert (rx.guard.header_timeouts, rx.guard.idle_closed) == (1, 0)


async def test_a_connection_that_sends_nothing_is_closed_quietly() -> None:
    async with serving(header_timeout_s=0.5) as rx:
        reader, _ = await rx.connect()
        reply, closed = await until_closed(reader, time.monotonic())
        assert reply == b""  # no unsolicited 408: the client asked nothing
        assert 0.5 - EARLY_S <= closed < 0.5 + SLACK_S
        assert (rx.guard.header_timeouts, rx.guard.idle_closed) == (0, 1)


async def test_a_head_sent_in_pieces_within_the_timeout_is_served() -> None:
    async with serving(header_timeout_s=0.5) as rx:
        reader, writer = await rx.connect()
        for piece in (b"GET /heal", b"thz HTTP/1.1\r\nHo", b"st: x\r\nConnection: close\r\n", b"\r\n"):
            writer.write(piece)
            await asyncio.sleep(0.08)
        reply, _ = await until_closed(reader, time.monotonic())
        assert reply.startswith(b"HTTP/1.1 200 ")
        assert rx.guard.header_timeouts == 0


async def test_on_a_kept_alive_connection_the_next_head_is_due_a_timeout_after_the_response() -> None:
    async with serving(header_timeout_s=1.0) as rx:
        reader, writer = await rx.connect()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        await reader.readexactly(length)
        answered = time.monotonic()
        await asyncio.sleep(0.6)
        writer.write(b"GET /state HTTP/1.1\r\n")  # and nothing more
        reply, closed = await until_closed(reader, answered)
        assert reply.startswith(b"HTTP/1.1 408 ")
        # counted from the response (1.0 s), not from the first byte of the late head (1.6 s)
        assert 1.0 - EARLY_S <= closed < 1.0 + SLACK_S


# --- legitimate traffic while slow connections are held ----------------------------------------------------------


async def test_two_hundred_slow_connections_do_not_delay_a_signed_delivery() -> None:
    # the timed delivery below builds its payload; the first payload of a process also imports Faker and draws
    # the run's name pool, which is the test's own start-up, not the receiver's time
    signed("samsara", "alert_v1", index=0)
    async with serving(header_timeout_s=1.5) as rx, aiohttp.ClientSession() as session:
        slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        for _ in range(4):  # in batches: 200 connects at once would overflow the listen backlog (128)
            slow += await asyncio.gather(*(rx.connect() for _ in range(50)))
        start = time.monotonic()
        for _, writer in slow:
            writer.write(SLOW_HEAD)
        async with trickling([w for _, w in slow], 0.1, for_s=1.0):  # the header timeout is 1.5 s
            await asyncio.sleep(0.2)
            sent = time.monotonic()
            status, reply = await deliver(session, rx.url, 0)
            took = time.monotonic() - sent
            assert (status, reply["status"]) == (200, "accepted")
            # answered while all 200 slow ones were still held open: it did not wait for them to be cut off (a
            # bound relative to the header timeout, not a speed target: this machine is shared and noisy)
            assert took < 1.5, f"the delivery took {took:.3f} s"
            assert len(rx.guard.open) >= 200
            results = await asyncio.gather(*(until_closed(reader, start) for reader, _ in slow))
        assert all(reply.startswith(b"HTTP/1.1 408 ") for reply, _ in results)
        assert max(closed for _, closed in results) < 1.5 + SLACK_S
        assert rx.guard.header_timeouts == 200


async def test_a_kept_alive_client_with_short_gaps_is_not_cut_off() -> None:
    connects = 0

    async def connected(*_: Any) -> None:
        nonlocal connects
        connects += 1

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(connected)
    async with serving(header_timeout_s=0.5) as rx, aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), trace_configs=[tracing]) as session:
        for index in range(4):  # 1 s on one connection, twice the timeout, each gap well inside it
            assert (await deliver(session, rx.url, index))[0] == 200
            await asyncio.sleep(0.25)
        assert connects == 1
        assert (rx.guard.header_timeouts, rx.guard.idle_closed) == (0, 0)
        await asyncio.sleep(0.5 + SLACK_S)  # idle past the timeout: closed quietly, the client reconnects
        assert rx.guard.idle_closed == 1
        assert (await deliver(session, rx.url, 4))[0] == 200
        assert connects == 2
        assert rx.guard.header_timeouts == 0


# --- the body timeout (slow POST) ---------------------------------------------------------------------------


async def test_a_trickled_body_gets_408_and_is_closed_at_the_body_timeout() -> None:
    async with serving(header_timeout_s=5.0, body_timeout_s=0.5) as rx:
        reader, writer = await rx.connect()
        writer.write(b"POST /samsara HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
        start = time.monotonic()
        async with trickling([writer], 0.05):
            reply, closed = await until_closed(reader, start)
        # the 408 is sent, then the connection closed while the client is still trickling: the kernel may answer
        # the client's next bytes with a reset that discards the unread 408 (no lingering close yet), so an
        # empty reply is a reset, and the server's own count below says what it answered
        assert (reply.startswith(b"HTTP/1.1 408 ") and b"body_timeout" in reply) or reply == b""
        # closed with the answer: not after aiohttp's 10 s of lingering over the rest of the trickle
        assert 0.5 - EARLY_S <= closed < 0.5 + SLACK_S
        assert (await rx.state())["counts"]["samsara"]["rejected"] == {"body_timeout": 1}


# --- the connection cap -------------------------------------------------------------------------------------


async def test_connections_beyond_the_cap_are_closed_on_arrival() -> None:
    async with serving(header_timeout_s=5.0, max_connections=3) as rx, aiohttp.ClientSession() as session:
        held = [await rx.connect() for _ in range(3)]
        for _ in range(100):
            if len(rx.guard.open) == 3:
                break
            await asyncio.sleep(0.01)
        reader, _ = await rx.connect()
        reply, closed = await until_closed(reader, time.monotonic())
        assert (reply, rx.guard.refused) == (b"", 1)
        assert closed < SLACK_S
        held[0][1].close()
        for _ in range(100):  # the receiver notices the close and frees the slot
            if len(rx.guard.open) < 3:
                break
            await asyncio.sleep(0.01)
        assert (await deliver(session, rx.url, 0))[0] == 200


def test_guard_refuses_nonsense() -> None:
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="header_timeout_s"):
            ConnectionGuard(bad)
    with pytest.raises(ValueError, match="max_connections"):
        ConnectionGuard(1.0, 0)


# --- the command line -----------------------------------------------------------------------------------------


def _parser() -> _Parser:
    parser = _Parser(prog="fleetsim")
    add_parser(parser.add_subparsers(parser_class=_Parser))
    return parser


def test_cli_options_and_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["receiver"])
    assert (args.header_timeout, args.body_timeout, args.max_connections) == (10.0, 10.0, 1000)
    args = _parser().parse_args(["receiver", "--header-timeout", "2.5", "--body-timeout", "3",
                                 "--max-connections", "50"])
    assert (args.header_timeout, args.body_timeout, args.max_connections) == (2.5, 3.0, 50)
    for bad in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(UsageError, match="--header-timeout"):
            _parser().parse_args(["receiver", "--header-timeout", bad])
    with pytest.raises(SystemExit):
        _parser().parse_args(["receiver", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--header-timeout SECONDS" in text and "408" in text and "default 10)" in text
    assert "--body-timeout SECONDS" in text and "--max-connections N" in text


def test_the_receiver_command_shows_its_timeouts_and_enforces_them() -> None:
    """The real command in its own process (with uvloop where installed): startup line, then a slow head."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "receiver", "--port", "0", "--header-timeout", "0.5",
         "--body-timeout", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "timeouts: header 0.5 s, body 4 s; at most 1000 connections" in line, line
        url = line.split(" on ", 1)[1].split()[0]

        async def slow_head() -> bytes:
            host, port = url.removeprefix("http://").rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(SLOW_HEAD)
                reply, closed = await until_closed(reader, time.monotonic())
                assert closed < 0.5 + SLACK_S
                return reply
            finally:
                writer.close()

        assert asyncio.run(slow_head()).startswith(b"HTTP/1.1 408 ")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "408 header_timeout" in err
