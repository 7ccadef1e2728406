"""`fleetsim serve --api drivers`: its one line on standard output, a demo token that works, mistakes answered in
one line with exit 2, and SIGTERM stopping it promptly (real process, real signal, real socket)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from ....conftest import CliResult
from ..serve_process import serving


async def test_it_prints_its_line_serves_and_stops_on_sigterm() -> None:
    async with serving("--api", "drivers:0") as served:
        line = served.line
        assert line.startswith("fleetsim serve on http://127.0.0.1:"), line
        url = line.split()[3]
        token = re.search(r"Bearer (\S+) may manage", line)
        assert token, line
        async with aiohttp.ClientSession() as http, http.get(
                f"{url}/drivers/names", headers={"Authorization": f"Bearer {token.group(1)}"}) as response:
            assert response.status == 200
            assert "smartgps" in {d["slug"] for d in (await response.json())["data"]}
        await served.stop()
    served.assert_stopped_cleanly()


@pytest.mark.parametrize(("args", "says"), [
    (["--test-event-timeout", "0"], "expected a finite number > 0"),
    (["--test-event-ca-bundle", "/nonexistent/ca.pem"], "cannot read it (No such file or directory)"),
    (["--test-event-ca-bundle", "{notpem}"], "not a PEM file of CA certificates"),
    (["--test-event-ca-bundle", "{dir}"], "cannot read it (Is a directory)"),
    (["--oauth-driver", "bling"], "invalid choice: 'bling'"),
])
def test_mistakes_are_one_line_and_exit_2(cli: Callable[..., CliResult], tmp_path: Path, args: list[str],
                                          says: str) -> None:
    (tmp_path / "not.pem").write_text("hello")
    values = [a.replace("{notpem}", str(tmp_path / "not.pem")).replace("{dir}", str(tmp_path)) for a in args]
    result = cli("serve", "--api", "drivers:0", *values)
    assert result.code == 2, result
    assert len(result.err.splitlines()) == 1 and result.err.startswith("fleetsim: error: "), result.err
    assert says in result.err
