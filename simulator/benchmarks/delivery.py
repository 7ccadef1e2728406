"""Delivery throughput, side by side in one run: a bare aiohttp sender posting one fixed body versus
`fleetsim run --rate max` (realistic payloads generated, signed at send time, accounted), both against the
same null receiver. Sender and receiver are pinned to different cores where the OS allows, so the ratio
compares the senders, not the machine's mood. Also the peak RSS of long runs (memory must stay flat).

Run as `python -m simulator.benchmarks.delivery <mode> ...` for one measurement in a fresh process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, cast

SENDER_CPU, RECEIVER_CPU = 0, 1
CONCURRENCY = 32
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _NullProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1 to answer every request with 200 (keep-alive, Content-Length bodies)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they have write()
        self.transport = cast(asyncio.Transport, transport)
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            i = head.find(b"\r\ncontent-length:")
            length = int(head[i + 17: head.find(b"\r\n", i + 2) if head.find(b"\r\n", i + 2) > 0 else None]) \
                if i >= 0 else 0
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length:]
            out.append(_RESPONSE)
        self.buffer = buf
        if out:
            self.transport.write(b"".join(out))


def _pin(cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if os.cpu_count() and os.cpu_count() > cpu:  # type: ignore[operator]
            os.sched_setaffinity(0, {cpu})


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def serve_null(port: int) -> None:
    _pin(RECEIVER_CPU)
    loop = _loop()
    server = loop.run_until_complete(loop.create_server(_NullProtocol, "127.0.0.1", port, backlog=4096))
    try:
        loop.run_forever()
    finally:
        server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def null_receiver() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.benchmarks.delivery", "serve", str(port)])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


WARMUP_S = 1.5
SETUP_TIMEOUT_S = 30.0  # longest wait for `fleetsim run`'s first delivery before measuring anyway


async def _bare(url: str, seconds: float, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """The reference: aiohttp posting one pre-built, pre-signed body as fast as it can."""
    import aiohttp

    body = b'{"eventId":"bf72239c-bebd-4c22-b64c-6fc692ef7c46","eventMs":1587597109477,"eventType":"Ping","event":{}}'
    headers = {"Content-Type": "application/json", "X-Samsara-Timestamp": "1587597109",
               "X-Samsara-Signature": "v1=a6c38af554e6b1c6862bdb261707b6e36d60f05ba122fdd4e41dd061ce49671e"}
    done = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + warmup_s + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(f"{url}/samsara", data=body, headers=headers) as response:
                    await response.read()
                    done += response.status == 200

        workers = asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        await asyncio.sleep(warmup_s)
        first, started = done, time.perf_counter()
        await workers
        elapsed = time.perf_counter() - started
    return {"deliveries": done - first, "per_s": round((done - first) / elapsed)}


async def _transport(url: str, seconds: float, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """fleetsim's own HTTP transport (deadline, capped read, outcome classes) with the same fixed body:
    separates the cost of the transport from the cost of generating traffic."""
    from ..delivery.transport import HttpTransport

    body = b'{"eventId":"bf72239c-bebd-4c22-b64c-6fc692ef7c46","eventMs":1587597109477,"eventType":"Ping","event":{}}'
    headers = {"Content-Type": "application/json"}
    done = 0
    async with HttpTransport(concurrency=CONCURRENCY) as transport:
        deadline = time.perf_counter() + warmup_s + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await transport.post(f"{url}/samsara", body, headers, deadline_s=10.0)
                done += response.outcome == "2xx"

        workers = asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        await asyncio.sleep(warmup_s)
        first, started = done, time.perf_counter()
        await workers
        elapsed = time.perf_counter() - started
    return {"deliveries": done - first, "per_s": round((done - first) / elapsed)}


async def _fleetsim(url: str, seconds: float, limit: int | None, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """`fleetsim run --rate max` in-process: generation, signing at send time, faults off, full accounting.
    With `limit`, runs to completion (memory measurement); otherwise measures `seconds` after a warm-up."""
    from ..delivery.runner import RunConfig, Runner
    from ..resources import scenarios_dir
    from ..scenario.loader import load_scenario
    from ..scenario.model import Rate
    from .generation import long_scenario

    scenario = long_scenario() if limit is not None else load_scenario(scenarios_dir() / "bench-mixed.yaml")
    runner = Runner(RunConfig(scenario=scenario, target=url, settings=scenario.delivery.providers,
                              rate=Rate("max"), concurrency=CONCURRENCY, limit=limit, timeout_s=10.0))
    task = asyncio.create_task(runner.run())
    if limit is not None:
        await task
        totals = runner.summary()["totals"]
        return {"deliveries": totals["delivered"], "failed": totals["failed"],
                "invariant_ok": runner.summary()["invariant"]["ok"]}
    # warm up once the fleet is running (scenario load, road network, first routes: its first delivery is in)
    setup_deadline = time.perf_counter() + SETUP_TIMEOUT_S
    while not runner.ledger.snapshot().delivered and not task.done() and time.perf_counter() < setup_deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(warmup_s)
    first, started = runner.ledger.snapshot().delivered, time.perf_counter()
    await asyncio.sleep(seconds)
    done = runner.ledger.snapshot().delivered - first
    elapsed = time.perf_counter() - started
    runner.stop()
    await task
    return {"deliveries": done, "per_s": round(done / elapsed), "invariant_ok": runner.summary()["invariant"]["ok"]}


def measure(mode: str, url: str, seconds: float, limit: int | None, warmup_s: float = WARMUP_S) -> None:
    _pin(SENDER_CPU)
    loop = _loop()
    coro = {"bare": lambda: _bare(url, seconds, warmup_s), "transport": lambda: _transport(url, seconds, warmup_s),
            "fleetsim": lambda: _fleetsim(url, seconds, limit, warmup_s)}[mode]()
    result = loop.run_until_complete(coro)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def _child(mode: str, url: str, seconds: float, limit: int | None = None, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    args = [sys.executable, "-m", "simulator.benchmarks.delivery", mode, url, str(seconds), str(limit or 0),
            str(warmup_s)]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def throughput(seconds: float = 10.0, rounds: int = 2, warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """Bare sender, fleetsim's transport alone and `fleetsim run`, alternated `rounds` times against one null
    receiver, each measuring `seconds` after `warmup_s`; medians (of the upper half for two rounds) reported."""
    rates: dict[str, list[int]] = {"bare": [], "transport": [], "fleetsim": []}
    with null_receiver() as url:
        for _ in range(rounds):
            for mode, values in rates.items():
                values.append(_child(mode, url, seconds, warmup_s=warmup_s)["per_s"])
    b, t, f = (sorted(v)[len(v) // 2] for v in rates.values())
    return {"seconds_per_round": seconds, "rounds": rounds, "bare_aiohttp_fixed_body_per_s": b,
            "fleetsim_transport_fixed_body_per_s": t, "transport_ratio": round(t / b, 3) if b else None,
            "fleetsim_run_max_per_s": f, "ratio": round(f / b, 3) if b else None, "target_ratio": 0.85,
            "all_rounds": rates}


def memory(small: int = 10_000, large: int = 1_000_000) -> dict[str, Any]:
    with null_receiver() as url:
        a = _child("fleetsim", url, 0, small)
        b = _child("fleetsim", url, 0, large)
    return {"deliveries_small": a["deliveries"], "peak_rss_mb_small": a["peak_rss_mb"],
            "deliveries_large": b["deliveries"], "peak_rss_mb_large": b["peak_rss_mb"],
            "growth_mb": round(b["peak_rss_mb"] - a["peak_rss_mb"], 1), "growth_target_mb": 50,
            "invariant_ok": a["invariant_ok"] and b["invariant_ok"]}


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve_null(int(sys.argv[2]))
    else:
        measure(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]) or None, float(sys.argv[5]))
