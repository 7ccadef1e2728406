"""A scenario argument may name a shipped scenario: an installed fleetsim has no scenarios/ folder beside its
user, and the README's commands (`scenarios/demo-city.yaml`) must work from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import ScenarioError
from simulator.resources import scenarios_dir
from simulator.scenario.loader import load_scenario, shipped_scenario

SHIPPED = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here
    return tmp_path


@pytest.mark.parametrize("given", ["demo-city", "demo-city.yaml", "scenarios/demo-city.yaml"])
def test_a_shipped_name_or_the_readme_path_loads_the_shipped_file(given: str) -> None:
    assert shipped_scenario(given) == scenarios_dir() / "demo-city.yaml"
    assert load_scenario(given).name == "demo-city"


def test_a_file_that_is_there_wins_over_a_shipped_name(elsewhere: Path) -> None:
    (elsewhere / "demo-city.yaml").write_text((scenarios_dir() / "bench-mixed.yaml").read_text())
    assert load_scenario("demo-city.yaml").name == "bench-mixed"
    assert load_scenario("demo-city").name == "demo-city"  # no file called plain demo-city here


def test_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("demo-ctiy")
    message = str(caught.value)
    assert message.startswith("demo-ctiy: no such scenario file; did you mean demo-city? (give a path")
    assert all(name in message for name in SHIPPED) and len(SHIPPED) >= 6
    with pytest.raises(ScenarioError) as far:
        load_scenario("rush-hour")
    assert "did you mean" not in str(far.value)  # nothing close: no guess


@pytest.mark.parametrize("given", ["/nonexistent/demo-city.yaml", "other/demo-city.yaml", "../demo-city.yaml"])
def test_other_missing_paths_are_not_guessed(given: str) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario file: No such file"):
        load_scenario(given)
