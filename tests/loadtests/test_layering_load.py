"""Locust and gevent stay under loadtests/: importing simulator, conformance, the `fleetsim` command line (which
loads the `load` plugin) and loadtests' own plain modules never loads them; only loadtests/locustfile.py may
import them, and the benchmark's baseline loadtests/bench_locustfile.py and the socket user
loadtests/socket_locustfile.py (checked on their imports, read with the AST)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GEVENT_FAMILY = ("locust", "gevent", "geventhttpclient", "zmq")


def _loaded_after(code: str) -> list[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    modules: list[str] = json.loads(out.stdout.splitlines()[-1])
    return [m for m in modules if m.split(".")[0] in GEVENT_FAMILY]


def test_simulator_and_conformance_never_import_locust_or_gevent() -> None:
    assert _loaded_after("import simulator, conformance, conformance.cli, conformance.run") == []


def test_the_fleetsim_command_line_with_its_load_plugin_imports_neither() -> None:
    code = "from simulator.cli import build_parser\nbuild_parser()\nimport loadtests.cli"
    assert _loaded_after(code) == []


def test_loadtests_plain_modules_import_neither() -> None:
    assert _loaded_after("import loadtests.pools, loadtests.shapes, loadtests.records, loadtests.summary, "
                         "loadtests.serve, loadtests.cli") == []


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_locustfiles_import_locust() -> None:
    locustfiles = {ROOT / "loadtests" / "locustfile.py", ROOT / "loadtests" / "bench_locustfile.py",
                   ROOT / "loadtests" / "bench_meter.py",
                   ROOT / "loadtests" / "socket_locustfile.py"}
    offenders = [str(p.relative_to(ROOT)) for top in ("simulator", "conformance", "loadtests")
                 for p in sorted((ROOT / top).rglob("*.py"))
                 if _imports(p) & set(GEVENT_FAMILY) and p not in locustfiles]
    assert offenders == []
    assert "locust" in _imports(ROOT / "loadtests" / "locustfile.py")  # the checker sees real imports
