from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import settings

from simulator.cli import main

# CI gates a merge: there every property test draws the same examples each run (seeded from the test itself), so
# a change fails for what it broke, not for a case a draw happened on that day. Anywhere else draws new ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("FLEETSIM_HYPOTHESIS_PROFILE", "default"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `fleetsim ARGS` in-process; `stdin` bytes are offered on standard input."""

    def run(*args: str, stdin: bytes = b"") -> CliResult:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
