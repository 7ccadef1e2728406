"""Every file in tests/fixtures/scenarios/broken/ must fail with a clear, located message.

Each file starts with comment lines saying what the error must contain:

    # expect: <substring of the message>      (one or more)
    # at: <line>[:<column>]                   (where the first, most relevant problem is reported)
    # absent: <text that must not appear>     (e.g. a secret)
    # max-bytes: <n>                          (load with a smaller size cap)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simulator.errors import EXIT_USAGE, UsageError
from simulator.scenario.loader import ScenarioError, load_scenario
from simulator.scenario.yamlsafe import MAX_BYTES

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "broken"
FILES = sorted(BROKEN.glob("*.yaml"))


@dataclass
class Expectation:
    expect: list[str] = field(default_factory=list)
    at: str | None = None
    absent: list[str] = field(default_factory=list)
    max_bytes: int = MAX_BYTES


def expectation(path: Path) -> Expectation:
    exp = Expectation()
    for raw in path.read_bytes().split(b"\n"):
        line = raw.decode("utf-8", "replace")
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        if key == "expect":
            exp.expect.append(value)
        elif key == "at":
            exp.at = value
        elif key == "absent":
            exp.absent.append(value)
        elif key == "max-bytes":
            exp.max_bytes = int(value)
    return exp


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 25
    for path in FILES:
        assert expectation(path).expect, f"{path.name} says nothing about the error it expects"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_scenario_fails_clearly(path: Path) -> None:
    exp = expectation(path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, env={}, max_bytes=exp.max_bytes)
    err = info.value
    message = str(err)
    assert isinstance(err, UsageError) and err.exit_code == EXIT_USAGE
    assert err.problems and message == "\n".join(err.problems)
    for part in exp.expect:
        assert part in message, f"{part!r} not in:\n{message}"
    if exp.at is not None:
        assert err.problems[0].startswith(f"{path}:{exp.at}:"), f"expected at {exp.at}:\n{message}"
    for problem in err.problems:
        assert problem.startswith(str(path)), problem  # every problem says which file it is about
        assert "Traceback" not in problem
    for secret in exp.absent:
        assert secret not in message
