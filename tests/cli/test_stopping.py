"""Nothing hangs: `fleetsim run`, `replay`, `demo`, `check` and `load` stop within their promised grace on SIGINT
and SIGTERM, a dead receiver ends a run in seconds with exact accounting, and an unusable target is exit 2 before
any work.
Real processes, real signals, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.simulator.delivery import hostile

from .listeners import dropping

SCENARIO = """
name: stop-test
seed: 5
start: "2026-03-03T08:00:00"
duration: 3h
region: {city: chicago}
report_intervals: {moving: 5s}
fleet:
  - {name: g, count: 6, provider: smartgps, profile: van, risk: high, stops_per_trip: 2}
delivery:
  rate: max
  providers:
    smartgps: {secret: "stop-test-secret"}
"""


def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "stop.yaml"
    path.write_text(SCENARIO)
    return path


async def start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


async def finish(proc: asyncio.subprocess.Process, within: float) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), within)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_run_stops_within_the_grace_against_a_hanging_receiver(tmp_path: Path, sig: signal.Signals) -> None:
    report, capture = tmp_path / "r.json", tmp_path / "c.jsonl"
    server = hostile.hang()
    async with server as url:
        proc = await start("run", str(scenario_file(tmp_path)), "--target", url, "--timeout", "60",
                           "--grace", "1.5", "--concurrency", "4", "--down-after", "0",
                           "--report", f"json:{report}", "--capture", str(capture))
        await until(lambda: server.connections >= 5)  # fleetsim's reachability probe, then 4 requests
        await asyncio.sleep(0.3)
        signalled = time.monotonic()
        proc.send_signal(sig)
        code, out, err = await finish(proc, 10)
        took = time.monotonic() - signalled
        connections_after = server.connections
    assert code == 130, err
    assert took < 1.5 + 2.0, took  # the grace, plus process teardown
    # nothing queued went out after the signal: only the 4 requests already in flight were ever sent (and the
    # connection that asked, before the run, whether anything listens)
    assert connections_after == 5
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == 130  # the report and the process agree
    # a run stopped half way shows nothing about what it never sent: never a pass a CI gate could take
    assert doc["verdict"] == "inconclusive" and not doc["conclusive"], doc["verdict_reasons"]
    assert any(r.startswith("interrupted: ") for r in doc["verdict_reasons"])
    assert any(n.startswith("interrupted: ") for n in doc["notes"])
    assert "verdict: PASS" not in out
    totals = doc["summary"]["totals"]
    # the 4 requests the receiver holds unanswered reached it: they are cancelled attempts of events that ended
    # interrupted in flight, never counted among the events not sent (docs/delivery.md, "Stopping")
    assert totals["attempts_by_outcome"] == {"cancelled": 4}
    by_reason = totals["skipped_by_reason"]
    assert by_reason["interrupted_in_flight"] == 4
    assert totals["generated"] == by_reason["interrupted"] + 4 and not totals["delivered"] and not totals["failed"]
    lines = [json.loads(line) for line in capture.read_text().splitlines()]
    assert [line["response"]["outcome"] for line in lines] == ["cancelled"] * 4
    assert all("may have received it" in line["response"]["error"] for line in lines)
    assert any("4 cancelled in flight" in r for r in doc["verdict_reasons"])
    assert "4 cancelled in flight" in err and "interrupted_in_flight 4" in out
    assert doc["invariant"]["ok"]
    assert "accounting: OK" in out


async def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    server = hostile.hang()
    async with server as url:
        # no capture: the requests cut off are on the fast path, which keeps no attempt until one is needed
        proc = await start("run", str(scenario_file(tmp_path)), "--target", url, "--timeout", "60",
                           "--grace", "60", "--concurrency", "2", "--down-after", "0", "--report", f"json:{report}")
        await until(lambda: server.connections >= 3)  # the reachability probe, then 2 requests
        proc.send_signal(signal.SIGINT)
        await asyncio.sleep(0.5)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code, out, _ = await finish(proc, 10)
        assert time.monotonic() - signalled < 3.0
    assert code == 130 and "accounting: OK" in out
    totals = json.loads(report.read_text())["summary"]["totals"]
    assert totals["attempts_by_outcome"] == {"cancelled": 2}
    assert totals["skipped_by_reason"]["interrupted_in_flight"] == 2


async def test_a_dead_receiver_ends_the_run_in_seconds_with_exact_accounting(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    server = hostile.hang()
    async with server as url:
        began = time.monotonic()
        proc = await start("run", str(scenario_file(tmp_path)), "--target", url, "--timeout", "0.5",
                           "--concurrency", "4", "--report", f"json:{report}", "--quiet")
        code, out, _ = await finish(proc, 30)
        took = time.monotonic() - began
    assert code == 1
    assert took < 15, took  # ~3 rounds of 4 timed-out attempts, not events / 4 x 0.5 s
    doc = json.loads(report.read_text())
    totals = doc["summary"]["totals"]
    assert doc["verdict"] == "fail" and doc["invariant"]["ok"]
    assert totals["generated"] > 100  # the whole run is accounted, not just what was attempted
    assert totals["skipped_by_reason"]["endpoint_down"] > 90
    assert totals["generated"] == totals["failed"] + totals["skipped"]
    assert totals["attempts"] < 20
    assert doc["summary"]["run"]["endpoints_stopped"]["smartgps"]["reason"] == "endpoint_down"
    assert "endpoint stopped (endpoint_down)" in out and "timeout" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_check_stops_on_a_signal_as_an_interruption(sig: signal.Signals, tmp_path: Path) -> None:
    # SIGTERM once killed `check` without a word (exit 143): no summary, the reference receiver and temporary
    # files not cleaned up. Now it is Ctrl-C's stop: the run's grace (2 s), then "interrupted", exit 130
    server = hostile.hang()
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    async with server as url:
        proc = await start("check", "--provider", "smartgps", "--target", url.removesuffix("/hook"),
                           "--report", f"json:{report}", "--report", f"junit:{junit}")
        await until(lambda: server.connections >= 2)  # the reachability probe, then the first delivery
        signalled = time.monotonic()
        proc.send_signal(sig)
        code, out, err = await finish(proc, 15)
        took = time.monotonic() - signalled
    assert code == 130, (out, err)
    assert took < 2.0 + 3.0, took  # the run's grace, plus process teardown
    assert "fleetsim: interrupted" in err and "PASS" not in out and "summary:" not in out
    # the reports asked for are still written: what finished (nothing here), exit 130, and never a green JUnit
    assert "interrupted: the reports hold the 0 providers checked before the stop" in err
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == 130 and doc["interrupted"] is True and doc["providers"] == []
    root = ET.parse(junit).getroot()
    error = root.find("testsuite/testcase[@name='the check ran to its end']/error")
    assert error is not None and error.get("type") == "interrupted"


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc)."""
    found: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for thread in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{thread}/children").read_text().split():
                found |= {int(child)} | descendants(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from Linux /proc")
@pytest.mark.parametrize(("sig", "processes"), [(signal.SIGTERM, "1"), (signal.SIGINT, "2")])
async def test_load_stops_on_a_signal_and_leaves_no_locust_behind(sig: signal.Signals, processes: str,
                                                                  tmp_path: Path) -> None:
    # SIGTERM once killed `fleetsim load` at once: its Locust run went on hammering the receiver until its
    # --run-time ended, and a reference receiver it had started ran on for good. With --processes 2, Ctrl-C
    # killed Locust's master only: its forked workers went on sending
    server = hostile.hang()
    report, html = tmp_path / "load.json", tmp_path / "locust.html"
    # an earlier run's green reports at the same paths: a stopped run must not leave them standing
    report.write_text('{"complete": true, "slo": [{"slo": "fail=0", "met": true}]}')
    html.write_text("<html>an earlier run</html>")
    async with server as url:
        proc = await start("load", "--target", url.removesuffix("/hook"), "--run-time", "60s", "--users", "2",
                           "--processes", processes, "--report", f"json:{report}", "--report", f"html:{html}")
        await until(lambda: server.connections >= 3, timeout=60)  # the reachability probe, then Locust's users
        children = descendants(proc.pid)
        assert children  # Locust's processes
        signalled = time.monotonic()
        proc.send_signal(sig)
        code, _, err = await finish(proc, 30)
        took = time.monotonic() - signalled
    assert code == 130 and "fleetsim: interrupted" in err, err
    assert took < 5.0, took
    await until(lambda: not any(alive(pid) for pid in children), timeout=5)
    assert json.loads(report.read_text())["complete"] is False
    assert json.loads(html.with_suffix(".correctness.json").read_text())["interrupted"] is True
    assert not html.exists() or "an earlier run" not in html.read_text()


def capture_file(tmp_path: Path, lines: int) -> Path:
    path = tmp_path / "capture.ndjson"
    record = {"event_id": "e", "provider": "smartgps", "copy": "genuine", "url": "http://x/smartgps",
              "headers": {"Content-Type": "application/json"}, "body": "{}"}
    path.write_text("".join(json.dumps({**record, "event_id": f"e{i}"}) + "\n" for i in range(lines)))
    return path


@pytest.mark.parametrize("target", ["http://127.0.0.1:99999", "http://[::1", "ftp://example.com"])
async def test_replay_to_an_unusable_target_is_exit_2_at_once(tmp_path: Path, target: str) -> None:
    proc = await start("replay", str(capture_file(tmp_path, 100)), "--target", target, "--concurrency", "2")
    code, out, err = await finish(proc, 20)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("fleetsim: error:") and "--target" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_replay_stops_within_the_grace(tmp_path: Path, sig: signal.Signals) -> None:
    server = hostile.hang()
    async with server as url:
        proc = await start("replay", str(capture_file(tmp_path, 100)), "--target", url, "--concurrency", "2",
                           "--timeout", "60", "--grace", "1", "--down-after", "0")
        await until(lambda: server.connections >= 3)  # the reachability probe, then 2 requests
        signalled = time.monotonic()
        proc.send_signal(sig)
        code, out, _ = await finish(proc, 10)
        assert time.monotonic() - signalled < 3.0
    assert code == 130
    # the 2 requests the target holds unanswered were sent: cancelled, never counted among those not sent
    assert "replayed 2 requests: cancelled 2" in out and "not sent: interrupted 98" in out
    assert "2 requests were cancelled in flight" in out


async def test_replay_stops_sending_to_a_dead_target(tmp_path: Path) -> None:
    # the target accepts connections (so the run starts) and drops every one unanswered
    with dropping() as url:
        proc = await start("replay", str(capture_file(tmp_path, 300)), "--target", url, "--concurrency", "2")
        code, out, _ = await finish(proc, 20)
    assert code == 1
    sent = int(out.split("replayed ")[1].split()[0])
    assert sent < 20
    assert f"not sent: endpoint_down {300 - sent}" in out


async def test_demo_stops_on_sigterm(tmp_path: Path) -> None:
    proc = await start("demo", "--quiet")
    assert proc.stderr is not None
    # the receiver is up and deliveries start: waited for, not slept for (a loaded machine takes seconds to
    # get this far, and a fixed sleep then signalled a demo that had not started)
    line = await asyncio.wait_for(proc.stderr.readline(), 60)
    while line and b"reference receiver listening on" not in line:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
    assert line, "the demo never said its receiver was up"
    await asyncio.sleep(0.5)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code, out, _ = await finish(proc, 15)
    assert time.monotonic() - signalled < 10.0
    assert code == 130 and "accounting: OK" in out and "interrupted" in out


#: `fleetsim demo` with a SIGTERM sent to itself at a chosen moment outside the event loop
_DEMO_SIGNALLED = """
import os, signal, sys
from simulator.cli import demo_cmd, main

real = getattr(demo_cmd, sys.argv[1])

def signalled(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)

setattr(demo_cmd, sys.argv[1], signalled)
sys.exit(main(["demo", "--quiet", *sys.argv[2:]]))
"""


async def test_demo_stops_with_130_on_a_sigterm_before_its_event_loop_starts() -> None:
    # while the scenario loads: SIGTERM's default would kill the process (exit -15, no summary)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _DEMO_SIGNALLED, "load_scenario",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    code, out, err = await finish(proc, 60)
    assert code == 130, (code, err)
    assert "accounting: OK (generated 0 = delivered 0" in out, out  # stopped before it sent anything


async def test_demo_ends_with_130_on_a_sigterm_after_its_event_loop_closed() -> None:
    # while the summary is written: the loop took its handlers with it
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _DEMO_SIGNALLED, "render_summary",
                                                "--rate", "max",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    code, out, err = await finish(proc, 120)
    assert code == 130, (code, err)
    assert "accounting: OK" in out


@pytest.mark.parametrize("app", ["stuck_wsgi", "loop_blocking"])
async def test_check_of_an_app_that_never_returns_still_stops_on_sigterm(app: str, tmp_path: Path) -> None:
    # A WSGI call cannot be cancelled: its worker thread kept the process alive at exit for ever after
    # "fleetsim: interrupted". An ASGI app that blocks the event loop kept the loop's SIGTERM handler from ever
    # running. A CI job's timeout must still end the command.
    report = tmp_path / "r.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "check", "--app", f"tests.conformance.apps.odd:{app}",
        "--provider", "samsara", "--report", f"json:{report}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert proc.stderr is not None
    try:
        first = await asyncio.wait_for(proc.stderr.readline(), 20)  # "checking ... in-process": app loaded
        assert b"in-process" in first, first
        await asyncio.sleep(1.0)  # the first delivery is in the app now
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, out, err = await finish(proc, 20)
        took = time.monotonic() - signalled
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 130, (out, err)
    assert "fleetsim: interrupted" in err
    assert took < 10.0 + 2.0, took  # the stop's watchdog, plus process teardown
    if app == "stuck_wsgi":  # the loop was free: the stop was the ordinary one, reports written
        assert took < 2.0 + 3.0, took
        assert json.loads(report.read_text())["interrupted"] is True
    else:
        assert "did not stop" in err, err


@contextlib.contextmanager
def unanswered_connects() -> Iterator[int]:
    """A port whose TCP connects hang (Linux drops SYNs to a listener whose backlog is full): fleetsim's
    reachability probe waits there for its 5 s connect timeout."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the backlog; never accepted
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for s in [*fillers, listener]:
            s.close()


def syn_sent_to(port: int) -> int:
    """How many sockets of this machine are connecting to 127.0.0.1:`port` (state SYN_SENT in /proc/net/tcp)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for fields in map(str.split, lines) if fields[2].endswith(f":{port:04X}") and fields[3] == "02")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="watches the connect in Linux /proc/net/tcp")
@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_stop_before_the_run_begins_still_writes_the_reports(command: str, tmp_path: Path) -> None:
    # a stop during the reachability probe of a slow target (or while a scenario loads) ended "interrupted",
    # exit 130, with no --report file at all: a CI job kept an earlier run's green report, or nothing
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    with unanswered_connects() as port:
        target = f"http://127.0.0.1:{port}"
        args = (("run", str(scenario_file(tmp_path)), "--target", target) if command == "run"
                else ("check", "--provider", "smartgps", "--target", target))
        fillers = syn_sent_to(port)  # the backlog's own fillers wait there too
        proc = await start(*args, "--report", f"json:{report}", "--report", f"junit:{junit}")
        try:
            await until(lambda: syn_sent_to(port) > fillers, timeout=30)
            proc.send_signal(signal.SIGTERM)
            code, out, err = await finish(proc, 15)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert code == 130, (out, err)
    assert "fleetsim: interrupted" in err
    doc = json.loads(report.read_text())
    assert doc["exit_code"] == 130
    root = ET.parse(junit).getroot()
    errors = root.findall(".//error")
    assert any(e.get("type") == "interrupted" for e in errors), ET.tostring(root)
