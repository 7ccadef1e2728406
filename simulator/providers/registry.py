"""PROVIDERS (platforms that push webhooks) and APIS (APIs fleetsim serves), filled by decorators as modules
import. `schema_family` finds either, for the commands that only need schemas (`generate`, `schemas`)."""

from __future__ import annotations

from typing import TypeVar

from ..errors import UnknownNameError
from .base import Provider, SchemaFamily

PROVIDERS: dict[str, Provider] = {}
APIS: dict[str, SchemaFamily] = {}

P = TypeVar("P", bound=Provider)
S = TypeVar("S", bound=SchemaFamily)


def register(cls: type[P]) -> type[P]:
    """Register a webhook provider (one instance per class)."""
    if cls.name in PROVIDERS or cls.name in APIS:
        raise ValueError(f"provider {cls.name!r} is registered twice")
    PROVIDERS[cls.name] = cls()
    return cls


def register_api(cls: type[S]) -> type[S]:
    """Register an API fleetsim serves (its response bodies have schemas; it pushes nothing)."""
    if cls.name in PROVIDERS or cls.name in APIS:
        raise ValueError(f"API {cls.name!r} is registered twice")
    APIS[cls.name] = cls()
    return cls


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
