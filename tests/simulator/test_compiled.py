"""The optional mypyc build (simulator/compiled.py): used only when asked, never stale, the same bytes.

The suite itself always runs the interpreted modules; one test compiles one small module (simulator.core.ids, whose
draws are in every record's device) when a C compiler is here, and checks the command gives the same bytes with it.
The whole build's identity check runs in `make bench` (a full build takes minutes)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from simulator import compiled
from simulator.resources import scenarios_dir

SIMULATOR = Path(compiled.__file__).resolve().parent


def test_the_suite_runs_the_interpreted_modules() -> None:
    assert compiled.compiled_modules() == []
    assert not any(p.suffix in {".so", ".pyd"} for p in SIMULATOR.rglob("*")), "extension modules in the source tree"


def test_the_build_lists_modules_that_exist_and_every_renderer() -> None:
    """MODULES names source files (the build would fail on one that is gone) and covers the per-record path: the
    renderer of every provider in the shipped scenarios, and the stream that merges and writes their records."""
    import random

    from simulator.providers import PROVIDERS
    from simulator.scenario.loader import load_scenario
    from simulator.world.sim import World

    assert all(compiled.source_path(name).is_file() for name in compiled.MODULES)
    assert "simulator.core.javadouble" not in compiled.MODULES  # a float subclass: mypyc cannot compile it
    assert "simulator.stream" in compiled.MODULES
    renderers = {}
    for path in sorted(scenarios_dir().glob("*.yaml")):
        world = World(load_scenario(path))
        for device in world.devices:
            if device.provider not in renderers:
                settings = world.scenario.delivery.providers.get(device.provider, {})
                renderers[device.provider] = type(PROVIDERS[device.provider].renderer(device, settings,
                                                                                      random.Random(1)))
    assert len(renderers) >= 4
    assert {name: cls.__module__ for name, cls in renderers.items()
            if cls.__module__ not in compiled.MODULES} == {}


def _fake_build(root: Path, module: str, *, digest: str | None = None, python: str | None = None) -> Path:
    entry = {"extension": "x.so", "source_sha256": digest or hashlib.sha256(
        compiled.source_path(module).read_bytes()).hexdigest()}
    root.mkdir(parents=True, exist_ok=True)
    (root / compiled.MANIFEST).write_text(json.dumps({
        "python": python or sys.implementation.cache_tag, "shared": "lib__mypyc.so", "modules": {module: entry}}))
    return root


def test_a_stale_module_stays_interpreted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = list(sys.meta_path)
    assert compiled.activate(_fake_build(tmp_path, "simulator.world.geo", digest="0" * 64)) == []
    assert "source changed since the build, interpreted instead: simulator.world.geo" in capsys.readouterr().err
    assert sys.meta_path == before


def test_a_build_for_another_python_or_no_build_is_refused(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = list(sys.meta_path)
    assert compiled.activate(_fake_build(tmp_path / "a", "simulator.world.geo", python="cpython-27")) == []
    assert "built for cpython-27" in capsys.readouterr().err
    assert compiled.activate(tmp_path / "nothing") == []
    assert "no usable build there" in capsys.readouterr().err
    assert sys.meta_path == before


def test_a_module_imported_before_activation_is_not_swapped(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import simulator.world.geo  # noqa: F401  (imported: too late to take the compiled one)

    before = list(sys.meta_path)
    assert compiled.activate(_fake_build(tmp_path, "simulator.world.geo")) == []
    assert "already imported, interpreted: simulator.world.geo" in capsys.readouterr().err
    assert sys.meta_path == before


def _compiler_missing() -> str | None:
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc is not installed (pip install -e '.[dev]')"
    if not shutil.which(os.environ.get("CC", "cc")):
        return "no C compiler (cc) on PATH"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


_SHOW_COMPILED = ("import atexit, sys; from simulator.compiled import compiled_modules; "
                  "atexit.register(lambda: print('compiled:', *compiled_modules(), file=sys.stderr)); "
                  "from simulator.cli import main; sys.exit(main())")


@pytest.mark.skipif(_compiler_missing() is not None, reason=str(_compiler_missing()))
def test_a_compiled_module_gives_the_same_bytes(tmp_path: Path) -> None:
    compiled.build(tmp_path / "build", ["simulator.core.ids"], opt_level="0")
    assert not any(p.suffix == ".so" for p in SIMULATOR.rglob("*")), "the build wrote into the source tree"
    command = [sys.executable, "-c", _SHOW_COMPILED, "generate", "--scenario", str(scenarios_dir() / "demo-city.yaml"),
               "--limit", "1500"]
    env = {k: v for k, v in os.environ.items() if k != compiled.ENV}
    pure = subprocess.run(command, capture_output=True, env=env, check=True)
    fast = subprocess.run(command, capture_output=True, env={**env, compiled.ENV: str(tmp_path / "build")},
                          check=True)
    assert pure.stderr.decode().split() == ["compiled:"]
    assert fast.stderr.decode().split() == ["compiled:", "simulator.core.ids"]  # and no warning
    assert len(pure.stdout.splitlines()) == 1500
    assert fast.stdout == pure.stdout
