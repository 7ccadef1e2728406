"""The README is true: the scenarios it lists are the ones shipped, and its sign/verify examples run as shown
from the repository root with the example body that ships with fleetsim."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
WORDS = {"five": 5, "six": 6, "seven": 7, "eight": 8}


def test_the_scenario_table_lists_every_shipped_scenario() -> None:
    shipped = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
    listed = sorted(re.findall(r"^\| `([\w.-]+\.yaml)` \|", README, re.MULTILINE))
    assert listed == shipped
    count = re.search(r"(\w+) are shipped in `scenarios/`", README)
    assert count is not None and WORDS[count.group(1).lower()] == len(shipped)


def _example(prefix: str) -> list[str]:
    """The README's `$ fleetsim ...` command starting with `prefix`, continuation lines joined, as argv."""
    for block in re.findall(r"^\$ (fleetsim .*?)(?<!\\)$", README, re.MULTILINE | re.DOTALL):
        command = block.replace("\\\n", " ")
        if command.startswith(prefix):
            return re.findall(r"'[^']*'|\S+", command)[1:]
    raise AssertionError(f"no README example starts with {prefix!r}")


def _argv(words: list[str]) -> list[str]:
    return [w[1:-1] if w.startswith("'") else w for w in words]


@pytest.fixture
def readme_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    secret = re.search(r"^\$ export SAMSARA_SECRET=(\S+)$", README, re.MULTILINE)
    assert secret is not None
    monkeypatch.setenv("SAMSARA_SECRET", secret.group(1))


def test_the_sign_example_prints_what_the_readme_shows(readme_env: None, cli: Callable[..., CliResult]) -> None:
    result = cli(*_argv(_example("fleetsim sign samsara")))
    assert result.code == 0
    assert result.out in README


def test_the_verify_examples_behave_as_the_readme_shows(readme_env: None, cli: Callable[..., CliResult]) -> None:
    stale = cli(*_argv(_example("fleetsim verify samsara")))
    assert stale.code == 1 and stale.out.startswith("invalid (stale): timestamp is ")
    words = _argv(_example("fleetsim verify samsara"))
    fresh = cli(*words, "--now", "1587597150")
    assert fresh.code == 0 and fresh.out == "valid: signature valid\n"
    assert "--now 1587597150\nvalid: signature valid" in README.replace("\\\n    ", "")


def test_the_python_example_runs(readme_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "Verdict(ok=True" in capsys.readouterr().out
