"""Both HTTP transports (HttpTransport over aiohttp, H1Transport over asyncio Protocols) against hostile receivers
(conformance-catalogue H-3/H-4): every misbehaviour becomes the same outcome within the deadline, nothing raises,
nothing leaks. Every test runs once per transport (the `make_transport` fixture of conftest.py)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal

import pytest
import uvloop

from simulator.delivery import transport as aiohttp_transport
from simulator.delivery.deadlines import Deadlines
from simulator.delivery.model import OUTCOMES
from simulator.delivery.transport import KEEP_CAP, Response, parse_retry_after
from simulator.errors import HarnessError, UsageError

from . import hostile
from .conftest import AnyTransport, TransportClass

DEADLINE = 1.0
MARGIN = 0.5
#: how early a deadline may fire as perf_counter sees it (uvloop's timers: libuv's whole-millisecond clock)
EARLY = 0.005
BODY = b'{"event":"position","pad":"' + b"p" * 8192 + b'"}'  # bigger than crash_mid_request reads
HEADERS = {"Content-Type": "application/json"}
STATUS_OUTCOMES = {"2xx", "3xx", "4xx", "5xx", "429"}

CASES: dict[str, tuple[Callable[[], hostile.HostileServer], str]] = {
    "ok": (hostile.ok, "2xx"),
    "error_500": (hostile.error_500, "5xx"),
    "gone": (hostile.gone, "4xx"),
    "redirect": (hostile.redirect, "3xx"),
    "throttle": (hostile.throttle, "429"),
    "hang": (hostile.hang, "timeout_total"),
    "trickle": (hostile.trickle, "timeout_total"),
    "huge_body": (hostile.huge_body, "2xx"),
    "malformed": (hostile.malformed, "protocol_error"),
    "reset_after_accept": (lambda: hostile.reset("accept"), "reset"),
    "reset_after_request": (lambda: hostile.reset("request"), "reset"),
    "crash_mid_request": (hostile.crash_mid_request, "reset"),
    "keepalive_closer": (hostile.keepalive_closer, "2xx"),
}


async def _timed_post(transport: AnyTransport, url: str, body: bytes = BODY,
                      deadline_s: float = DEADLINE) -> tuple[Response, float]:
    started = time.perf_counter()
    response = await transport.post(url, body, HEADERS, deadline_s=deadline_s)
    return response, time.perf_counter() - started


async def _check_case(make_transport: TransportClass, name: str) -> None:
    factory, expected = CASES[name]
    async with factory() as url, make_transport(4) as transport:
        response, elapsed = await _timed_post(transport, url)
    assert response.outcome == expected, response
    assert response.outcome in OUTCOMES
    assert elapsed < DEADLINE + MARGIN, (name, elapsed)
    assert 0 < response.latency_s <= elapsed
    assert len(response.body) <= KEEP_CAP
    if expected in STATUS_OUTCOMES:
        assert response.error is None and response.status is not None
    else:
        assert response.error and "\n" not in response.error
    assert not response.stale_retried
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}  # servers and transport stopped without leftovers


@pytest.mark.parametrize("name", list(CASES))
async def test_every_hostile_server_gives_an_outcome_within_the_deadline(make_transport: TransportClass,
        name: str) -> None:
    await _check_case(make_transport, name)


@pytest.mark.parametrize("name", ["hang", "trickle", "huge_body", "malformed", "reset_after_accept",
                                  "crash_mid_request", "keepalive_closer"])
def test_the_same_under_uvloop(make_transport: TransportClass, name: str) -> None:
    uvloop.run(_check_case(make_transport, name))


async def test_status_line_garbage_is_a_protocol_error_with_one_line_error(make_transport: TransportClass) -> None:
    async with hostile.malformed() as url, make_transport(2) as transport:
        response, _ = await _timed_post(transport, url)
    assert (response.outcome, response.status) == ("protocol_error", None)
    # each names its parser's complaint: aiohttp's ClientResponseError, llhttp's HttpParserError
    prefix = "ClientResponseError" if make_transport is aiohttp_transport.HttpTransport else "HttpParserError"
    assert response.error is not None and response.error.startswith(prefix)


async def test_trickling_body_is_cut_at_the_deadline(make_transport: TransportClass) -> None:
    async with hostile.trickle(0.5) as url, make_transport(2) as transport:
        response, elapsed = await _timed_post(transport, url)
    assert response.outcome == "timeout_total"
    assert response.status == 200  # headers arrived; the body never finished
    assert response.headers["content-length"] == "1000000"
    assert 1 <= len(response.body) <= 3
    assert DEADLINE - 0.05 <= elapsed < DEADLINE + MARGIN


async def test_hang_after_connect_is_timeout_total_and_stalled_tls_handshake_is_timeout_connect(
        make_transport: TransportClass) -> None:
    async with hostile.hang() as url, make_transport(2) as transport:
        after_connect, _ = await _timed_post(transport, url, deadline_s=0.3)
        # a TLS ClientHello that is never answered: the connection is never established
        handshake, elapsed = await _timed_post(transport, url.replace("http://", "https://"), deadline_s=0.3)
    assert after_connect.outcome == "timeout_total"
    assert handshake.outcome == "timeout_connect"
    assert elapsed < 0.3 + MARGIN


async def test_huge_body_is_capped_without_memory_growth(make_transport: TransportClass) -> None:
    server = hostile.huge_body(50 * 1024 * 1024)
    async with server as url, make_transport(2) as transport:
        tracemalloc.start()
        try:
            peaks = []
            for _ in range(3):
                tracemalloc.reset_peak()
                response, elapsed = await _timed_post(transport, url)
                peaks.append(tracemalloc.get_traced_memory()[1])
                assert response.outcome == "2xx" and response.status == 200
                assert len(response.body) == KEEP_CAP and response.body == b"x" * KEEP_CAP
                assert elapsed < DEADLINE
        finally:
            tracemalloc.stop()
    assert max(peaks) < 2 * 1024 * 1024, peaks  # a 50 MB body never lands in memory
    assert server.connections == 3  # each cut body drops its connection instead of draining it


async def test_redirect_is_not_followed(make_transport: TransportClass) -> None:
    server = hostile.redirect("http://127.0.0.1:9/elsewhere")
    async with server as url, make_transport(2) as transport:
        response, _ = await _timed_post(transport, url)
    assert (response.outcome, response.status) == ("3xx", 302)
    assert response.headers["location"] == "http://127.0.0.1:9/elsewhere"
    assert server.requests == 1


async def test_gone_and_server_error_keep_status_and_body(make_transport: TransportClass) -> None:
    async with hostile.gone() as gone_url, hostile.error_500() as err_url, make_transport(2) as transport:
        gone, _ = await _timed_post(transport, gone_url)
        err, _ = await _timed_post(transport, err_url)
    assert (gone.outcome, gone.status, gone.body) == ("4xx", 410, b"endpoint removed")
    assert (err.outcome, err.status, err.body) == ("5xx", 500, b"boom")


async def test_throttle_gives_retry_after_then_succeeds(make_transport: TransportClass) -> None:
    async with hostile.throttle(n=2, retry_after="2") as url, make_transport(2) as transport:
        first, _ = await _timed_post(transport, url)
        second, _ = await _timed_post(transport, url)
        third, _ = await _timed_post(transport, url)
    assert [r.outcome for r in (first, second, third)] == ["429", "429", "2xx"]
    assert first.retry_after_s == 2.0 and second.retry_after_s == 2.0
    assert first.headers["retry-after"] == "2"
    assert third.retry_after_s is None


async def test_retry_after_http_date_uses_the_given_wall_clock(make_transport: TransportClass) -> None:
    now = 1_700_000_000.0
    date = formatdate(now + 30, usegmt=True)
    async with hostile.throttle(n=1, retry_after=date) as url, make_transport(2, now=lambda: now) as transport:
        response, _ = await _timed_post(transport, url)
    assert response.outcome == "429"
    assert response.retry_after_s == 30.0


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 5 ", now) == 5.0
    assert parse_retry_after("1.5", now) == 1.5
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == 90.0
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now) == 0.0  # in the past: retry now
    for junk in ("", "soon", "-3", "1e9", "9" * 5000, "Mon, 99 Foo 2024 99:99:99 GMT"):
        assert parse_retry_after(junk, now) is None, junk


async def test_connection_refused(make_transport: TransportClass) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with make_transport(2) as transport:
        response, elapsed = await _timed_post(transport, f"http://127.0.0.1:{port}/hook")
    assert response.outcome == "conn_refused"
    assert response.error is not None and "Cannot connect" in response.error
    assert elapsed < DEADLINE


async def test_resets_and_crashes_are_reset(make_transport: TransportClass) -> None:
    for server in (hostile.reset("accept"), hostile.reset("request"), hostile.crash_mid_request(1024)):
        async with server as url, make_transport(2) as transport:
            big, _ = await _timed_post(transport, url, body=b"b" * 256 * 1024)
            small, _ = await _timed_post(transport, url, body=b"{}")
        assert (big.outcome, small.outcome) == ("reset", "reset"), (server, big, small)
        assert transport.stale_retries == 0  # fresh connections are never retried


# --- TLS ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 (the `cryptography` package is not in the venv)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=fleetsim test receiver",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def _server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


async def test_tls_verification_on_by_default_and_test_ca_accepted(make_transport: TransportClass,
        tls_files: tuple[Path, Path]) -> None:
    server = hostile.ok(ssl=_server_context(tls_files))
    async with server as url:
        assert url.startswith("https://")
        async with make_transport(2) as strict:
            rejected, _ = await _timed_post(strict, url)
        async with make_transport(2, ssl_context=ssl.create_default_context(cafile=str(tls_files[0]))) as trusting:
            accepted, _ = await _timed_post(trusting, url)
        async with make_transport(2, verify=False) as insecure:
            unverified, _ = await _timed_post(insecure, url)
    assert rejected.outcome == "tls_error"
    assert rejected.error is not None and "certificate" in rejected.error.lower()
    assert (accepted.outcome, accepted.body) == ("2xx", b'{"ok":true}')
    assert unverified.outcome == "2xx"


async def test_plain_http_answer_to_a_tls_handshake_is_a_tls_error(make_transport: TransportClass) -> None:
    async def answer_in_plain_http(server: hostile.HostileServer, reader: asyncio.StreamReader,
                                   writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello
        writer.write(hostile.response(400, "Bad Request", b"plain HTTP here", close=True))
        await writer.drain()

    async with hostile.HostileServer("plain", answer_in_plain_http) as url, make_transport(2) as transport:
        response, elapsed = await _timed_post(transport, url.replace("http://", "https://"))
    assert response.outcome == "tls_error", response
    assert elapsed < DEADLINE


# --- stale keep-alive -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("close_with", ["fin", "rst"])
async def test_stale_keepalive_connection_is_retried_once_transparently(make_transport: TransportClass,
        close_with: Literal["fin", "rst"]) -> None:
    server = hostile.keepalive_closer(0.2, close_with=close_with)
    async with server as url, make_transport(4) as transport:
        first, _ = await _timed_post(transport, url)
        await asyncio.sleep(0.5)
        second, _ = await _timed_post(transport, url)
    assert (first.outcome, second.outcome) == ("2xx", "2xx")
    assert (first.stale_retried, second.stale_retried) == (False, True)
    assert transport.stale_retries == 1
    assert server.stale_closes == 1 and server.connections == 2 and server.requests == 2


async def test_idle_connection_closed_in_time_needs_no_retry(make_transport: TransportClass) -> None:
    server = hostile.keepalive_closer(0.2, race=False)
    async with server as url, make_transport(4) as transport:
        first, _ = await _timed_post(transport, url)
        await asyncio.sleep(0.5)
        second, _ = await _timed_post(transport, url)
    assert (first.outcome, second.outcome) == ("2xx", "2xx")
    assert transport.stale_retries == 0 and server.connections == 2


# --- concurrency, cancellation, caller errors ---------------------------------------------------------------------


async def test_200_posts_at_concurrency_16(make_transport: TransportClass) -> None:
    server = hostile.ok()
    async with server as url, make_transport(16) as transport:
        responses = await asyncio.gather(*(transport.post(url, BODY, HEADERS, deadline_s=5.0) for _ in range(200)))
    assert [r.outcome for r in responses] == ["2xx"] * 200
    assert server.requests == 200
    assert server.connections <= 16


async def test_outside_cancellation_is_not_swallowed(make_transport: TransportClass) -> None:
    async with hostile.hang() as url, make_transport(2) as transport:
        task = asyncio.create_task(transport.post(url, BODY, HEADERS, deadline_s=5.0))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_deadlines_of_concurrent_requests_share_a_timer_and_never_fire_early(make_transport: TransportClass,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with hostile.hang() as url, make_transport(8) as transport:
        loop = asyncio.get_running_loop()
        timers = 0
        call_at = loop.call_at

        def counting_call_at(*args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            nonlocal timers
            timers += 1
            return call_at(*args, **kwargs)

        monkeypatch.setattr(loop, "call_at", counting_call_at)
        started = time.perf_counter()
        timed = await asyncio.gather(*(_timed_post(transport, url, deadline_s=0.3) for _ in range(8)))
        monkeypatch.undo()
    assert [r.outcome for r, _ in timed] == ["timeout_total"] * 8
    assert all(0.3 - EARLY <= elapsed < 0.3 + MARGIN for _, elapsed in timed), timed
    assert time.perf_counter() - started < 0.3 + MARGIN
    # 8 requests started together: their deadlines fall in one or two slots, not 8 timers
    assert timers <= 2 + 4  # (+ whatever aiohttp itself schedules on connect)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # every deadline's cancellation was taken back


async def test_a_deadline_that_passes_after_the_answer_cancels_nothing(make_transport: TransportClass) -> None:
    async with hostile.ok() as url, make_transport(2) as transport:
        response = await transport.post(url, BODY, HEADERS, deadline_s=0.05)
        await asyncio.sleep(0.15)  # the slot's timer fires now, with nobody left in it
    assert response.outcome == "2xx"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_outside_cancellation_at_the_deadline_is_not_swallowed(make_transport: TransportClass,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Ctrl-C that lands in the same loop turn as the deadline: the cancellation is the caller's, not a
    timeout (as asyncio.timeout decides it)."""
    expire = Deadlines._expire
    tasks: list[asyncio.Task[Response]] = []

    def expire_and_cancel(self: Any, key: int) -> None:
        expire(self, key)
        tasks[0].cancel()  # the caller's cancellation, after the deadline's and before the task resumes

    monkeypatch.setattr(Deadlines, "_expire", expire_and_cancel)
    async with hostile.hang() as url, make_transport(2) as transport:
        tasks.append(asyncio.create_task(transport.post(url, BODY, HEADERS, deadline_s=0.2)))
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]


async def test_caller_mistakes_raise_fleetsim_errors(make_transport: TransportClass) -> None:
    with pytest.raises(UsageError):
        make_transport(0)
    with pytest.raises(UsageError):
        make_transport(2, verify=False, ssl_context=ssl.create_default_context())
    transport = make_transport(2)
    with pytest.raises(HarnessError):
        await transport.post("http://127.0.0.1:9/", b"", {}, deadline_s=1.0)
    async with transport:
        with pytest.raises(UsageError):
            await transport.post("http://127.0.0.1:9/", b"", {}, deadline_s=0)
        with pytest.raises(UsageError):
            await transport.post("ftp://127.0.0.1/hook", b"", {}, deadline_s=1.0)


@pytest.mark.parametrize("url", [
    "ftp://hook-user:Sup3rSecretPass@127.0.0.1/hook?token=QueryToken123",  # not http(s)
    "http://hook-user:Sup3rSecretPass@/hook?token=QueryToken123",  # no host
])
async def test_a_refused_url_is_named_without_its_credentials_or_query(make_transport: TransportClass,
                                                                       url: str) -> None:
    async with make_transport(2) as transport:
        with pytest.raises(UsageError) as refused:
            await transport.post(url, b"", {}, deadline_s=1.0)
    message = str(refused.value)
    assert message.startswith("cannot deliver to ")
    assert "Sup3rSecretPass" not in message and "QueryToken123" not in message and "hook-user" not in message
