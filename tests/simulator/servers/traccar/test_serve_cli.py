"""`fleetsim serve` as a command: one line and exit 2 for mistakes, and Ctrl-C or SIGTERM stop it within a
grace even with a socket client connected (real process, real signals, real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from ....conftest import CliResult
from ..serve_process import Served, serving
from .support import SCENARIO
from .test_rest import LOGIN

SMARTGPS_ONLY = """\
name: no-socket
seed: 7
start: "2026-02-09T04:00:00"
duration: 10m
region: {city: sao-paulo}
fleet:
  - {name: trucks, count: 1, provider: smartgps, profile: truck}
"""


@pytest.mark.parametrize(("args", "says"), [
    (["--profile", "traccar-5"], "invalid choice: 'traccar-5'"),
    (["--port", "65536"], "expected a whole number from 0 to 65535"),
    (["--keepalive", "-1"], "expected a finite number > 0"),
    (["--scenario", "/nonexistent/s.yaml"], "No such file"),
    (["--scenario", "{smartgps}"], "has no device of a provider with a socket"),
])
def test_mistakes_are_one_line_and_exit_2(cli: Callable[..., CliResult], tmp_path: Path, args: list[str],
                                          says: str) -> None:
    (tmp_path / "smartgps.yaml").write_text(SMARTGPS_ONLY)
    result = cli("serve", "--port", "0", *[a.replace("{smartgps}", str(tmp_path / "smartgps.yaml")) for a in args])
    assert result.code == 2
    assert len(result.err.splitlines()) == 1 and result.err.startswith("fleetsim: error: ")
    assert says in result.err


@contextlib.asynccontextmanager
async def logged_in(tmp_path: Path) -> AsyncIterator[tuple[Served, str, aiohttp.ClientSession]]:
    """`fleetsim serve --scenario` running, its URL, and a session logged in to it (the cookie jar takes the
    JSESSIONID of an IP host)."""
    scenario = tmp_path / "serve.yaml"
    scenario.write_text(SCENARIO)
    async with serving("--scenario", str(scenario), "--port", "0") as served:
        found = re.search(r"http://\S+", served.line)
        assert found, served.line
        url = found.group(0)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{url}/api/session", data=LOGIN) as response:
                assert response.status == 200
            yield served, url, http


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_stops_it_within_the_grace_with_a_socket_open(tmp_path: Path, sig: signal.Signals) -> None:
    async with logged_in(tmp_path) as (served, url, http), \
            http.ws_connect(url.replace("http://", "ws://") + "/api/socket") as ws:
        await ws.receive()
        stopping = asyncio.create_task(served.stop(sig, within_s=5))
        async with asyncio.timeout(5):
            while (message := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
                pass
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001
        await stopping
    served.assert_stopped_cleanly()


async def test_what_it_logs_is_one_prefixed_line_and_a_foreign_subprotocol_is_not_warned_of(tmp_path: Path) -> None:
    """A client that offers a WebSocket subprotocol the server does not speak gets the socket without one, as
    Jetty answers; aiohttp's unformatted warning for each such connection is not printed."""
    async with logged_in(tmp_path) as (served, url, http):
        for _ in range(3):
            async with http.ws_connect(url.replace("http://", "ws://") + "/api/socket",
                                       protocols=("graphql-ws",)) as ws:
                assert ws.protocol is None
                await ws.receive()
        await served.stop()
    served.assert_stopped_cleanly()
    err = served.err.decode()
    assert "overlap" not in err, err
    assert all(line.startswith("fleetsim serve") for line in err.splitlines()), err
