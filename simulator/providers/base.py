"""What a provider is to fleetsim: its message kinds and schemas, how a payload becomes the exact bytes and
headers on the wire (the envelope), which signing profile authenticates it, and how it delivers.

Providers are pure: envelopes take the message id and settings as arguments and never read clocks.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from ..errors import UnknownNameError


@dataclass(frozen=True)
class KindSpec:
    name: str
    schema: str  # path under schemas/, e.g. "mettax/gps.schema.json"
    summary: str
    #: how the message travels: "webhook" (signed HTTP POST), "websocket" (frame on a session-cookie socket)
    #: or "api" (a response body fleetsim serves)
    channel: str = "webhook"


@dataclass(frozen=True)
class DeliveryDefaults:
    """How the real platform delivers: what it counts as success and whether it re-sends."""

    success_statuses: frozenset[int] | None  # None: any 2xx
    retries: str  # "exponential until 2xx", "none", "configurable"
    timeout_s: float

    def is_success(self, status: int) -> bool:
        if self.success_statuses is None:
            return 200 <= status < 300
        return status in self.success_statuses

    def describe_success(self) -> str:
        if self.success_statuses is None:
            return "2xx"
        return "/".join(str(s) for s in sorted(self.success_statuses))


@dataclass(frozen=True)
class Envelope:
    """The exact request body and the provider's non-signature headers."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Provider:
    """Base class; each provider module subclasses it and registers one instance."""

    name: ClassVar[str]
    title: ClassVar[str]
    transport: ClassVar[str]
    signing: ClassVar[str]  # a signing profile name in simulator.signing.SIGNERS
    kinds: ClassVar[dict[str, KindSpec]]
    #: schemas that are not message kinds but can be validated and generated (e.g. the MettaX envelope)
    extra_schemas: ClassVar[dict[str, KindSpec]] = {}
    delivery: ClassVar[DeliveryDefaults]
    content_type: ClassVar[str] = "application/json"

    def all_schemas(self) -> dict[str, KindSpec]:
        return {**self.kinds, **self.extra_schemas}

    def spec(self, kind: str) -> KindSpec:
        specs = self.all_schemas()
        if kind not in specs:
            raise UnknownNameError(f"{self.name} kind", kind, specs)
        return specs[kind]

    def serialize(self, payload: Any) -> bytes:
        """The payload as the provider writes JSON (compact, insertion order)."""
        return orjson.dumps(payload)

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        """Make a schema-generated document internally coherent (ids that must match, times in order)."""
        return payload

    def envelope(self, kind: str, payload: Any, *, message_id: str, settings: Mapping[str, Any]) -> Envelope:
        return Envelope(self.serialize(payload), {"Content-Type": self.content_type})

    def credential_headers(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Static credential headers the envelope adds from settings (not signatures): what `fleetsim replay
        --resign` restores when a capture has them redacted. Signed schemes recompute theirs in the signer."""
        return {}
