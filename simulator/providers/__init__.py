"""Providers: one package per platform (simulator/providers/<name>/), registered in PROVIDERS on import.

The served APIs (simulator/apis/) register in APIS. See docs/adding-a-provider.md.
"""

import importlib
import pkgutil

from .. import apis  # noqa: F401  (registration side effect)
from .base import AuthFacts, DeliveryDefaults, Envelope, KindSpec, Provider, SchemaFamily
from .registry import APIS, PROVIDERS, get_provider, register, register_api, schema_family

# every subpackage is a provider: importing it registers it, so adding a provider edits no shared module
for _module in pkgutil.iter_modules(__path__):
    if _module.ispkg:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["APIS", "PROVIDERS", "AuthFacts", "DeliveryDefaults", "Envelope", "KindSpec", "Provider",
           "SchemaFamily", "get_provider", "register", "register_api", "schema_family"]
