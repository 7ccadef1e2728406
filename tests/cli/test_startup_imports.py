"""Light commands start light: each runs in a fresh interpreter, and what it imported is compared with what
it has no use for (issue 13 item 3). Start-up time follows from imports; the figures are in `make bench`
(simulator/benchmarks/startup.py), this test keeps the cause from creeping back."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "c2Ftc2FyYS10ZXN0LXNlY3JldC0wMDAx"
BODY = str(ROOT / "docs/examples/samsara-ping.json")

#: what only sending, serving, checking, load or a scenario's world need
ALWAYS_HEAVY = ("aiohttp", "simulator.world", "simulator.delivery", "simulator.servers", "simulator.stream",
                "simulator.scenario.loader", "conformance.cli", "conformance.checks", "conformance.registry",
                "loadtests.cli", "locust", "gevent", "yaml", "hypothesis")
#: only --version asks the installed distribution; plugins are found without it (simulator/cli/plugins.py)
METADATA = ("importlib.metadata", "email")
SCHEMAS = ("jsonschema", "referencing")
FAKER = ("faker",)
#: `sign samsara` and `verify samsara` ask for one provider: the others, the served APIs and the JSON writer
#: are not imported (simulator/providers/registry.py)
ONE_PROVIDER = ("simulator.providers.mettax", "simulator.providers.powunity", "simulator.providers.smartgps",
                "simulator.apis", "orjson", "difflib")

PROBE = """
import json, sys
from simulator.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def imported(tmp_path: Path, *argv: str, codes: tuple[int, ...] = (0,)) -> set[str]:
    found = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(found), *argv], cwd=ROOT, check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = json.loads(found.read_text())
    assert result["code"] in codes, argv
    return set(result["modules"])


def loaded(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy))


SIGN = ("sign", "samsara", "--secret", SECRET, "--timestamp", "1587597109", "--body-file", BODY)
VERIFY = ("verify", "samsara", "--secret", SECRET, "--body-file", BODY, "--now", "1587597109",
          "--header", "X-Samsara-Timestamp: 1587597109",
          "--header", "X-Samsara-Signature: v1=a6c38af554e6b1c6862bdb261707b6e36d60f05ba122fdd4e41dd061ce49671e")

LIGHT = [
    pytest.param(("--help",), ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER, id="help"),
    pytest.param(("--version",), ALWAYS_HEAVY + SCHEMAS + FAKER, id="version"),
    pytest.param(SIGN, ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER + ONE_PROVIDER, id="sign"),
    pytest.param(VERIFY, ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER + ONE_PROVIDER, id="verify"),
    pytest.param(("sign", "hmac-sha256", "--secret", "k", "--timestamp", "1587597109", "--body-file", BODY),
                 ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER + ONE_PROVIDER + ("simulator.providers.samsara",),
                 id="sign-profile"),
    pytest.param(("sign", "--help"), ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER, id="sign-help"),
    pytest.param(("providers",), ALWAYS_HEAVY + METADATA + SCHEMAS + FAKER, id="providers"),
    pytest.param(("schemas", "validate", "samsara", "ping", BODY), ALWAYS_HEAVY + METADATA + FAKER,
                 id="schemas-validate"),
    pytest.param(("generate", "smartgps", "event", "-n", "2"), ALWAYS_HEAVY + METADATA, id="generate"),
]


@pytest.mark.parametrize(("argv", "heavy"), LIGHT)
def test_a_light_command_imports_nothing_it_does_not_use(tmp_path: Path, argv: tuple[str, ...],
                                                         heavy: tuple[str, ...]) -> None:
    # validate exits 1 for an invalid document: what it imported to judge it is the same
    codes = (0, 1) if argv[0] == "schemas" else (0,)
    assert loaded(imported(tmp_path, *argv, codes=codes), heavy) == []


def test_the_probe_sees_what_a_heavy_command_imports(tmp_path: Path) -> None:
    # the other side of the test above: declaring `receiver` loads the server, and `check --help` the checks
    assert "aiohttp" in imported(tmp_path, "receiver", "--help")
    assert {"conformance.cli", "conformance.registry"} <= imported(tmp_path, "check", "--help")


def test_a_lazy_parser_says_what_the_complete_one_says(capsys: pytest.CaptureFixture[str]) -> None:
    # the one-line help of a command not yet declared comes from cli/commands.py (or a plugin's register):
    # it must be the line its own module declares, and each command's own help must not depend on laziness
    from simulator.cli import build_parser

    complete = build_parser()
    assert build_parser(lazy=True).format_help() == complete.format_help()
    sub = next(a for a in complete._actions if isinstance(a, argparse._SubParsersAction))
    for name, declared in sub.choices.items():
        with pytest.raises(SystemExit):
            build_parser(lazy=True).parse_args([name, "--help"])
        assert capsys.readouterr().out == declared.format_help(), name


def test_the_startup_benchmark_reports_medians_of_interleaved_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.benchmarks import startup

    order: list[str] = []
    argvs = {"python -c pass": ["floor"], "help": ["help"], "sign": ["sign"]}
    wall = {"floor": iter([0.5, 0.5, 0.010, 0.030, 0.020]), "help": iter([1, 1, 0.05, 0.09, 0.07]),
            "sign": iter([1, 1, 0.2, 0.1, 0.3])}

    def once(argv: list[str]) -> tuple[float, float]:
        order.append(argv[0])
        return float(next(wall[argv[0]])), 0.001

    monkeypatch.setattr(startup, "console_script", lambda: "fleetsim")
    monkeypatch.setattr(startup, "commands", lambda fleetsim, work: argvs)
    monkeypatch.setattr(startup, "_once", once)
    monkeypatch.setattr(startup, "compile_bytecode", lambda: order.append("compiled"))
    result = startup.measure(runs=3)
    assert order.pop(0) == "compiled"  # fleetsim's bytecode is written before the first timed run
    # two warm-up rounds are dropped; rounds rotate, so no command always runs first
    assert order[:3] == ["floor", "help", "sign"] and order[3:6] == ["help", "sign", "floor"]
    assert result["floor_ms"] == 20.0
    assert result["commands"]["help"] == {"median_ms": 70.0, "min_ms": 50.0, "over_floor_ms": 50.0,
                                          "cpu_median_ms": 1.0, "goal_ms": 100, "meets_goal": True}
    assert result["commands"]["sign"]["median_ms"] == 200.0 and result["commands"]["sign"]["meets_goal"] is False


def test_the_startup_benchmark_times_byte_compiled_modules_as_an_install_has_them() -> None:
    """With PYTHONDONTWRITEBYTECODE set no run writes bytecode, so without this every timed run would compile
    fleetsim's sources again, which no installed fleetsim does."""
    import importlib.util

    from simulator.benchmarks import startup
    from simulator.cli import sign_cmd

    cached = Path(importlib.util.cache_from_source(str(sign_cmd.__file__)))
    cached.unlink(missing_ok=True)
    startup.compile_bytecode()
    assert cached.is_file()
