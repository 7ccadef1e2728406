"""The optional mypyc build of the typed generation path (world, core, the renderers, the stream), kept outside
the source tree and used only when asked.

    make compiled                                  # python -m simulator.compiled build/compiled
    FLEETSIM_COMPILED=build/compiled fleetsim generate --scenario scenarios/bench-mixed.yaml > /dev/null

The build compiles the modules of `MODULES` with mypyc into DIR (C sources, objects and the extension modules;
build/ is git-ignored) and writes DIR/manifest.json: each module's extension file and the sha256 of the source it
was built from. Nothing is written next to the sources, so importing `simulator` without the variable — the test
suite, `make test` — always runs the interpreted modules, and a machine without a C compiler loses nothing.

With `FLEETSIM_COMPILED=DIR` set, the `fleetsim` command (simulator/cli's main, before a command imports the world)
calls `activate(DIR)`, which puts an import finder first on sys.meta_path for exactly the manifest's modules (the
pure core itself never reads the environment). A module whose source changed since the build is left interpreted
(with one warning line): a stale extension never runs in place of newer code. The generation workers of
`generate --workers` and `run` (simulator/stream_workers.py, fresh interpreters that inherit the environment) call
`activate_from_environment` before they import the world, so they run the compiled modules too.

Same seed, same bytes: the compiled modules run the same code, so the output must be byte-identical
(`python -m simulator.benchmarks.identity` compares; tests/simulator/test_compiled.py builds one small module;
`make bench` compares the whole build's output before it measures it).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ENV = "FLEETSIM_COMPILED"
DEFAULT_DIR = Path("build") / "compiled"
GROUP = "fleetsim_compiled"  # mypyc's shared library: GROUP__mypyc, one top-level extension for all modules
MANIFEST = "manifest.json"
_PACKAGE_DIR = Path(__file__).resolve().parent

#: what the build compiles: every module a generated record passes through (the world, core, the providers'
#: renderers, mettax's serializer, the stream). Not compiled: core/javadouble.py (a float subclass, which mypyc
#: cannot make a native class), the package __init__ files (nothing runs in them), stream_workers.py (run as
#: __main__ in the workers; see docs/compiled-build.md for the measurements and what else is left out).
MODULES: tuple[str, ...] = (
    "simulator.world.events", "simulator.world.fleet", "simulator.world.geo", "simulator.world.motion",
    "simulator.world.places", "simulator.world.profiles", "simulator.world.roads", "simulator.world.sim",
    "simulator.world.vehicle",
    "simulator.core.ids", "simulator.core.javajson", "simulator.core.pools", "simulator.core.rounding",
    "simulator.render.base",
    "simulator.providers.powunity.traccar", "simulator.providers.powunity.render",
    "simulator.providers.mettax.render", "simulator.providers.mettax.provider",
    "simulator.providers.samsara.render", "simulator.providers.smartgps.render",
    "simulator.providers.standard_webhooks.render",
    "simulator.stream",
)


class CompileError(Exception):
    """The build could not run (no mypyc, no C compiler, a module mypyc rejects); the message says which."""


def source_path(module: str) -> Path:
    """simulator.world.geo -> .../simulator/world/geo.py"""
    parts = module.split(".")
    if parts[0] != "simulator":
        raise ValueError(f"{module} is not a simulator module")
    return _PACKAGE_DIR.joinpath(*parts[1:]).with_suffix(".py")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- using a build ------------------------------------------------------------------------------------------------


class _CompiledFinder(importlib.abc.MetaPathFinder):
    """Finds the build's extension modules, by exact name, ahead of the interpreted sources."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        return importlib.util.spec_from_file_location(fullname, file)


def activate(directory: str | Path) -> list[str]:
    """Use the build in `directory` for this process: the modules whose extension matches today's source.
    Returns their names. A missing or unreadable build, or a stale module, is one warning line on stderr and the
    interpreted module runs instead — never an error: the build is only ever a faster copy of the same code."""
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        modules: dict[str, dict[str, str]] = manifest["modules"]
        shared = root / manifest["shared"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _warn(f"{ENV}={directory}: no usable build there ({type(exc).__name__}); run `make compiled` "
              "(using the interpreted modules)")
        return []
    if manifest.get("python") != sys.implementation.cache_tag:
        _warn(f"{ENV}={directory}: built for {manifest.get('python')}, this is {sys.implementation.cache_tag} "
              "(using the interpreted modules)")
        return []
    files: dict[str, Path] = {}
    stale = []
    for name, entry in modules.items():
        source = source_path(name)
        if not source.exists() or _digest(source) != entry["source_sha256"]:
            stale.append(name)
            continue
        files[name] = root / entry["extension"]
    loaded = sorted(name for name in files if name in sys.modules)
    if loaded:  # imported before activation: this process keeps the interpreted module
        _warn(f"{ENV}={directory}: already imported, interpreted: {', '.join(loaded)}")
        for name in loaded:
            del files[name]
    if stale:
        _warn(f"{ENV}={directory}: source changed since the build, interpreted instead: {', '.join(sorted(stale))} "
              "(run `make compiled` again)")
    if files:
        files[shared.name.split(".")[0]] = shared
        sys.meta_path.insert(0, _CompiledFinder(files))
    return sorted(name for name in files if name.startswith("simulator."))


def activate_from_environment() -> list[str]:
    """`activate($FLEETSIM_COMPILED)` when the variable is set (the edges call this: simulator/cli's main before any
    command imports the world; the pure core never reads the environment)."""
    directory = os.environ.get(ENV)
    return activate(directory) if directory else []


def compiled_modules() -> list[str]:
    """The simulator modules this process runs compiled (a mypyc extension, not a .py file)."""
    return sorted(name for name, module in sys.modules.items()
                  if name.startswith("simulator.") and str(getattr(module, "__file__", "")).endswith(
                      tuple(importlib.machinery.EXTENSION_SUFFIXES)))


def _warn(line: str) -> None:
    print(f"fleetsim: warning: {line}", file=sys.stderr)


# -- building -------------------------------------------------------------------------------------------------------


def build(directory: str | Path = DEFAULT_DIR, modules: Sequence[str] = MODULES, *, quiet: bool = True,
          opt_level: str = "3") -> Path:
    """Compile `modules` with mypyc into `directory` (replacing an earlier build there); returns the manifest's
    path. Raises CompileError with the reason when mypyc, setuptools or the C compiler fail. `opt_level` is the C
    compiler's (the test builds at "0": the same code, compiled sooner)."""
    root = Path(directory).resolve()
    try:
        from mypyc.build import mypycify

        # imported by name: setuptools releases differ in shipping type information
        setuptools = importlib.import_module("setuptools")
        build_ext = importlib.import_module("setuptools.command.build_ext").build_ext
    except ImportError as exc:
        raise CompileError(f"the compiled build needs mypy (with mypyc) and setuptools: {exc}") from exc
    repo = _PACKAGE_DIR.parent
    if not (repo / "pyproject.toml").is_file():  # mypyc type-checks with the project's mypy settings
        raise CompileError(f"the compiled build runs from a source checkout: no pyproject.toml in {repo}")
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).unlink(missing_ok=True)  # a half-done build is never taken for a good one
    sources = {name: source_path(name) for name in modules}
    # digests taken before compiling: a source edited during the build must count as changed since it
    digests = {name: _digest(path) for name, path in sources.items()}
    # mypyc names modules from the paths it is given, relative to the working directory: run it from the repository
    relative = [str(path.relative_to(repo)) for path in sources.values()]
    saved_cwd = Path.cwd()
    import contextlib
    import io

    log = io.StringIO()
    try:
        os.chdir(repo)
        with contextlib.redirect_stdout(log) if quiet else contextlib.nullcontext():
            extensions = mypycify(relative, opt_level=opt_level, target_dir=str(root / "c"), group_name=GROUP)
            dist = setuptools.Distribution({"name": GROUP, "ext_modules": extensions})
            command = build_ext(dist)
            command.build_lib = str(root)
            command.build_temp = str(root / "objects")
            command.ensure_finalized()
            command.run()
    except SystemExit as exc:  # mypyc reports type errors by exiting
        raise CompileError(f"mypyc rejected the modules: {log.getvalue().strip()[-2000:]}") from exc
    except Exception as exc:  # setuptools' compiler errors (CompileError, LinkError, ...) share no base class
        raise CompileError(f"building the extensions failed: {type(exc).__name__}: {exc}") from exc
    finally:
        os.chdir(saved_cwd)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    entries = {}
    for name in sources:
        extension = Path(*name.split(".")).with_suffix(suffix)
        if not (root / extension).exists():
            raise CompileError(f"the build made no {extension}")
        entries[name] = {"extension": str(extension), "source_sha256": digests[name]}
    shared = Path(f"{GROUP}__mypyc{suffix}")
    if not (root / shared).exists():
        raise CompileError(f"the build made no {shared}")
    manifest = root / MANIFEST
    manifest.write_text(json.dumps({"python": sys.implementation.cache_tag, "shared": str(shared),
                                    "modules": entries}, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulator.compiled",
                                     description="Build the optional mypyc-compiled modules outside the source tree.")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR,
                        help=f"where the build goes (default {DEFAULT_DIR})")
    parser.add_argument("--module", action="append", dest="modules", metavar="NAME", choices=MODULES,
                        help="compile only this module (repeatable; default all of MODULES)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.directory, args.modules or MODULES, quiet=False)
    except CompileError as exc:
        print(f"fleetsim compiled build: {exc}", file=sys.stderr)
        return 2
    print(f"built {len(args.modules or MODULES)} modules into {args.directory}; use them with "
          f"{ENV}={args.directory}")
    print(f"manifest: {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
