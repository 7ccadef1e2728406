"""`make bench`, socket part: fan-out of `fleetsim serve`'s /api/socket to 1,000 clients.

One server (this process: the real app of `fleetsim serve`, uvloop where available, its player stopped so that
only the benchmark publishes) and 1,000 aiohttp WebSocket clients in CLIENT_PROCESSES processes of their own on
the same machine. The server publishes a real position frame of the scenario (its id rewritten per frame) through
the hub; a hub observer records each frame's publish time (time.time()), and each client its receive time, matched
by the position id. Two kinds of round, interleaved:

- **max**: publish in bursts of BURST frames, each as soon as the last one left every client's queue (written
  to the sockets): the most frames per second the machine delivers to all clients. The server then runs ahead of
  the clients by what the kernel's socket buffers hold, so latencies of these rounds are mostly that backlog, not
  the server's;
- **paced**: publish evenly spaced, at PACED_SHARE of the per-client rate the max rounds delivered (their median
  so far): the latency figure, with the machine busy but not saturated.

Frames per second delivered = receipts across all clients / (last receive - first publish); latency = receive -
publish per receipt, p50/p99 over every receipt. Medians of the rounds go to bench/results.json under "socket".
With two cores or more the server is pinned to core 0 and the clients to core 1 (loopback, shared machine).

    python -m simulator.benchmarks.socket_fanout             # the benchmark
    python -m simulator.benchmarks.socket_fanout --client URL COOKIE N CPU   # a client process (internal)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from ..cli.receiver_cmd import _loop_factory
from ..resources import scenarios_dir
from ..scenario.loader import load_scenario
from ..scenario.model import Rate
from ..servers.traccar import start_traccar_server, stop_traccar_server
from ..servers.traccar.accounts import DEMO_EMAIL, DEMO_PASSWORD
from ..servers.traccar.feed import socket_frames

CLIENTS = 1000
CLIENT_PROCESSES = 2
ROUNDS = 3
MAX_FRAMES = 1024  # per max round
PACED_SECONDS = 4.0
PACED_SHARE = 0.5
BURST = 16
SERVER_CPU, CLIENT_CPU = 0, 1
SCENARIO = "powunity-ebike-theft.yaml"


def _pin(cpu: int) -> bool:
    with contextlib.suppress(AttributeError, OSError):
        if len(os.sched_getaffinity(0)) >= 2:
            os.sched_setaffinity(0, {cpu})
            return True
    return False


# -- the client processes ------------------------------------------------------------------------------------


def _frame_id(text: str) -> int:
    """The position id of a benchmark frame, without parsing the whole frame (the clients share a core)."""
    at = text.find('"id":')
    if at < 0:
        return -1
    end = at + 5
    while end < len(text) and text[end].isdigit():
        end += 1
    return int(text[at + 5:end]) if end > at + 5 else -1


async def _client_main(url: str, cookie: str, count: int) -> None:
    ids, times = array("q"), array("d")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers={"Cookie": f"JSESSIONID={cookie}"}) as http:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        for start in range(0, count, 100):
            sockets += await asyncio.gather(*(http.ws_connect(url + "/api/socket")
                                              for _ in range(min(100, count - start))))

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            now = time.time
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    number = _frame_id(message.data)
                    if number >= 0:
                        ids.append(number)
                        times.append(now())

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                break
            # "dump PATH EXPECTED": once EXPECTED receipts are in (or 60 s passed), what was received since the
            # last dump, as two arrays
            _, path, expected = line.split(" ")
            waited = time.monotonic()
            while len(ids) < int(expected) and time.monotonic() - waited < 60:
                await asyncio.sleep(0.05)
            with open(path, "wb") as out:
                out.write(_cpu_us().to_bytes(8, "little"))
                out.write(len(ids).to_bytes(8, "little"))
                ids.tofile(out)
                times.tofile(out)
            del ids[:], times[:]
            print("dumped", flush=True)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def _cpu_us() -> int:
    """This process's CPU time so far (user + system), in µs: what a round cost, whatever else the shared
    machine was running meanwhile."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round((usage.ru_utime + usage.ru_stime) * 1e6)


def _read_dump(path: Path) -> tuple[int, array[int], array[float]]:
    with path.open("rb") as f:
        cpu_us = int.from_bytes(f.read(8), "little")
        n = int.from_bytes(f.read(8), "little")
        ids, times = array("q"), array("d")
        ids.fromfile(f, n)
        times.fromfile(f, n)
    return cpu_us, ids, times


# -- the server and the rounds -------------------------------------------------------------------------------


class _Clients:
    def __init__(self, url: str, cookie: str, pinned: bool) -> None:
        per = CLIENTS // CLIENT_PROCESSES
        self.procs = [subprocess.Popen([sys.executable, "-m", "simulator.benchmarks.socket_fanout", "--client", url,
                                        cookie, str(per), str(CLIENT_CPU if pinned else -1)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                      for _ in range(CLIENT_PROCESSES)]

    async def ready(self) -> None:
        for proc in self.procs:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            if line.strip() != "ready":
                raise RuntimeError(f"a client process did not start: {line!r}")

    async def dump(self, folder: Path, round_no: int, frames: int) -> tuple[list[int], list[float], int]:
        """Every receipt since the last dump, once each client has `frames` (or a minute passed), and the
        clients' CPU time so far (µs)."""
        ids: list[int] = []
        times: list[float] = []
        cpu_us = 0
        for n, proc in enumerate(self.procs):
            assert proc.stdin is not None and proc.stdout is not None
            path = folder / f"r{round_no}-c{n}.bin"
            proc.stdin.write(f"dump {path} {frames * (CLIENTS // CLIENT_PROCESSES)}\n")
            proc.stdin.flush()
            await asyncio.to_thread(proc.stdout.readline)
            used, got_ids, got_times = _read_dump(path)
            ids.extend(got_ids)
            times.extend(got_times)
            cpu_us += used
        return ids, times, cpu_us

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(BrokenPipeError, OSError):
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _summary(ids: list[int], times: list[float], published: dict[int, float], dropped: int) -> dict[str, Any]:
    latencies = sorted((t - published[i]) * 1000 for i, t in zip(ids, times, strict=True) if i in published)
    first = min(published.values())
    span = max(times) - first if times else 0.0
    expected = len(published) * CLIENTS
    return {"frames": len(published), "receipts": len(latencies), "expected_receipts": expected,
            "dropped": dropped,
            "frames_per_s": round(len(latencies) / span) if span > 0 else 0,
            "p50_ms": round(latencies[len(latencies) // 2], 2) if latencies else None,
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2) if latencies else None}


async def _measure(folder: Path) -> dict[str, Any]:
    scenario = load_scenario(scenarios_dir() / SCENARIO)
    server = await start_traccar_server(scenario, rate=Rate("max"))
    server.task.cancel()  # the benchmark publishes; the scenario's player does not
    with contextlib.suppress(asyncio.CancelledError):
        await server.task
    state = server.state
    template = next(orjson.loads(item.body) for item in socket_frames(scenario, state.provider)
                    if b'"positions"' in item.body)
    hub = state.hub
    published: dict[int, float] = {}
    next_id = [1_000_000]

    def observe(data: bytes) -> None:
        published[_frame_id(data[:64].decode())] = time.time()

    hub.observers.append(observe)

    def publish() -> None:
        template["positions"][0]["id"] = next_id[0]
        next_id[0] += 1
        hub.publish(state.serialize(template).decode("utf-8"))

    async def drained() -> None:
        while any(c.queue for c in hub.clients):
            await asyncio.sleep(0.0005)

    async def max_round() -> None:
        for _ in range(MAX_FRAMES // BURST):
            for _ in range(BURST):
                publish()
            await drained()

    async def paced_round(rate: float) -> None:
        started, n = time.monotonic(), 0
        while n < rate * PACED_SECONDS:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            publish()
            n += 1
        await drained()

    async with aiohttp.ClientSession() as http, \
            http.post(f"{server.url}/api/session", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}) as r:
        cookie = r.cookies["JSESSIONID"].value
    clients = _Clients(server.url.replace("http://", "ws://"), cookie, PINNED)
    results: dict[str, list[dict[str, Any]]] = {"max": [], "paced": []}
    try:
        await asyncio.wait_for(clients.ready(), 120)
        if hub.stats().clients != CLIENTS:
            raise RuntimeError(f"{hub.stats().clients} clients connected, not {CLIENTS}")
        max_rate = 0.0
        *_, client_cpu = await clients.dump(folder, -1, 0)  # the connects' receipts and CPU: not a round's
        for round_no in range(ROUNDS):
            for kind in ("max", "paced"):
                published.clear()
                dropped = hub.dropped
                server_cpu = _cpu_us()
                if kind == "max":
                    await max_round()
                else:
                    await paced_round(max_rate * PACED_SHARE)
                ids, times, cpu_now = await clients.dump(folder, round_no, len(published))
                server_cpu = _cpu_us() - server_cpu
                summary = _summary(ids, times, dict(published), hub.dropped - dropped)
                if ids:  # CPU per receipt: the figures that hold on a shared machine
                    summary["server_cpu_us_per_receipt"] = round(server_cpu / len(ids), 2)
                    summary["clients_cpu_us_per_receipt"] = round((cpu_now - client_cpu) / len(ids), 2)
                client_cpu = cpu_now
                if kind == "max":
                    summary["published_frames_per_s"] = round(len(published) / (max(published.values())
                                                                                 - min(published.values())), 1)
                    # what the clients took in, per client: the publishing rate the paced rounds take a share of
                    max_rate = statistics.median([r["frames_per_s"] for r in [*results["max"], summary]]) / CLIENTS
                else:
                    summary["published_frames_per_s"] = round(max_rate * PACED_SHARE, 1)
                results[kind].append(summary)
                print(f"  round {round_no + 1} {kind}: {json.dumps(summary)}", flush=True)
    finally:
        clients.stop()
        await stop_traccar_server(server)
    return {kind: {"median_frames_per_s": statistics.median(r["frames_per_s"] for r in rounds),
                   "median_p50_ms": statistics.median(r["p50_ms"] or 0 for r in rounds),
                   "median_p99_ms": statistics.median(r["p99_ms"] or 0 for r in rounds),
                   "median_published_frames_per_s": statistics.median(r["published_frames_per_s"] for r in rounds),
                   "dropped": sum(r["dropped"] for r in rounds),
                   "median_server_cpu_us_per_receipt": statistics.median(r.get("server_cpu_us_per_receipt", 0)
                                                                         for r in rounds),
                   "median_clients_cpu_us_per_receipt": statistics.median(r.get("clients_cpu_us_per_receipt", 0)
                                                                          for r in rounds),
                   "rounds": rounds} for kind, rounds in results.items()}


PINNED = False


def measure() -> dict[str, Any]:
    global PINNED
    import tempfile

    PINNED = _pin(SERVER_CPU)
    with tempfile.TemporaryDirectory() as folder, asyncio.Runner(loop_factory=_loop_factory()) as runner:
        measured = runner.run(_measure(Path(folder)))
    return {"clients": CLIENTS, "client_processes": CLIENT_PROCESSES, "rounds": ROUNDS, "burst": BURST,
            "max_frames_per_round": MAX_FRAMES, "paced_seconds": PACED_SECONDS, "paced_share_of_max": PACED_SHARE,
            "pinned": PINNED, "cpus": os.cpu_count(), **measured}


def main(argv: list[str]) -> int:
    global ROUNDS, MAX_FRAMES, PACED_SECONDS
    if argv[:1] == ["--quick"]:  # a look, not a figure: one short round of each
        ROUNDS, MAX_FRAMES, PACED_SECONDS = 1, 256, 2.0
    if argv[:1] == ["--client"]:
        url, cookie, count, cpu = argv[1], argv[2], int(argv[3]), int(argv[4])
        if cpu >= 0:
            os.sched_setaffinity(0, {cpu})
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_client_main(url, cookie, count))
        return 0
    from . import write_sections

    print(f"socket fan-out: {CLIENTS} clients, {ROUNDS} rounds of max and paced publishing ...", flush=True)
    measured = measure()
    path = write_sections({"socket": measured}) if argv[:1] != ["--quick"] else None
    print(json.dumps({k: v for k, v in measured.items() if k not in ("max", "paced")} |
                     {k: {m: v for m, v in measured[k].items() if m != "rounds"} for k in ("max", "paced")},
                     indent=2))
    print(f"written to {path}" if path else "(--quick: not written)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
