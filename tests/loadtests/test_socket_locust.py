"""The Locust socket user (loadtests/socket_locustfile.py) in real headless Locust runs of a few seconds against a
real `fleetsim serve`: every frame is a WS request event named by its key, with no failure while the server
serves; stopping the server mid-run shows as `connection` failures."""

from __future__ import annotations

import contextlib
import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.simulator.servers.traccar.support import SCENARIO

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _fleetsim_serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    scenario = tmp_path / "serve-test.yaml"
    scenario.write_text(SCENARIO)  # two bikes riding from half a second in, a frame every ~20 ms at x240
    server = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--scenario", str(scenario),
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("fleetsim serve on http://"), first + (server.stderr.read() if server.stderr else "")
        yield server, first.split()[3]
    finally:
        server.terminate()
        server.wait(10)


def _locust(url: str, prefix: Path, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "socket_locustfile.py"),
                             "--headless", "-u", "3", "-r", "3", "-t", f"{seconds}s", "--host", url, "--csv",
                             str(prefix), "--only-summary", "--loglevel", "ERROR", "--exit-code-on-error", "0",
                             "--fleetsim-reconnect-s", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _rows(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(stats)}


def test_each_frame_is_a_ws_request_named_by_its_key(tmp_path: Path) -> None:
    with _fleetsim_serve(tmp_path) as (_, url):
        run = _locust(url, tmp_path / "stats", 4)
        out, err = run.communicate(timeout=90)
    assert run.returncode == 0, out + err
    rows = _rows(tmp_path / "stats")
    assert int(rows[("POST", "/api/session")]["Request Count"]) == 3  # one login per user
    assert int(rows[("WS", "connect")]["Request Count"]) == 3
    positions, devices = rows[("WS", "positions")], rows[("WS", "devices")]
    # three users, ~3 s of a frame every ~20 ms, half of them positions
    assert int(positions["Request Count"]) > 3 * 40, positions
    assert int(devices["Request Count"]) > 3 * 20, devices
    assert float(positions["Average Content Size"]) > 200  # a whole Traccar position
    assert ("WS", "garbage") not in rows and ("WS", "connection") not in rows
    assert int(rows[("", "Aggregated")]["Failure Count"]) == 0


def _established(port: int) -> int:
    """How many TCP connections the server on `port` holds open (Linux /proc: local port, state 01)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                count += state == "01" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def test_a_server_gone_mid_run_shows_as_connection_failures(tmp_path: Path) -> None:
    with _fleetsim_serve(tmp_path) as (server, url):
        run = _locust(url, tmp_path / "stats", 8)
        # wait for the users, not for a guess at how long Locust takes to start on a busy machine (a fixed 3 s
        # once stopped the server before they had connected): each holds its login's keep-alive connection
        # and its socket, 6 in all; then a moment of frames
        port = int(url.rsplit(":", 1)[1].rstrip("/"))
        waited = time.monotonic() + 60
        while _established(port) < 6 and time.monotonic() < waited and run.poll() is None:
            time.sleep(0.1)
        time.sleep(1.0)
        server.terminate()  # the sockets close 1001, then nothing listens
        out, err = run.communicate(timeout=90)
    assert run.returncode == 0, out + err
    rows = _rows(tmp_path / "stats")
    assert int(rows[("WS", "positions")]["Request Count"]) > 0
    dropped = rows[("WS", "connection")]
    assert int(dropped["Failure Count"]) >= 3, dropped  # each user's socket closed under it
    with open(f"{tmp_path / 'stats'}_failures.csv", newline="") as failures:
        errors = " ".join(row["Error"] for row in csv.DictReader(failures))
    assert "1001" in errors or "onnection" in errors, errors
