"""Locust's own distribution: a master and two workers on loopback, bounded in time; each worker builds its own
pools and sends its records to the master, whose summary counts both. The master's run time starts when both
workers have built their pools, and it waits for their records at the end (a loaded machine once ran 2 s with no
worker sending yet, and closed before the records came: 0 records); workers that never connect are exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_master_and_two_workers_merge_their_records(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    port = str(_free_port())
    worker = [sys.executable, "-m", "simulator", "load", "--worker", "--master-host", "127.0.0.1",
              "--master-port", port, "--provider", "samsara"]
    workers = [subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        report = tmp_path / "load.json"
        result = cli("load", "--master", "--expect-workers", "2", "--master-port", port, "--provider", "samsara",
                     "--run-time", "2s", "--users", "4", "--report", f"json:{report}", "--slo", "lost=0,dup=0")
        assert result.code == 0, result.out + result.err
        for process in workers:
            assert process.wait(timeout=30) == 0
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    summary = json.loads(report.read_text())
    assert summary["sent"] > 20 and summary["acked"] == summary["sent"]
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert summary["processes"] == 2  # both workers' records reached the master


def test_a_master_whose_workers_never_come_gives_up_in_one_line_and_exit_2(cli: Callable[..., CliResult]) -> None:
    port = str(_free_port())
    started = time.monotonic()
    result = cli("load", "--master", "--expect-workers", "2", "--workers-wait", "1", "--master-port", port,
                 "--provider", "samsara", "--run-time", "1s", "--users", "2")
    assert result.code == 2, result.out + result.err
    assert result.out == "" and len(result.err.strip().splitlines()) == 1, result.err
    assert "fewer than 2 worker(s) connected within 1 s (--workers-wait)" in result.err
    assert time.monotonic() - started < 60  # the bound, Locust's start and its one-second polling


def test_a_worker_whose_master_never_listens_gives_up_in_one_line_and_exit_2(
        cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtests import cli as load_cli

    monkeypatch.setattr(load_cli, "MASTER_WAIT_S", 0.5)  # the worker's grace for a master started after it
    port = str(_free_port())
    result = cli("load", "--worker", "--master-port", port, "--provider", "samsara")
    assert result.code == 2, result.out + result.err
    assert result.out == "" and len(result.err.strip().splitlines()) == 1, result.err
    assert f"cannot reach the master 'tcp://127.0.0.1:{port}': connection refused (is `fleetsim load --master` " \
           "running" in result.err


def test_processes_on_one_machine_keep_to_their_own_master_while_5557_is_taken(
        cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # another run's master (a parallel CI job) on Locust's default port: this run neither fails to bind nor lets
    # its workers join that one
    other = socket.socket()
    try:
        other.bind(("0.0.0.0", 5557))
        other.listen()
    except OSError:  # already taken, by a real other run or anything else: the same situation
        pass
    try:
        report = tmp_path / "load.json"
        result = cli("load", "--provider", "samsara", "--processes", "2", "--run-time", "2s", "--users", "2",
                     "--report", f"json:{report}")
    finally:
        other.close()
    assert result.code == 0, result.out + result.err
    summary = json.loads(report.read_text())
    assert summary["processes"] == 2 and summary["sent"] > 0 and summary["acked"] == summary["sent"]


def _argv(*options: str) -> list[str]:
    import argparse

    from loadtests.cli import add_parser, locust_argv

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["load", *options])
    return locust_argv(args, "http://127.0.0.1:9", "scenario.yaml", Path("records"), None)


def _after(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def test_the_master_port_given_is_the_one_used_and_each_run_has_its_own_otherwise() -> None:
    given = _argv("--processes", "2", "--master-port", "6123")
    assert (_after(given, "--master-bind-port"), _after(given, "--master-port")) == ("6123", "6123")
    free = _argv("--processes", "2")
    assert _after(free, "--master-bind-port") == _after(free, "--master-port") != "5557"
    assert _after(free, "--master-bind-host") == "127.0.0.1"
    # by hand, a master and its workers meet at Locust's default unless told otherwise
    assert _after(_argv("--master"), "--master-bind-port") == "5557"
    assert _after(_argv("--worker"), "--master-port") == "5557"
    assert _after(_argv("--worker", "--master-port", "6124"), "--master-port") == "6124"
