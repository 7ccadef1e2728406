"""What a provider is to fleetsim: its message kinds and schemas, how a payload becomes the exact bytes and
headers on the wire (the envelope), which signing profile authenticates it, and how it delivers.

Providers are pure: envelopes take the message id and settings as arguments and never read clocks.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import UnknownNameError
from ..schemastore import SchemaError


def _import_dumps(payload: Any) -> bytes:
    """orjson.dumps, imported on the first call and bound as `_dumps` from then on: `fleetsim sign` and
    `verify` import this module and never serialize (orjson's import was ~5 % of their start-up), while
    generation serializes per record, where an import statement in the call would cost ~0.1 us each time."""
    global _dumps
    from orjson import dumps

    _dumps = dumps
    return dumps(payload)


_dumps: Callable[[Any], bytes] = _import_dumps


if TYPE_CHECKING:
    from ..render.base import Renderer
    from ..world.fleet import Device
    from .receiving import Adapter


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


@dataclass(slots=True)
class Envelope:
    """The exact request body and the provider's non-signature headers.

    Made once per webhook (MettaX's, a quarter of bench-mixed's records): a plain slots dataclass, whose
    generated __init__ stores its two fields directly; a frozen one stores them with object.__setattr__, which
    took 4.4k instructions an envelope against 1.7k. Nothing changes an envelope once made."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class SchemaFamily:
    """A named set of JSON Schemas fleetsim can validate and generate: what every provider and every served API
    has in common. `generate` and `schemas validate` ask this much and no more."""

    name: ClassVar[str]
    title: ClassVar[str]
    transport: ClassVar[str]
    kinds: ClassVar[dict[str, KindSpec]]
    #: schemas that are not message kinds but can be validated and generated (e.g. the MettaX envelope)
    extra_schemas: ClassVar[dict[str, KindSpec]] = {}
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
        return _dumps(payload)

    def finish(self, kind: str, payload: Any, rng: random.Random) -> Any:
        """Make a schema-generated document internally coherent (ids that must match, times in order)."""
        return payload

    def inner_errors(self, kind: str, document: Any, *, documented: bool = False) -> list[SchemaError]:
        """What the schema alone cannot see in a schema-valid document (e.g. the MettaX envelope's `data`
        string must itself hold a valid message), by the whole schemas or, with `documented`, by what the vendor
        states (schemastore). `schemas validate` and the receiver both ask this."""
        return []


class Provider(SchemaFamily):
    """A platform that pushes traffic to the user's receiver: one package under simulator/providers/<name>/.

    Everything fleetsim knows about the platform is here or reachable from here, so the stream, the delivery
    engine, faults, the reference receiver and the CLI ask the provider and never branch on its name
    (docs/adding-a-provider.md):

    - kinds and schemas, serialization (`SchemaFamily`);
    - the wire: `envelope` (body bytes and non-signature headers), `signing` (a profile in SIGNERS), and the
      static credential headers a setting adds (`credential_headers`);
    - traffic from the world: `renderer` (world events in, messages out, per device);
    - delivery semantics: `delivery` (success statuses, timeout) and `retry_default` (a RETRY_POLICIES name and
      why);
    - how a receiver reads it: `adapter` (decode, classify, event key, device position) — the reference receiver
      uses it, and so can checks;
    - what its authentication can prove (`auth`, from the signer): a signed timestamp or not, the body covered
      or not.
    """

    signing: ClassVar[str]  # a signing profile name in simulator.signing.SIGNERS
    delivery: ClassVar[DeliveryDefaults]
    #: (retry policy name in RETRY_POLICIES, why): what the real platform does when a delivery fails
    retry_default: ClassVar[tuple[str, str]] = ("none", "no retries documented")
    #: who states a replay window for the provider's signed timestamp (RPL-01/02), or None where the vendor states
    #: none and the 5 minutes judged are the catalogue's rule (Samsara: docs/provider-facts.md §3.2)
    replay_window_source: ClassVar[str | None] = None
    #: the settings it takes, as a JSON Schema fragment {title, description, properties} (its settings.py):
    #: the scenario schema is generated from these, and unknown keys are errors
    settings_schema: ClassVar[dict[str, Any]] = {"properties": {}}
    #: a plate format (a name in core.ids.PLATES) when the platform only accepts that one, whatever the city
    plate_format: ClassVar[str | None] = None

    def device_ids(self, rng: random.Random, *, number: int, plate: str) -> dict[str, Any]:
        """The identifiers only this platform gives a device (drawn from the world's rng when the device is
        made), kept on `Device.vendor_ids` for its renderer."""
        return {}

    def check_settings(self, values: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems in schema-valid settings that the schema cannot express: (path below the provider's
        settings, message). Messages never quote a secret."""
        return []

    @property
    def adapter(self) -> Adapter:
        """How a receiver decodes, classifies and deduplicates this provider's webhooks: the `ADAPTER` class of
        the package's receive.py (loaded on first use, so the pure core never imports receiving code it does
        not need)."""
        adapter: Adapter = self._package_attribute("receive", "ADAPTER")()
        return adapter

    def renderer(self, device: Device, settings: Mapping[str, Any], rng: random.Random, *,
                 channels: frozenset[str] | None = None) -> Renderer:
        """A renderer for one device of a scenario (settings: the provider's delivery settings): the `RENDERER`
        factory of the package's render.py. `channels` (None = all) are the channels the caller keeps: the
        renderer yields only their messages, exactly as it would among all of them (render.base.RendererFactory)."""
        renderer: Renderer = self._package_attribute("render", "RENDERER")(device, settings, rng, channels=channels)
        return renderer

    def _package_attribute(self, module: str, name: str) -> Any:
        package = type(self).__module__.rpartition(".")[0]
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except (ModuleNotFoundError, AttributeError):
            raise NotImplementedError(f"provider {self.name!r}: {package}.{module} defines no {name}") from None

    def envelope(self, kind: str, payload: Any, *, message_id: str, settings: Mapping[str, Any]) -> Envelope:
        return Envelope(self.serialize(payload), {"Content-Type": self.content_type,
                                                  **self.credential_headers(settings)})

    def envelope_text(self, text: str, *, settings: Mapping[str, Any]) -> Envelope | None:
        """For a provider whose envelope carries the message as a JSON *string* (MettaX `data`): the envelope
        with exactly `text` in that string, valid JSON or not (MAL-08 sends broken ones). None for the others."""
        return None

    def fresh_id_settings(self, seed: int) -> dict[str, Any]:
        """Settings that give a run of `seed` event ids of its own, where the provider's ids do not already follow
        the seed (PowUnity's Traccar ids are database sequences): `fleetsim check` merges them under the user's,
        so a receiver that keeps what earlier runs sent never takes a new event for an old one."""
        return {}

    def credential_headers(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """Static credential headers the envelope adds from settings (not signatures): what `fleetsim replay
        --resign` restores when a capture has them redacted. Signed schemes recompute theirs in the signer."""
        return {}

    def auth_header_names(self, settings: Mapping[str, Any]) -> frozenset[str]:
        """The lower-cased names of the headers this provider's requests authenticate with under `settings`:
        its static credential headers and, with a secret, the headers its signer sets to authenticate (not the
        delivery ids among them, `Signer.id_headers`)."""
        from ..signing import SIGNERS, Secret
        from ..signing.base import authenticating_headers

        names = {name.lower() for name in self.credential_headers(settings)}
        secret = settings.get("secret")
        if isinstance(secret, Secret):
            names |= {name.lower() for name in authenticating_headers(SIGNERS[self.signing], [secret])}
        return frozenset(names)

    def plain_credentials(self, settings: Mapping[str, Any]) -> dict[str, str]:
        """The headers, with their values, that carry a credential as it is on every request under `settings`:
        its static credential headers and, when its signer signs nothing over the body (PowUnity's PSK is the
        "signature"), the headers that signer authenticates with. What must never be shown unasked; a signature
        over the body is no secret and is not among them."""
        from ..signing import SIGNERS, Secret
        from ..signing.base import authenticating_headers

        headers = dict(self.credential_headers(settings))
        signer, secret = SIGNERS[self.signing], settings.get("secret")
        if not signer.covers_body and isinstance(secret, Secret):
            signed = signer.sign(b"", [secret], timestamp=0, message_id="fleetsim")
            headers |= {name: signed[name] for name in authenticating_headers(signer, [secret])}
        return headers

    @property
    def auth(self) -> AuthFacts:
        from ..signing import SIGNERS

        signer = SIGNERS[self.signing]
        return AuthFacts(signed_timestamp=signer.timestamped, covers_body=signer.covers_body)

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(spec.channel for spec in self.kinds.values())


@dataclass(frozen=True)
class AuthFacts:
    """What a provider's authentication can prove to a receiver."""

    signed_timestamp: bool  # replays can be refused by age (RPL-01..05); without it, replay exposure is RPL-07
    covers_body: bool  # a tampered body fails verification; a PSK header proves the sender only
