"""PROVIDERS: every provider fleetsim speaks, filled by the @register decorator as modules import."""

from __future__ import annotations

from ..errors import UnknownNameError
from .base import Provider

PROVIDERS: dict[str, Provider] = {}


def register(cls: type[Provider]) -> type[Provider]:
    PROVIDERS[cls.name] = cls()
    return cls


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise UnknownNameError("provider", name, PROVIDERS) from None
