"""`generate --scenario --workers N`: N processes give the same bytes as one, and stop with their parent."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Callable
from itertools import islice

import pytest

from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario
from simulator.stream import scenario_stream
from simulator.stream_workers import WorkerError, ndjson_lines, record_line
from tests.conftest import CliResult

DEMO = scenarios_dir() / "demo-city.yaml"


def _one_process(providers: set[str] | None = None) -> list[bytes]:
    return [record_line(r) for r in scenario_stream(load_scenario(DEMO), providers=providers)]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_give_the_bytes_of_one_process(workers: int) -> None:
    expected = _one_process()
    assert {b'"kind":"socket_frame"' in line for line in expected} == {True, False}  # frames and webhooks
    assert list(ndjson_lines(load_scenario(DEMO), workers)) == expected


def test_workers_keep_the_numbering_of_filtered_messages() -> None:
    expected = _one_process({"samsara"})
    got = list(ndjson_lines(load_scenario(DEMO), 2, providers={"samsara"}))
    assert got == expected and len(got) > 10
    assert b'"seq":1,' not in got[0]  # the other providers' messages kept their numbers


def test_stopping_early_stops_the_workers() -> None:
    lines = ndjson_lines(load_scenario(DEMO), 2)
    assert len(list(islice(lines, 20))) == 20
    assert len(multiprocessing.active_children()) == 2
    lines.close()
    assert multiprocessing.active_children() == []


def test_a_failing_worker_is_one_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ValueError("no world today")

    monkeypatch.setattr("simulator.stream_workers.World", broken)  # the forked workers inherit it
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("the patch reaches the workers only when they are forked")
    with pytest.raises(WorkerError, match="worker 1 failed: ValueError: no world today"):
        list(ndjson_lines(load_scenario(DEMO), 2))
    assert multiprocessing.active_children() == []


def test_generate_workers_option(cli: Callable[..., CliResult]) -> None:
    one = cli("generate", "--scenario", str(DEMO), "--limit", "300")
    two = cli("generate", "--scenario", str(DEMO), "--limit", "300", "--workers", "2")
    assert one.code == two.code == 0 and len(two.lines) == 300 and two.out == one.out
    alone = cli("generate", "mettax", "gps", "--workers", "2")
    assert alone.code == 2 and "--workers applies to --scenario" in alone.err
    zero = cli("generate", "--scenario", str(DEMO), "--workers", "0")
    assert zero.code == 2 and "Traceback" not in zero.err


def test_stopping_early_stops_the_workers_under_an_event_loops_signal_handling() -> None:
    # an asyncio loop in the parent (a command's, or an earlier test's in the same process) turns SIGTERM into a
    # byte on its wakeup fd; forked workers inherit that, and the read ends of the workers forked before them:
    # stopped early they blocked in send and ignored terminate(), and the parent waited forever
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: None)
    try:
        lines = ndjson_lines(load_scenario(DEMO), 3)
        assert len(list(islice(lines, 20))) == 20
        lines.close()
        assert multiprocessing.active_children() == []
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.close()
