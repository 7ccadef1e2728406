"""`fleetsim serve --api smartgps:0` as a command: its URL line, a real token over it, and SIGTERM stops it."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from pathlib import Path

import httpx

from .support import CREDENTIALS, SCENARIO


async def test_it_prints_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "serve", "--api", "smartgps:0", "--scenario", str(scenario),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        found = re.search(r"fleetsim serve on (http://\S+)\s+SmartGPS API", line)
        assert found, line
        assert "fleetsim-demo / fleetsim-demo-secret" in line
        async with httpx.AsyncClient(base_url=found.group(1)) as http:
            assert (await http.post("/auth/token", data=CREDENTIALS)).status_code == 200
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 10)
        took = time.monotonic() - signalled
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    assert took < 3.0, took
    assert b"Traceback" not in err


async def test_a_user_set_secret_is_never_printed(tmp_path: Path) -> None:
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    settings = tmp_path / "settings.yaml"
    settings.write_text("providers:\n  smartgps: {api_client_id: acme, api_client_secret: s3cr3t-of-acme}\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "serve", "--api", "smartgps:0", "--scenario", str(scenario),
        "--settings", str(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "acme" in line
    assert b"s3cr3t-of-acme" not in line.encode() + out + err
