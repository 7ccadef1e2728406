"""Providers: one package per platform (simulator/providers/<name>/), registered in PROVIDERS when imported,
which PROVIDERS does on first use (registry.py).

The served APIs (simulator/apis/) register in APIS the same way. See docs/adding-a-provider.md.
"""

from .base import AuthFacts, DeliveryDefaults, Envelope, KindSpec, Provider, SchemaFamily
from .registry import APIS, PROVIDERS, get_provider, register, register_api, schema_family

__all__ = ["APIS", "PROVIDERS", "AuthFacts", "DeliveryDefaults", "Envelope", "KindSpec", "Provider",
           "SchemaFamily", "get_provider", "register", "register_api", "schema_family"]
