"""Walk the whole argument tree and feed every option and positional hostile values.

The product rule under test: a user's mistake is exit 2 with exactly one `fleetsim: error:` line on stderr,
never a traceback and never exit 3. Each case changes one argument of an otherwise valid (and fast) command
line, so the value under test is what the command actually has to judge. Commands that deliver or serve are
given a tiny scenario and a target that refuses connections at once, so accepted values finish quickly too.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from simulator.cli import build_parser, main, receiver_cmd
from simulator.servers.traccar import app as traccar_app

REFUSING = "http://127.0.0.1:9"  # the discard port: nothing listens there, so connections fail at once
TINY_SCENARIO = """\
name: tiny
seed: 7
start: "2026-02-09T04:00:00"
duration: 10m
region: {city: sao-paulo}
fleet:
  - {name: trucks, count: 1, provider: smartgps, profile: truck}
delivery:
  rate: max
  providers:
    smartgps: {secret: "tiny-secret"}
"""
CAPTURE_LINE = (
    '{"event_id":"tiny-7-00000001","provider":"smartgps","kind":"event","copy":"genuine","attempt":1,'
    '"method":"POST","url":"http://127.0.0.1:9/smartgps","headers":{"Content-Type":"application/json"},'
    '"body":"{}"}\n'
)

HOSTILE: dict[str, str] = {
    "empty": "",
    "minus-one": "-1",
    "zero": "0",
    "x0": "x0",
    "nan": "nan",
    "inf": "inf",
    "1e309": "1e309",
    "5000-digits": "9" * 5000,
    "nul": "\x00",
    "long": "a" * 20_000,
    "unicode": "\u202e\u00fc\U0001f69a\ufeff\u0301",
    "surrogate": "caf\udce9",  # how Python spells a non-UTF-8 byte from argv
    "missing-dir": "/nonexistent/dir/f",
    "directory": "/",
    "proc": "/proc/version",
    "port-99999": "http://127.0.0.1:99999",
    "open-bracket": "http://[::1",
    "ftp": "ftp://x",
    "unknown-kind": "nope:/tmp/fleetsim-report",
    "report-missing-dir": "json:/nonexistent/dir/r.json",
    "report-directory": "json:/",
    "report-proc": "junit:/proc/version",
}

# Valid, fast command lines per command: positionals by dest, then options as `--name=value`.
# {tiny}, {capture}, {body}, {doc} are files the `files` fixture writes.
BASELINES: dict[tuple[str, ...], tuple[dict[str, str], list[str]]] = {
    (): ({"command": "providers"}, []),
    ("providers",): ({}, []),
    ("generate",): ({"provider": "smartgps", "kind": "event"}, []),
    ("sign",): ({"provider": "smartgps"}, ["--secret=s", "--body-file={body}"]),
    ("verify",): ({"provider": "smartgps"}, ["--secret=s", "--body-file={body}", "--header=X-SmartGPS-Signature: x"]),
    ("schemas",): ({"schemas_command": "list"}, []),
    ("schemas", "validate"): ({"provider": "smartgps", "kind": "event", "file": "{doc}"}, []),
    ("schemas", "list"): ({}, []),
    ("run",): ({"scenario": "{tiny}"}, [f"--target={REFUSING}", "--rate=max", "--limit=2", "--timeout=1", "--quiet"]),
    ("replay",): ({"capture": "{capture}"}, [f"--target={REFUSING}", "--timeout=1"]),
    ("receiver",): ({}, ["--port=0"]),
    ("serve",): ({}, ["--port=0"]),
    # the demo plays for ~30 s when its arguments are fine: its flags are tried next to a rate it must refuse
    ("demo",): ({}, ["--rate=fast"]),
    # against the reference receiver it starts itself (a refusing target would be exit 3, harness trouble)
    ("check",): ({}, ["--provider=smartgps", "--only=RPL-07"]),
    # a refusing target: accepted values end at the reachability check (exit 2) before Locust starts
    ("load",): ({}, [f"--target={REFUSING}", "--run-time=1s"]),
}
# Where one argument needs a different neighbourhood to be reached at all.
OVERRIDES: dict[tuple[tuple[str, ...], str], tuple[dict[str, str], list[str]]] = {
    (("generate",), "--scenario"): ({}, []),
    (("generate",), "--limit"): ({}, ["--scenario={tiny}"]),
    (("generate",), "--workers"): ({}, ["--scenario={tiny}", "--limit=5"]),
    # a worker asks its master, by default on 5557: where another test's `load --processes 2` may be listening
    (("load",), "--worker"): ({}, ["--master-port=9", "--run-time=1s"]),
}



@dataclass(frozen=True)
class Case:
    path: tuple[str, ...]
    argument: str  # an option string such as "--seed", or a positional's dest
    positional: bool
    value: str | None  # None: a flag, given without a value

    @property
    def id(self) -> str:
        label = "flag" if self.value is None else next(k for k, v in HOSTILE.items() if v == self.value)
        return " ".join([*self.path, self.argument, label]) if self.path else f"{self.argument} {label}"

    def argv(self, files: dict[str, str]) -> list[str]:
        baseline_positionals, baseline_options = OVERRIDES.get((self.path, self.argument), BASELINES[self.path])
        positionals = {dest: value.format(**files) for dest, value in baseline_positionals.items()}
        if self.positional:
            positionals[self.argument] = self.value or ""
        # the option under test replaces its baseline value (append options would otherwise keep both)
        options = [o.format(**files) for o in baseline_options if o.split("=", 1)[0] != self.argument]
        argv = [*self.path, *positionals.values(), *options]
        if not self.positional:
            argv.append(self.argument if self.value is None else f"{self.argument}={self.value}")
        return argv


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


Walked = Iterator[tuple[tuple[str, ...], argparse.Action]]


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Walked:
    """(command path, action) for every action of every (nested) subcommand."""
    for action in parser._actions:
        yield path, action
    sub = _subparsers(parser)
    if sub is not None:
        for name, child in sub.choices.items():
            yield from walk(child, (*path, name))


def cases() -> list[Case]:
    out: list[Case] = []
    for path, action in walk(build_parser()):
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        if not action.option_strings:
            out += [Case(path, action.dest, True, value) for value in HOSTILE.values()]
            continue
        option = max(action.option_strings, key=len)
        if action.nargs == 0:
            out.append(Case(path, option, False, None))
        else:
            out += [Case(path, option, False, value) for value in HOSTILE.values()]
    return out


CASES = cases()


def _param(case: Case) -> Any:
    return pytest.param(case, id=case.id)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "tiny.yaml").write_text(TINY_SCENARIO)
    (root / "capture.ndjson").write_text(CAPTURE_LINE)
    (root / "body.json").write_bytes(b'{"event":"SPEEDING"}')
    (root / "doc.json").write_text('{"event": "SPEEDING"}')
    return {name: str(root / f"{name}{ext}") for name, ext in
            (("tiny", ".yaml"), ("capture", ".ndjson"), ("body", ".json"), ("doc", ".json"))}


class _Hung(BaseException):
    """Raised by the watchdog: the command ran far longer than any case here should."""


@pytest.fixture
def watchdog() -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, 20.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def stop_receiver_once_serving(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A receiver (or `fleetsim serve`) that accepted its arguments serves until Ctrl-C: stop it as soon as it
    listens.

    Returns the list of URLs it listened on (empty when it refused to start)."""
    served: list[str] = []
    real = receiver_cmd.start_receiver

    async def start_then_stop(*args: Any, **kwargs: Any) -> Any:
        runner, url = await real(*args, **kwargs)
        served.append(url)
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_later(0.05, task.cancel)
        return runner, url

    async def serve_then_stop(*args: Any, **kwargs: Any) -> Any:
        server = await real_serve(*args, **kwargs)
        served.append(server.url)
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_later(0.05, task.cancel)
        return server

    real_serve = traccar_app.start_traccar_server
    monkeypatch.setattr(receiver_cmd, "start_receiver", start_then_stop)
    monkeypatch.setattr(traccar_app, "start_traccar_server", serve_then_stop)
    return served


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            served: list[str], cwd: Path) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"{}")))
    monkeypatch.chdir(cwd)  # accepted relative output names ("x0", "nan", ...) are written here
    try:
        code = main(argv)
    except asyncio.CancelledError:  # our stand-in for Ctrl-C stopped a receiver that was serving fine
        assert served, "cancelled, but no receiver was started"
        code = 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("watchdog")
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_value_is_one_line_exit_2_or_accepted(
    case: Case, files: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    stop_receiver_once_serving: list[str], tmp_path: Path,
) -> None:
    argv = case.argv(files)
    code, out, err = run_cli(argv, capsys, monkeypatch, stop_receiver_once_serving, tmp_path)
    # ascii(): a surrogate in an assertion message would break pytest-xdist's report transport
    shown = f"argv={[a[:60] for a in argv]!a} exit={code} stderr={err[:600]!a}"
    assert "Traceback" not in err + out, shown
    assert "internal error" not in err, shown
    assert code != 3, shown
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, shown
        assert lines[0].startswith("fleetsim: error: "), shown
        assert "fleetsim: error: fleetsim" not in lines[0], shown
        assert len(lines[0]) <= 400, f"an echoed value should be clipped: {shown}"


def test_the_walk_reaches_nested_subcommands_and_every_command() -> None:
    paths = {case.path for case in CASES}
    assert ("schemas", "validate") in paths
    assert set(BASELINES) >= paths, "a new command needs a baseline command line in BASELINES"
    assert len(CASES) > 500

