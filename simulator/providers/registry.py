"""PROVIDERS (platforms that push webhooks) and APIS (APIs fleetsim serves), filled by decorators as modules
import. `schema_family` finds either, for the commands that only need schemas (`generate`, `schemas`).

Both registries import their modules on first use: asking for one provider by name imports that provider's
package alone (`fleetsim sign samsara` has no use for the MettaX or PowUnity renderers, and importing every
provider was about a tenth of its start-up); listing or counting imports them all. Adding a provider still
edits no shared module: its package under simulator/providers/ is found by name, or by the full import.
"""

from __future__ import annotations

import _thread  # threading's own lock, without importing threading into every command's start-up
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from ..errors import UnknownNameError
from .base import Provider, SchemaFamily

V = TypeVar("V", bound=SchemaFamily)


class Registry(Mapping[str, V]):
    """name -> the one registered instance. A name not yet registered imports `{package}.{name}` (the
    convention) and, if that does not register it, everything `import_all` imports, so a name is never
    missing for lack of an import; iterating imports everything first, and goes by name. Registered names are Python
    identifiers (they name packages), so anything else (`hmac-sha256`, a signing profile) is unknown at once."""

    def __init__(self, package: str, import_all: Callable[[], None]) -> None:
        self._package = package
        self._import_all = import_all
        self._all_imported = self._importing_all = False
        self._lock = _thread.RLock()
        self.registered: dict[str, V] = {}  # what has registered so far; imports nothing

    def __getitem__(self, name: str) -> V:
        try:
            return self.registered[name]
        except KeyError:
            pass
        if not self._all_imported and name.isidentifier():
            self._import_named(name)
            if name not in self.registered:
                self.import_all()
        return self.registered[name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        # by name, whatever was asked for first: the order in which modules registered depends on that, and
        # what iterates (listings, `--provider all`, a scenario's providers) must not
        self.import_all()
        return iter(sorted(self.registered))

    def __len__(self) -> int:
        self.import_all()
        return len(self.registered)

    def import_all(self) -> None:
        if self._all_imported:
            return
        # another thread (check's fuzz thread, a to_thread call) waits until the import is whole; this thread may
        # come back while a module it is importing asks for a name, and gets what has registered so far
        with self._lock:
            if self._all_imported or self._importing_all:
                return
            self._importing_all = True
            try:
                self._import_all()
            finally:
                self._importing_all = False
            self._all_imported = True  # only once it worked: a failed import is raised again, never hidden

    def _import_named(self, name: str) -> None:
        module = f"{self._package}.{name}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # not there: not a name of this convention. Anything else missing (an import of the provider's own
            # package) is a broken install, raised as it is
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                raise


def _import_providers() -> None:
    import pkgutil

    from . import __path__ as providers_path

    # every subpackage is a provider: importing it registers it
    for module in pkgutil.iter_modules(providers_path):
        if module.ispkg:
            importlib.import_module(f"{__package__}.{module.name}")


def _import_apis() -> None:
    importlib.import_module("simulator.apis")


PROVIDERS: Registry[Provider] = Registry(__package__ or "simulator.providers", _import_providers)
APIS: Registry[SchemaFamily] = Registry("simulator.apis", _import_apis)

P = TypeVar("P", bound=Provider)
S = TypeVar("S", bound=SchemaFamily)


def register(cls: type[P]) -> type[P]:
    """Register a webhook provider (one instance per class)."""
    _check_name(cls.name, "provider")
    PROVIDERS.registered[cls.name] = cls()
    return cls


def register_api(cls: type[S]) -> type[S]:
    """Register an API fleetsim serves (its response bodies have schemas; it pushes nothing)."""
    _check_name(cls.name, "API")
    APIS.registered[cls.name] = cls()
    return cls


def _check_name(name: str, what: str) -> None:
    if not name.isidentifier():
        raise ValueError(f"{what} name {name!r} is not a Python identifier (it names the {what}'s package)")
    # only what has registered so far: asking the registries would import modules in the middle of an import
    # (tests/simulator/providers/test_registry.py loads everything and checks the names are disjoint)
    if name in PROVIDERS.registered or name in APIS.registered:
        raise ValueError(f"{what} {name!r} is registered twice")


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise UnknownNameError("provider", name, PROVIDERS) from None


def schema_family(name: str) -> SchemaFamily:
    """A provider or a served API by name: whatever has schemas to generate and validate."""
    family = PROVIDERS.get(name) or APIS.get(name)
    if family is None:
        raise UnknownNameError("provider or API", name, [*PROVIDERS, *APIS])
    return family
