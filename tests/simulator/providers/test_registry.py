"""PROVIDERS and APIS import their modules on first use (simulator/providers/registry.py): one provider asked
for by name imports that provider alone, anything that lists them imports them all, and no name is ever
missing for lack of an import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from simulator.errors import UnknownNameError
from simulator.providers import APIS, PROVIDERS, get_provider, schema_family
from simulator.providers.base import Provider, SchemaFamily
from simulator.providers.registry import Registry

ROOT = Path(__file__).resolve().parents[3]
ALL_PROVIDERS = {"mettax", "powunity", "samsara", "smartgps", "standard_webhooks"}
ALL_APIS = {"drivers_api", "smartgps_api"}


def _fresh(code: str) -> dict[str, object]:
    """Run `code` in a fresh interpreter; it leaves its answer in `out`, returned with the modules imported."""
    answer = "import json, sys\nprint(json.dumps({'out': out, 'modules': sorted(sys.modules)}))"
    probe = f"{textwrap.dedent(code)}\n{answer}"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=60)
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _providers_imported(modules: object) -> set[str]:
    assert isinstance(modules, list)
    return {m.split(".")[2] for m in modules if m.startswith("simulator.providers.") and m.count(".") >= 2} & (
        ALL_PROVIDERS)


def test_one_provider_by_name_imports_that_provider_alone() -> None:
    found = _fresh("from simulator.providers import PROVIDERS\nout = PROVIDERS['samsara'].signing")
    assert found["out"] == "samsara"
    assert _providers_imported(found["modules"]) == {"samsara"}
    assert "simulator.apis" not in found["modules"]  # type: ignore[operator]


def test_a_name_that_is_no_identifier_is_unknown_without_importing_any_provider() -> None:
    # `fleetsim sign hmac-sha256` asks PROVIDERS first: a signing profile is never a provider's name
    found = _fresh("from simulator.providers import PROVIDERS\nout = ['hmac-sha256' in PROVIDERS, "
                   "'standard-webhooks' in PROVIDERS]")
    assert found["out"] == [False, False]
    assert _providers_imported(found["modules"]) == set()


def test_a_provider_name_must_be_an_identifier() -> None:
    from simulator.providers import register

    class Dashed(Provider):
        name = "acme-fleet"

    with pytest.raises(ValueError, match="'acme-fleet' is not a Python identifier"):
        register(Dashed)
    assert "acme-fleet" not in PROVIDERS.registered


def test_listing_imports_every_provider_and_api() -> None:
    found = _fresh("from simulator.providers import APIS, PROVIDERS\nout = [sorted(PROVIDERS), sorted(APIS)]")
    assert found["out"] == [sorted(ALL_PROVIDERS), sorted(ALL_APIS)]
    assert _providers_imported(found["modules"]) == ALL_PROVIDERS


@pytest.mark.parametrize("name", ["drivers_api", "smartgps_api"])
def test_an_api_is_found_by_name_through_the_full_import(name: str) -> None:
    # the APIs live in one package whose modules are not named after them: the full import finds them
    found = _fresh(f"from simulator.providers import schema_family\nout = schema_family({name!r}).name")
    assert found["out"] == name


def test_the_order_is_by_name_whatever_was_asked_for_first() -> None:
    # modules register in the order they are imported, which depends on which name was asked for first
    found = _fresh("from simulator.providers import APIS, PROVIDERS\nPROVIDERS['smartgps']\nAPIS['smartgps_api']\n"
                   "out = [list(PROVIDERS), list(APIS), [p.name for p in PROVIDERS.values()]]")
    assert found["out"] == [sorted(ALL_PROVIDERS), sorted(ALL_APIS), sorted(ALL_PROVIDERS)]


def test_threads_listing_at_once_each_see_every_provider() -> None:
    # the full import runs once; the other threads wait for it instead of listing what has registered so far
    code = """
import threading
from simulator.providers import PROVIDERS
out = []
threads = [threading.Thread(target=lambda: out.append(list(PROVIDERS))) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
"""
    assert _fresh(code)["out"] == [sorted(ALL_PROVIDERS)] * 8


def test_every_name_is_registered_once_across_both_registries() -> None:
    assert set(PROVIDERS) == ALL_PROVIDERS and set(APIS) == ALL_APIS
    assert not set(PROVIDERS) & set(APIS)
    assert all(isinstance(p, Provider) for p in PROVIDERS.values())
    assert len(PROVIDERS) == len(ALL_PROVIDERS)


@pytest.mark.parametrize("name", ["nosuch", "base", "registry", "standard-webhooks", "../etc", "", "samsara.x"])
def test_an_unknown_name_is_unknown_whatever_it_looks_like(name: str) -> None:
    assert name not in PROVIDERS
    assert PROVIDERS.get(name) is None
    with pytest.raises(UnknownNameError, match="known: mettax, powunity, samsara, smartgps, standard_webhooks"):
        get_provider(name)
    with pytest.raises(UnknownNameError):
        schema_family(name)


def test_a_name_off_the_convention_is_found_by_the_full_import() -> None:
    registry: Registry[SchemaFamily] = Registry("simulator.no_such_package", lambda: None)
    family = SchemaFamily()

    def import_all() -> None:
        registry.registered["odd"] = family

    registry._import_all = import_all
    assert registry["odd"] is family
    assert "other" not in registry and list(registry) == ["odd"]


def test_a_provider_package_that_fails_to_import_is_not_mistaken_for_an_unknown_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fleetsim_test_providers"
    (package / "broken").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "broken" / "__init__.py").write_text("import fleetsim_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def import_all() -> None:
        importlib.import_module("fleetsim_test_providers.broken")

    registry: Registry[SchemaFamily] = Registry("fleetsim_test_providers", import_all)
    with pytest.raises(ModuleNotFoundError, match="fleetsim_no_such_dependency"):
        registry["broken"]
    with pytest.raises(ModuleNotFoundError, match="fleetsim_no_such_dependency"):
        list(registry)  # the full import fails the same way, every time it is asked
    with pytest.raises(ModuleNotFoundError, match="fleetsim_no_such_dependency"):
        assert "absent" in registry
    for module in [m for m in sys.modules if m.startswith("fleetsim_test_providers")]:
        del sys.modules[module]
