"""`fleetsim check --provider powunity-socket` through the real CLI: a launched client graded end to end with its
reports, and every usage mistake as one line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.cli import main

from .conftest import command

FAST_FLAGS = ["--closures", "5", "--outage", "1", "--storm-limit", "300", "--client-keepalive", "1",
              "--phase-timeout", "2", "--connect-timeout", "20"]


def test_a_launched_well_behaved_client_passes_and_the_reports_carry_the_socket_checks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, junit, html = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"
    code = main(["check", "--provider", "powunity-socket", "--client-command", command(), *FAST_FLAGS,
                 "--report", f"json:{report}", "--report", f"junit:{junit}", "--report", f"html:{html}"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "summary: 5 passed, 0 failed" in out
    data = json.loads(report.read_text())
    [provider] = data["providers"]
    assert provider["provider"] == "powunity-socket"
    assert {r["id"]: r["status"] for r in provider["results"]} == dict.fromkeys(
        ("TRN-06", "TRN-07", "TRN-08", "TRN-09", "TRN-10"), "passed")
    assert 'name="fleetsim check powunity-socket"' in junit.read_text()
    assert "TRN-10" in html.read_text()
    assert "demo" not in json.dumps(provider["results"])  # the password is never written (it is "demo")


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fleetsim: error: "), lines
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--target", "http://127.0.0.1:9"], "--target is for webhook receivers"),
        (["--app", "main:app"], "--app is for webhook receivers"),
        (["--client-command", "fleetsim-no-such-program-xyz"], "cannot start client: 'fleetsim-no-such-program-xyz'"),
        (["--client-command", "  "], "cannot start client: --client-command is empty"),
        (["--client-command", "a 'b"], "cannot start client:"),
        (["--client-command", "echo {Url} ${HOME}"], "unknown placeholder {Url} (known: {url}, {email}, {password})"),
        (["--only", "SIG-01"], "leave none of them"),
        (["--outage", "1e9"], "expected seconds from 0 to 86400"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(argv: list[str], says: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--provider", "powunity-socket", *argv]) == 2
    assert says in one_error_line(capsys)


def test_socket_options_with_a_webhook_provider_are_a_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--provider", "smartgps", "--client-keepalive", "5"]) == 2
    assert "--client-keepalive is for --provider powunity-socket" in one_error_line(capsys)


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["check", "--provider", "powunity-socket", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in one_error_line(capsys)


def test_without_a_command_it_prints_where_to_connect_and_times_out_clearly(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--provider", "powunity-socket", "--connect-timeout", "0.5", "--only", "TRN-06,TRN-07"])
    captured = capsys.readouterr()
    assert code == 1
    assert "waiting 0.5 s for your socket client: http://127.0.0.1:" in captured.err
    assert "demo@fleetsim.local" in captured.err
    assert "FAIL  TRN-06  no socket opened within 0.5 s" in captured.out
    assert "SKIP  TRN-07" in captured.out  # its phase found no client to close
    assert "failure bodies:" not in captured.out  # no request body was written to point at


def test_sigterm_stops_fleetsim_and_the_client_it_launched(tmp_path: Path) -> None:
    pid_file = tmp_path / "client.pid"
    client = f"sh -c 'echo $$ > {pid_file}; exec sleep 60'"
    executable = str(Path(sys.executable).parent / "fleetsim")
    fleetsim = subprocess.Popen([executable, "check", "--provider", "powunity-socket", "--client-command", client,
                                 "--connect-timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        client_pid = int(pid_file.read_text())
        fleetsim.send_signal(signal.SIGTERM)
        _, err = fleetsim.communicate(timeout=10)
    finally:
        if fleetsim.poll() is None:
            fleetsim.kill()
    assert fleetsim.returncode == 130, err
    assert "fleetsim: interrupted" in err and "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(client_pid, 0)
