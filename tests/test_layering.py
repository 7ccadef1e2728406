"""House rules that keep the layers apart, checked mechanically."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE_PACKAGES = ("core", "schemagen", "signing", "providers", "world", "render")
PURE_MODULES = ("generation.py", "stream.py", "validation.py", "strictjson.py")


def test_importing_simulator_never_imports_locust_or_gevent() -> None:
    code = (
        "import sys, simulator, simulator.cli, simulator.providers, simulator.signing, simulator.generation;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'));"
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_locust_is_imported_only_under_loadtests() -> None:
    for package in ("simulator", "conformance"):
        for path in (ROOT / package).rglob("*.py"):
            assert not any(n.split(".")[0] in ("locust", "gevent") for n in _imports(path)), path


def _pure_files() -> list[Path]:
    files = [p for sub in PURE_PACKAGES for p in (ROOT / "simulator" / sub).rglob("*.py")]
    return files + [ROOT / "simulator" / name for name in PURE_MODULES]


def test_pure_core_touches_no_sockets_clocks_or_global_random() -> None:
    forbidden_modules = {"socket", "asyncio", "aiohttp", "uuid", "secrets", "os", "subprocess"}
    clock_reads = ("time.time(", "time.monotonic(", "time.perf_counter(", "time.time_ns(", "datetime.now(",
                   "datetime.utcnow(", "date.today(")
    # the module-level random functions share global state; only seeded Random instances are allowed
    global_random = ("random.random(", "random.choice(", "random.randint(", "random.seed(", "random.shuffle(",
                     "random.uniform(", "random.gauss(", "random.getrandbits(")
    for path in _pure_files():
        source = path.read_text()
        assert not (_imports(path) & forbidden_modules), path
        for call in clock_reads + global_random:
            assert call not in source, (path, call)


def test_conformance_does_not_import_upwards() -> None:
    # simulator must never depend on conformance (conformance -> simulator only)
    for path in (ROOT / "simulator").rglob("*.py"):
        assert not any(n.split(".")[0] == "conformance" for n in _imports(path)), path


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
