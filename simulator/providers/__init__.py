"""Providers: one package per platform (simulator/providers/<name>/), registered in PROVIDERS on import.

The served APIs (simulator/apis/) register in APIS. See docs/adding-a-provider.md.
"""

from .. import apis  # noqa: F401  (registration side effect)
from . import mettax, powunity, samsara, smartgps  # noqa: F401  (registration side effect)
from .base import AuthFacts, DeliveryDefaults, Envelope, KindSpec, Provider, SchemaFamily
from .registry import APIS, PROVIDERS, get_provider, register, register_api, schema_family

__all__ = ["APIS", "PROVIDERS", "AuthFacts", "DeliveryDefaults", "Envelope", "KindSpec", "Provider",
           "SchemaFamily", "get_provider", "register", "register_api", "schema_family"]
