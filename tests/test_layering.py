"""House rules that keep the layers apart, checked mechanically on the real import graph.

Every module file under simulator/ is found by walking the tree (a new simulator/providers/<name>/ package is
checked the day it appears) and read with the AST: absolute, relative and importlib imports, resolved to module
names. Then:

- the pure core (PURE_PACKAGES, PURE_MODULES) and every simulator module it reaches touch no socket, no event
  loop, no clock and no global random state, and reach no edge module (EDGE_MODULES: CLI, transports,
  servers, benchmarks);
- simulator never imports conformance or loadtests, and nothing under simulator or conformance imports locust
  or gevent;
- in a fresh interpreter, importing every simulator module loads neither locust nor gevent, and importing the
  pure core loads no aiohttp, asyncio or edge module.

The checker is itself tested on small sources that break each rule (test_the_checker_*).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "simulator"
PURE_PACKAGES = ("core", "schemagen", "signing", "providers", "world", "render")
PURE_MODULES = ("generation.py", "stream.py", "validation.py", "strictjson.py")
#: the edges: network, processes, terminals. The pure core never reaches them (whatever else it reaches, e.g.
#: simulator.errors or simulator.scenario.model, is held to the same rules as the core itself)
EDGE_MODULES = ("simulator.cli", "simulator.delivery", "simulator.servers", "simulator.benchmarks",
                "simulator.__main__")

#: modules the pure core must not import (a name or any of its submodules)
IMPURE_IMPORTS = ("socket", "ssl", "selectors", "asyncio", "aiohttp", "uvloop", "http", "urllib.request",
                  "requests", "uuid", "secrets", "os", "subprocess", "threading", "multiprocessing", "concurrent",
                  "signal", "sqlite3", "locust", "gevent")
#: reading the clock (or waiting on it), wherever it is referenced: called, passed or stored
CLOCK_READS = frozenset({
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter", "time.perf_counter_ns",
    "time.process_time", "time.process_time_ns", "time.thread_time", "time.thread_time_ns", "time.clock_gettime",
    "time.clock_gettime_ns", "time.sleep", "datetime.datetime.now", "datetime.datetime.utcnow",
    "datetime.datetime.today", "datetime.date.today",
})
#: time functions that read the clock only when called without the time to convert: (name, arguments needed)
CLOCK_BY_DEFAULT = {"time.gmtime": 1, "time.localtime": 1, "time.ctime": 1, "time.asctime": 1, "time.strftime": 2}
#: from the random module only seeded generators may be used; everything else shares global state
RANDOM_ALLOWED = frozenset({"random.Random"})
NEVER_FROM_SIMULATOR = ("conformance", "loadtests")
LOAD_TEST_ONLY = ("locust", "gevent")


# --- reading the import graph --------------------------------------------------------------------------------


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def simulator_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the simulator package, by walking the tree."""
    return {module_name(path, root): path for path in sorted((root / "simulator").rglob("*.py"))
            if "_data" not in path.relative_to(root).parts}


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # absolute module names (and imported objects' dotted names)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> what it is bound to, dotted

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks: imports for the type checker, never executed."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def read_module(name: str, path: Path) -> Module:
    module = Module(name, path, ast.parse(path.read_text(), str(path)))
    type_only = _type_only(module.tree)
    for node in ast.walk(module.tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                module.imports.add(alias.name)
                local = alias.asname or alias.name.partition(".")[0]
                module.aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node.module, node.level)
            module.imports.add(base)
            for alias in node.names:
                if alias.name != "*":
                    # `from . import mettax` imports the module simulator.x.mettax; `from os import path`, os.path
                    module.imports.add(f"{base}.{alias.name}")
                    module.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and (dynamic := _dynamic_import(node)):
            module.imports.add(dynamic)
    module.imports.discard(name)  # `from . import x` in a package names the package itself too
    return module


def _absolute(module: Module, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = module.package.split(".")  # level 1 is the package itself, each further level one up
    return ".".join(parts[: len(parts) - level + 1] + ([name] if name else []))


def _dynamic_import(node: ast.Call) -> str | None:
    """The module named by `importlib.import_module("x")` or `__import__("x")` with a literal name."""
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or \
        (isinstance(func, ast.Name) and func.id in ("__import__", "import_module"))
    if named and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`a.b.c` with `a` replaced by what it was imported as; None unless `a` is an imported name."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(attrs)])


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# --- the rules -----------------------------------------------------------------------------------------------


def purity_violations(module: Module) -> list[str]:
    """What makes `module` impure: sockets and friends, clock reads, the global random generator."""
    where = module.name
    found = [f"{where}: imports {name}" for name in sorted(module.imports) if _within(name, IMPURE_IMPORTS)]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func, module.aliases)
            if name in CLOCK_BY_DEFAULT and len(node.args) + len(node.keywords) < CLOCK_BY_DEFAULT[name]:
                found.append(f"{where}:{node.lineno}: {name}() reads the clock")
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            name = _dotted(node, module.aliases)
            if name is None:
                continue
            if name in CLOCK_READS:
                found.append(f"{where}:{node.lineno}: {name} reads the clock")
            elif name.startswith("random.") and name.count(".") == 1 and name not in RANDOM_ALLOWED:
                found.append(f"{where}:{node.lineno}: {name} uses the global random generator")
        if isinstance(node, ast.ImportFrom) and _absolute(module, node.module, node.level) == "random":
            found += [f"{where}:{node.lineno}: from random import {a.name} (only seeded random.Random instances)"
                      for a in node.names if f"random.{a.name}" not in RANDOM_ALLOWED]
    return sorted(set(found))


def is_pure(name: str) -> bool:
    return _within(name, [f"simulator.{p}" for p in PURE_PACKAGES]) or \
        name in {f"simulator.{m.removesuffix('.py')}" for m in PURE_MODULES}


@pytest.fixture(scope="module")
def graph() -> dict[str, Module]:
    return {name: read_module(name, path) for name, path in simulator_files().items()}


def pure_closure(graph: dict[str, Module]) -> set[str]:
    """The pure modules and every simulator module they import, transitively; importing a module runs its
    parent packages' __init__ too, so those count as imported."""
    reached, todo = set(), [name for name in graph if is_pure(name)]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [dep for dep in [*graph[name].imports, *parents] if dep in graph]
    return reached


def test_the_tree_walk_finds_every_module_including_nested_packages(graph: dict[str, Module]) -> None:
    on_disk = {p for p in SIMULATOR.rglob("*.py") if "_data" not in p.parts}
    assert {m.path for m in graph.values()} == on_disk
    assert {"simulator", "simulator.providers", "simulator.providers.base", "simulator.signing.samsara",
            "simulator.stream"} <= set(graph)


def test_the_pure_core_never_reaches_an_edge_module(graph: dict[str, Module]) -> None:
    closure = pure_closure(graph)
    edges = sorted(f"{name} -> {dep}" for name in closure for dep in graph[name].imports
                   if dep in graph and _within(dep, EDGE_MODULES))
    assert edges == [], "the pure core imports edge modules:\n" + "\n".join(edges)
    assert closure >= {name for name in graph if is_pure(name)}


def test_the_pure_core_touches_no_sockets_clocks_or_global_random(graph: dict[str, Module]) -> None:
    found = [v for name in sorted(pure_closure(graph)) for v in purity_violations(graph[name])]
    assert found == [], "\n".join(found)


def test_simulator_never_imports_conformance_or_loadtests(graph: dict[str, Module]) -> None:
    found = sorted(f"{name} imports {dep}" for name, module in graph.items() for dep in module.imports
                   if _within(dep, NEVER_FROM_SIMULATOR))
    assert found == []


def test_locust_and_gevent_are_imported_only_under_loadtests(graph: dict[str, Module]) -> None:
    modules = list(graph.values())
    modules += [read_module(module_name(p), p) for p in (ROOT / "conformance").rglob("*.py")]
    found = sorted(f"{m.name} imports {dep}" for m in modules for dep in m.imports if _within(dep, LOAD_TEST_ONLY))
    assert found == []


def test_imports_in_a_fresh_interpreter(graph: dict[str, Module]) -> None:
    """What really gets loaded, third-party imports included: the pure core first, then everything."""
    pure = sorted(name for name in graph if is_pure(name))
    everything = sorted(name for name in graph if not name.endswith("__main__"))
    code = (
        "import importlib, json, sys\n"
        f"for name in {pure!r}: importlib.import_module(name)\n"
        "after_pure = sorted(sys.modules)\n"
        f"for name in {everything!r}: importlib.import_module(name)\n"
        "print(json.dumps([after_pure, sorted(sys.modules)]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    after_pure, after_all = json.loads(proc.stdout)
    assert set(everything) <= set(after_all)  # every module was really imported
    assert [m for m in after_all if _within(m, LOAD_TEST_ONLY + NEVER_FROM_SIMULATOR)] == []
    assert [m for m in after_pure if _within(m, ("aiohttp", "asyncio", "uvloop", "locust", "gevent"))] == []
    assert [m for m in after_pure if _within(m, EDGE_MODULES)] == []
    # and nothing the AST did not see: every simulator module loaded is one the pure core reaches
    assert [m for m in after_pure if m.startswith("simulator.") and m not in pure_closure(graph)] == []


# --- the checker catches what it is meant to -----------------------------------------------------------------


def _checked(tmp_path: Path, source: str, rel: str = "simulator/providers/newcomer/engine.py") -> Module:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return read_module(module_name(path, tmp_path), path)


@pytest.mark.parametrize("source", [
    "import socket",
    "import asyncio.events",
    "from aiohttp import web",
    "import urllib.request as fetch",
    "import os.path",
    "from concurrent.futures import ThreadPoolExecutor",
    "import importlib\nsock = importlib.import_module('socket')",
    "import time\nstamp = time.time()",
    "import time as t\nstamp = t.monotonic_ns()",
    "from time import perf_counter\nstart = perf_counter()",
    "from time import perf_counter as clock\nstart = clock()",
    "import time\ndef f(clock=time.time): return clock()",
    "import time\nday = time.strftime('%Y-%m-%d')",
    "import time\nnow = time.gmtime()",
    "from datetime import datetime\nnow = datetime.now()",
    "from datetime import datetime as dt, UTC\nnow = dt.now(UTC)",
    "import datetime\ntoday = datetime.date.today()",
    "from datetime import date\ntoday = date.today()",
    "import random\nx = random.random()",
    "import random\nrandom.seed(1)",
    "import random as r\nx = r.choice([1, 2])",
    "import random\nrng = random.SystemRandom()",
    "from random import shuffle",
    "from random import randint as pick\nx = pick(1, 6)",
])
def test_the_checker_finds_impure_code(tmp_path: Path, source: str) -> None:
    assert purity_violations(_checked(tmp_path, source)) != []


@pytest.mark.parametrize("source", [
    "import random\nrng = random.Random(7)\nx = rng.random()\ndef f(r: random.Random) -> float: return r.random()",
    "from random import Random\nx = Random(3).choice([1, 2])",
    "import time\nday = time.strftime('%Y-%m-%d', time.gmtime(86400))",
    "from datetime import UTC, datetime\nt = datetime.fromtimestamp(0, tz=UTC)",
    "import math, re, orjson\nfrom urllib.parse import urljoin",
    "def time(): return 0\nx = time()",  # a local function that happens to be called time
    "'time.time() and random.choice() in a docstring are not calls'",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import aiohttp",  # for the type checker only
])
def test_the_checker_accepts_pure_code(tmp_path: Path, source: str) -> None:
    assert purity_violations(_checked(tmp_path, source)) == []


def test_type_only_imports_are_no_dependency_but_runtime_ones_are(tmp_path: Path) -> None:
    module = _checked(tmp_path, "import typing\nif typing.TYPE_CHECKING:\n    from ...delivery import runner\n"
                                "else:\n    from ...servers import store")
    assert "simulator.delivery.runner" not in module.imports and "simulator.servers.store" in module.imports


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    engine = _checked(tmp_path, "from ...delivery import transport\nfrom ..base import Provider\nfrom . import x")
    assert engine.name == "simulator.providers.newcomer.engine"
    assert {"simulator.delivery", "simulator.delivery.transport", "simulator.providers.base",
            "simulator.providers.newcomer.x"} <= engine.imports
    package = _checked(tmp_path, "from .. import registry\nfrom .mettax import classify",
                       rel="simulator/providers/newcomer/__init__.py")
    assert package.name == "simulator.providers.newcomer"
    assert {"simulator.providers.registry", "simulator.providers.newcomer.mettax"} <= package.imports


def test_the_graph_rules_see_an_edge_module_reached_through_a_relative_import(tmp_path: Path) -> None:
    (tmp_path / "simulator" / "render" / "newcomer").mkdir(parents=True)
    (tmp_path / "simulator" / "delivery").mkdir(parents=True)
    for init in ("simulator", "simulator/render", "simulator/render/newcomer", "simulator/delivery"):
        (tmp_path / init / "__init__.py").write_text("")
    (tmp_path / "simulator" / "render" / "newcomer" / "fast.py").write_text("from ...delivery import transport\n")
    (tmp_path / "simulator" / "delivery" / "transport.py").write_text("import aiohttp\nimport conformance\n")
    graph = {name: read_module(name, path) for name, path in simulator_files(tmp_path).items()}
    assert "simulator.delivery.transport" in pure_closure(graph)
    assert "simulator.delivery.transport" in graph["simulator.render.newcomer.fast"].imports
    assert purity_violations(graph["simulator.delivery.transport"]) != []


# --- packaging -----------------------------------------------------------------------------------------------


def test_wheel_ships_schemas_and_console_script(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("fleetsim-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "fleetsim = simulator.cli:main" in zf.read(entry_points).decode()
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "schemas").rglob("*.json")}
    shipped |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "scenarios").glob("*.yaml")}
    assert shipped, "no schemas in the tree?"
    for rel in shipped:
        assert f"simulator/_data/{rel}" in names, rel
