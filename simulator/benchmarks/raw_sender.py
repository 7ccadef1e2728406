"""The machine's practical ceiling beside fleetsim: a hand-rolled asyncio/uvloop HTTP/1.1 sender, no client library.

Adapted from the team's shared bench tool `bench-tools/raw_sender.py` (its "floor probe", see the perf anchors):
the same design, typed, fed the benchmark's realistic requests instead of the tool's own payload module.

Complete requests are encoded once (a pool of distinct signed webhooks), N keep-alive connections each keep one
request in flight (closed loop, no pipelining), and only the status line and Content-Length of a response are
parsed. It is not a client anyone should deliver with (no chunked responses, no timeouts, no TLS): it shows how
many requests per second the receiver and the loopback take when the sender costs next to nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

__all__ = ["encode_request", "send_for"]


def encode_request(url: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """One complete HTTP/1.1 POST, bytes as they go on the wire."""
    parts = urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


class _Sender(asyncio.Protocol):
    def __init__(self, requests: Sequence[bytes], offset: int, deadline: float, counts: list[int],
                 done: asyncio.Future[None]) -> None:
        self.requests, self.i, self.deadline, self.counts, self.done = requests, offset, deadline, counts, done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports have write() too
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.deadline:
            self.transport.close()
            return
        self.i = (self.i + 1) % len(self.requests)
        self.transport.write(self.requests[self.i])

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buf
            return
        head = buf[:end]
        at = head.lower().find(b"content-length:")
        length = 0
        if at >= 0:
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15: stop if stop > 0 else None])
        if len(buf) < end + 4 + length:
            self.buffer = buf
            return
        self.buffer = buf[end + 4 + length:]
        self.counts[0 if head.startswith(b"HTTP/1.1 200") else 1] += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def send_for(host: str, port: int, requests: Sequence[bytes], *, concurrency: int, seconds: float,
                   warmup_s: float) -> dict[str, Any]:
    """Send `requests` round-robin on `concurrency` connections for `warmup_s` + `seconds`; the rate is of the
    responses counted after the warm-up."""
    loop = asyncio.get_running_loop()
    counts = [0, 0]  # 200s, anything else
    deadline = time.perf_counter() + warmup_s + seconds
    done: list[asyncio.Future[None]] = []
    for n in range(concurrency):
        future: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            lambda f=future, n=n: _Sender(requests, n * 7, deadline, counts, f), host, port)  # type: ignore[misc]
        done.append(future)
    await asyncio.sleep(warmup_s)
    first, errors_first, started = counts[0], counts[1], time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*done), seconds + 10)
    elapsed = time.perf_counter() - started
    ok = counts[0] - first
    return {"deliveries": ok, "errors": counts[1] - errors_first, "per_s": round(ok / elapsed), "elapsed_s": elapsed}
