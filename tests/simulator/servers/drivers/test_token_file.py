"""`fleetsim serve --api drivers --token-file FILE`: the tenant's own tokens, read from a file (or a pipe), replace
the demo ones; they work with their permission, are never printed, and a bad file is one line and exit 2 that
names the line and never the token (real process, real socket)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from simulator.errors import UsageError
from simulator.servers.drivers.tokens import load_token_file

from ....conftest import CliResult
from ..serve_process import serving

MANAGE = "mgr-7f3a9c1e5b2d4f60"
READ = "rd-0b8e6a2c9d1f3e57"
DEMO = "fleetsim-demo-drivers-manage"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens.txt"
    path.write_text(text)
    return path


async def test_the_files_tokens_replace_the_demo_ones_and_are_never_printed(tmp_path: Path) -> None:
    path = _file(tmp_path, f"# the tenant's tokens\nmanage {MANAGE}   # ops\n\nread\t{READ}\n")
    async with serving("--api", "drivers:0", "--token-file", str(path)) as served:
        url = served.line.split()[3]
        assert "1 token from" in served.line and "may manage them, 1 only read" in served.line, served.line
        settings = f"{url}/drivers?limit=1"
        async with aiohttp.ClientSession() as http:
            for token, status in ((MANAGE, 200), (READ, 200), (DEMO, 401), (MANAGE[:-1], 401)):
                async with http.get(settings, headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == status, token
            async with http.get(settings, headers={"Authorization": f"Bearer {MANAGE}"}) as r:
                driver = (await r.json())["data"][0]["id"]
            # the read token may not manage: the permission came from the file
            for token, allowed in ((READ, False), (MANAGE, True)):
                async with http.get(f"{url}/drivers/{driver}/settings",
                                    headers={"Authorization": f"Bearer {token}"}) as r:
                    assert (r.status != 403) is allowed, (token, r.status)  # 200, or 404 if not configured
        await served.stop()
    served.assert_stopped_cleanly()
    for text in (served.line, served.out.decode(), served.err.decode()):
        assert MANAGE not in text and READ not in text and DEMO not in text


def test_a_pipe_is_read_as_well_as_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "tokens.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(f"manage {MANAGE}\n"))
    writer.start()
    try:
        loaded = load_token_file(str(fifo))
    finally:
        writer.join(5)
    assert dict(loaded.tokens) == {MANAGE: frozenset({"DRIVERS_MANAGE"})}
    assert MANAGE not in repr(loaded) and MANAGE not in str(loaded)


@pytest.mark.parametrize(("text", "says"), [
    (f"admin {MANAGE}\n", ':1: expected "manage TOKEN" or "read TOKEN"'),
    (f"# ok\nmanage {MANAGE} extra\n", ':2: expected "manage TOKEN"'),
    (f"{MANAGE}\n", ':1: expected "manage TOKEN"'),
    ("manage short-one\n", ":1: the token is shorter than 16 characters"),
    (f"manage {MANAGE}\nread {MANAGE}\n", ":2: the same token as line 1"),
    (f"manage {MANAGE[:8]}\"{MANAGE[8:]}\n", ":1: the token holds a character"),
    ("# nothing but comments\n\n", "no token in it"),
    ("\udce9", "not UTF-8 text"),
    ("x" * (64 * 1024 + 1), "larger than 64 KiB"),
])
def test_a_bad_token_file_is_one_line_exit_2_and_never_quotes_a_token(
        cli: Callable[..., CliResult], tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "tokens.txt"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = cli("serve", "--api", "drivers:0", "--token-file", str(path))
    assert result.code == 2, result
    assert len(result.err.splitlines()) == 1 and result.err.startswith("fleetsim: error: "), result.err
    assert says in result.err and "tokens.txt" in result.err, result.err
    assert MANAGE not in result.err and MANAGE[:8] not in result.err and "short-one" not in result.err


@pytest.mark.parametrize(("path", "says"), [("/nonexistent/tokens", "No such file"), ("/", "Is a directory")])
def test_an_unreadable_token_file_says_why(path: str, says: str) -> None:
    with pytest.raises(UsageError) as bad:
        load_token_file(path)
    assert says in str(bad.value) and str(bad.value).startswith(f"--token-file {path!r}: cannot read it")
