"""State probe files: the loader's exit-2 errors (file:line:col, field, what was expected), the dotted paths,
the command form, and the reference receiver's read API as its shipped probe file asks it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.state import (
    REFERENCE_PROBE,
    FileStateProbe,
    Latest,
    ReadError,
    load_state_probe,
    pick,
)
from simulator.errors import ScenarioError, UsageError
from simulator.servers.store import Change, Fix
from tests.conftest import CliResult

from .flawed import on_a_thread, settings
from .flaws_state import flawed_state


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probe.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("effects: {url: '{base}/e/{event_id}', path: effects}\nextra: 1\n",
         "probe.yaml:2:1: extra: expected one of effects, headers"),
        ("effects: {url: '{base}/e/{device}', path: effects}\n",
         "probe.yaml:1:16: effects.url: expected only the values {base}, {event_id}, {provider} in the effects "
         "template, not {device}"),
        ("effects: {url: '{base}/e/{event_id}'}\n", "effects.path: expected a dotted path"),
        ("latest: {command: [], device_time: t, lat: a, lon: o}\n",
         "latest.command: expected a non-empty list of argv strings (no shell)"),
        ("state: {url: 'ftp://x', path: state}\n", "state.url: expected a URL template starting with {base}"),
        ("state: {url: '{base}/s', command: [x], path: s}\n", "state: expected exactly one of url: or command:"),
        ("version: 2\neffects: {url: '{base}/e/{event_id}', path: effects}\n", "version: expected 1"),
        ("timeout: 0\neffects: {url: '{base}/e/{event_id}', path: effects}\n", "timeout: expected seconds"),
        ("settle: {url: '{base}/state', path: processing}\neffects: {url: '{base}/e/{event_id}', path: e}\n",
         "settle: expected equals:"),
        ("headers: {a: 1}\n", "expected at least one of the questions effects, latest, state"),
        ("effects: [1\n", "probe.yaml:2:1:"),
        # the YAML reader's words were a scenario's: an empty probe file "expected a scenario mapping (name, ...)"
        ("", ":1:1: the file is empty; expected a state probe mapping (effects: ..., latest: ..., state: ...)"),
        ("- a\n", ":1:1: the top level must be a state probe mapping (effects: ..., latest: ..., state: ...), "
         "found a list"),
        ("effects: !!python/name:os.system\n", "state probe files hold plain text"),
        ("effects: .inf\n", "numbers in a state probe file must be finite"),
    ],
)
def test_the_loader_names_the_place_and_what_was_expected(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_state_probe(write(tmp_path, text))
    assert isinstance(raised.value, UsageError)  # exit 2
    assert problem in str(raised.value) and "scenario" not in str(raised.value), str(raised.value)


def test_a_missing_file_says_state_probe_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the state probe file"):
        load_state_probe(tmp_path / "none.yaml")


def test_the_reference_probe_file_loads() -> None:
    probe = load_state_probe(REFERENCE_PROBE)
    assert set(probe.questions) == {"settle", "effects", "latest", "state"}


def test_dotted_paths() -> None:
    doc = {"a": {"b": [{"c": 3}]}, "n": 0}
    assert pick(doc, "a.b.0.c") == 3
    assert pick(doc, "n") == 0
    assert pick(doc, "") == doc
    with pytest.raises(ReadError, match=r"nothing at 'a\.b\.1'"):
        pick(doc, "a.b.1")


async def test_the_command_form_formats_each_argv_element_and_reads_stdout_json(tmp_path: Path) -> None:
    # literal braces would need doubling in a template: this script has none
    script = "import json, sys; print(json.dumps(dict(n=len(sys.argv[1]), who=sys.argv[2])))"
    path = write(tmp_path, f"effects:\n  command: [{sys.executable!r}, '-c', {script!r}, '{{event_id}}', "
                 "'{provider}']\n  path: n\n")
    probe = FileStateProbe(load_state_probe(path))
    assert await probe.effects("http://unused", "mettax", "gps:1 2; rm -rf /") == len("gps:1 2; rm -rf /")
    failing = write(tmp_path, f"effects: {{command: [{sys.executable!r}, '-c', 'raise SystemExit(3)'], path: n}}\n")
    with pytest.raises(ReadError, match="exited with 3"):
        await FileStateProbe(load_state_probe(failing)).effects("http://unused", "mettax", "x")


async def test_a_command_that_answers_without_end_is_cut_and_stopped(tmp_path: Path) -> None:
    # `cat /dev/zero` as a probe command grew fleetsim by gigabytes and ran past its 5 s timeout
    endless = "import sys\nwhile True: sys.stdout.buffer.write(b'0' * 65536)"
    path = write(tmp_path, f"effects: {{command: [{sys.executable!r}, '-c', {endless!r}], path: n}}\n")
    with pytest.raises(ReadError, match="answered more than 8 MiB"):
        await FileStateProbe(load_state_probe(path)).effects("http://unused", "mettax", "x")
    quiet = "import time; time.sleep(60)"
    slow = write(tmp_path, f"effects: {{command: [{sys.executable!r}, '-c', {quiet!r}], path: n}}\ntimeout: 0.5\n")
    with pytest.raises(ReadError, match=r"did not answer within 0\.5 s"):
        await FileStateProbe(load_state_probe(slow)).effects("http://unused", "mettax", "x")


async def test_the_reference_receiver_answers_its_probe_file() -> None:
    from conformance.run import reference_receiver
    from simulator.servers.store import Store

    probe = FileStateProbe(load_state_probe(REFERENCE_PROBE))
    async with reference_receiver(settings()) as url:
        await probe.settle(url)
        assert await probe.effects(url, "mettax", "gps:nothing/such") == 0
        assert await probe.latest(url, "standard_webhooks", "g/2") is None
        assert await probe.state(url, "standard_webhooks", "g/2") == {}
    store = Store()
    try:  # newest device time wins, whatever the order; every application is one effect
        await store.apply("p", "k2", fix=Fix("d/1", 1.0, 2.0, 200.0), change=Change("d/1", "ignition", "off", 200.0))
        await store.apply("p", "k1", fix=Fix("d/1", 3.0, 4.0, 100.0), change=Change("d/1", "ignition", "on", 100.0))
        assert (await store.device_state("p", "d/1"))["ignition"]["value"] == "off"
        assert (await store.devices("d/1", "p"))[0]["device_time"] == 200.0
        assert (await store.effects("p", "k1"))["effects"] == 1
        assert Latest(200.0, 1.0, 2.0).device_time == 200.0
    finally:
        await store.close()


def serving_state_flaw(flaw: str) -> contextlib.AbstractContextManager[str]:
    return on_a_thread(flawed_state(flaw))


def test_cli_state_probe_turns_an_http_pass_into_the_failure_it_hides(cli: Callable[..., CliResult]) -> None:
    args = ("check", "--provider", "samsara", "--only", "RPL-06,IDM-02")
    with serving_state_flaw("no_dedupe") as url:
        blind = cli(*args, "--target", url)
    with serving_state_flaw("no_dedupe") as url:  # a fresh receiver: the same seed sends the same events
        probed = cli(*args, "--target", url, "--state-probe", str(REFERENCE_PROBE))
    assert blind.code == 0 and blind.out.count("graded on HTTP only") == 2, blind.out
    assert probed.code == 1 and "FAIL  RPL-06" in probed.out and "FAIL  IDM-02" in probed.out, probed.out
    assert "applied the event 2 times" in probed.out
    # the reproduction keeps the probe: without it, the same command passes on HTTP alone
    repro = [line.split("Reproduce: ", 1)[1] for line in probed.lines if "Reproduce: " in line]
    assert repro and all(f"--state-probe {REFERENCE_PROBE}" in line for line in repro), repro


def test_cli_a_bad_state_probe_file_is_exit_2_before_anything_is_sent(cli: Callable[..., CliResult],
                                                                      tmp_path: Path) -> None:
    result = cli("check", "--provider", "mettax", "--state-probe", str(write(tmp_path, "state: 1\n")))
    assert result.code == 2 and "probe.yaml:1:8: state: expected a mapping with url:" in result.err, result.err


async def _big_state_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An integrator's read API whose answers are long: the state, padded with a large field beside it."""
    if scope["type"] != "http":
        return
    size = int(scope["path"].rsplit("/", 1)[-1])
    body = b'{"state": {"ignition": "on"}, "pad": "' + b"x" * size + b'"}'
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("size", [100_000, 9 * 1024 * 1024])
async def test_state_readings_in_process_take_whole_answers_up_to_their_own_cap(tmp_path: Path, size: int) -> None:
    # under --app the readings go through the delivery Sender, which keeps only the start of a delivery's answer;
    # a reading must see the whole document (else a long but valid answer reads as bad JSON), up to ANSWER_CAP
    from conformance.inprocess import serve_app
    from conformance.state import ANSWER_CAP

    path = write(tmp_path, f"state: {{url: '{{base}}/s/{size}', path: state}}\n")
    async with serve_app(_big_state_app) as app, app.sender(1, True) as sender:
        probe = FileStateProbe(load_state_probe(path)).through(sender)
        if size <= ANSWER_CAP:
            assert await probe.state("http://app", "mettax", "d/1") == {"ignition": "on"}
        else:
            with pytest.raises(ReadError, match="answered more than 8 MiB"):
                await probe.state("http://app", "mettax", "d/1")
