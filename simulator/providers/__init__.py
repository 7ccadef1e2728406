"""Provider registry: importing this package registers every provider."""

from . import drivers_api, mettax, powunity, samsara, smartgps  # noqa: F401  (registration side effect)
from .base import DeliveryDefaults, Envelope, KindSpec, Provider
from .registry import PROVIDERS, get_provider, register

__all__ = ["PROVIDERS", "DeliveryDefaults", "Envelope", "KindSpec", "Provider", "get_provider", "register"]
