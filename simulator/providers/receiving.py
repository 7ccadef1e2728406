"""How a receiver reads a provider's webhooks: the pure part of receiving, shared by every provider package.

Each provider's `adapter` (simulator/providers/<name>/receive.py) decodes a body, says which kind of message it
is, what makes two deliveries the same event (the deduplication key), and which position it reports. The
reference receiver (simulator/servers/receiver.py) runs the steps around them — method, encoding, size,
authentication, deduplication, state — and the coming conformance checks can ask the same adapters.

Pure: no sockets, no clocks. A message that cannot be taken is a `Rejected` (a 4xx and its counter name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from .. import strictjson
from ..schemastore import EXTRA_FIELDS, SchemaError, load_schema
from ..validation import validate

if TYPE_CHECKING:
    from .base import Provider

__all__ = ["FORM_TYPE", "JSON_TYPE", "MAX_ID_CHARS", "Adapter", "Change", "Checked", "Fix", "Rejected",
           "UnreadableData",
           "enum_of", "epoch", "id_text", "parse_json", "require_object", "sha256_of", "vendor_errors"]

MAX_ID_CHARS = 200  # longest event id worth storing
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Fix:
    """One position report: where a device was at its own (device) time, in UTC epoch seconds."""

    device: str
    lat: float
    lon: float
    device_time: float


@dataclass(frozen=True)
class Change:
    """A device state a message reports (e.g. ignition "on"), at the device's own time (UTC epoch seconds).
    The newest device time wins, whatever the arrival order (ORD-01)."""

    device: str
    name: str  # "ignition"
    value: str  # "on" | "off"
    device_time: float


@dataclass(frozen=True)
class Checked:
    """A message read and checked: its kind (None when it is of no kind fleetsim knows) and how it breaks that
    kind's schema (paths relative to the message)."""

    document: dict[str, Any]
    kind: str | None
    errors: list[SchemaError]


def vendor_errors(provider: Provider, checked: Checked) -> list[SchemaError]:
    """How `checked`'s message breaks what its kind's schema documents, which a receiver must refuse: unknown
    extra fields aside (MAL-03: tolerated) and the bounds, patterns and dependencies fleetsim chose aside
    (`x-inferred`: a device may send 65 satellites or a speed of 301 km/h, and a platform retries what is
    refused). Empty for a message of no kind fleetsim knows (MAL-03: acknowledged, ignored)."""
    if checked.kind is None or not checked.errors:
        return []
    return [e for e in validate(provider, checked.kind, checked.document, documented=True)
            if e.expected != EXTRA_FIELDS]


class UnreadableData(ValueError):
    """A nested document (the MettaX `data` string) that does not hold a JSON object. `reason` is the
    receiver's counter name."""

    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason
        self.problem = problem


class Rejected(Exception):
    """A request answered with a 4xx. `reason` is the counter name; `message` goes into the response."""

    def __init__(self, status: int, reason: str, message: str, *, problems: list[str] | None = None,
                 headers: Mapping[str, str] | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.problems = problems or []
        self.headers = dict(headers or {})
        self.detail = detail  # logged only (e.g. why a signature failed)



def parse_json(raw: bytes, what: str = "body") -> Any:
    """Strict JSON (simulator.strictjson, shared with `fleetsim schemas validate`): UTF-8, no NaN, no lone
    surrogates, no duplicate keys, at most MAX_DEPTH levels."""
    try:
        return strictjson.loads(raw)
    except strictjson.JsonRejected as exc:
        raise Rejected(400, exc.reason, f"the {what} is not valid JSON: {exc}") from None


def require_object(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise Rejected(400, "wrong_type", f"the {what} must be a JSON object, not {strictjson.type_name(doc)}")
    return doc


def id_text(value: Any, name: str) -> str:
    """An event id as text: a non-empty string or an integer, of reasonable length."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS:
        return value
    raise Rejected(400, "schema", f"{name} is missing or is not a usable id (text of 1 to {MAX_ID_CHARS} characters)")


def epoch(text: str) -> float:
    """An RFC 3339 / Traccar time ("...Z", "+00:00", "+0000") as UTC epoch seconds."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def sha256_of(*parts: Any) -> str:
    # orjson of a list: unambiguous, unlike joining with a separator that may occur in the parts
    return hashlib.sha256(orjson.dumps(list(parts))).hexdigest()


@cache
def enum_of(schema: str, *path: str) -> frozenset[str]:
    """The enum at `path` in a shipped schema: the event types fleetsim's schemas know."""
    node: Any = load_schema(schema)
    for part in path:
        node = node[part]
    return frozenset(node)



class Adapter:
    """How one provider's webhooks are decoded, classified, identified and turned into state."""

    name: ClassVar[str]
    content_types: ClassVar[tuple[str, ...]] = (JSON_TYPE,)
    delivery_header: ClassVar[str | None] = None  # the provider's per-delivery id (logged, not a dedupe key)
    #: a header whose value is the event key (Standard Webhooks' webhook-id); None: `event_key` reads the body
    key_header: ClassVar[str | None] = None
    #: True when the provider sends no event id and the key is derived from what the message says (SmartGPS):
    #: then two messages with the same content are one event, and IDM-05 cannot apply
    derived_key: ClassVar[bool] = False

    def decode(self, body: bytes, content_type: str) -> dict[str, Any]:
        return require_object(parse_json(body), "body")

    def classify(self, doc: dict[str, Any]) -> str | None:
        """The provider kind of `doc`, or None for a well-formed message of a type this receiver does not know."""
        raise NotImplementedError

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        """What makes two deliveries the same event (the deduplication key)."""
        raise NotImplementedError

    def with_unknown_kind(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A copy of `doc` written as an event type this receiver cannot know yet (a newer platform release
        adds one): what the forward-compatibility check MAL-03 sends. `classify` answers None for it, or the
        provider's one catch-all kind when, like Standard Webhooks, it accepts any well-formed type."""
        raise NotImplementedError

    def with_unknown_subtype(self, doc: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A copy of `doc` of a known event type carrying a value the vendor's list will grow (a Samsara 1.0
        alert's `alertConditionId`), named for MAL-03's variants; None where the message has no such value. A
        receiver acknowledges it like any alert (docs/checks.md, MAL-03)."""
        return None

    def received_after(self, late: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
        """`late` as the platform writes it when it reaches the server after `earlier` (ORD-02's back-filled fix):
        where the platform stamps its own arrival time (Traccar's serverTime), it is later than `earlier`'s. The
        device's own time, what a receiver orders by, stays as it was."""
        return late

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        """The position the message reports, if any."""
        return None

    def face_check(self, doc: dict[str, Any], kind: str) -> tuple[str, str, str, str] | None:
        return None

    def change(self, doc: dict[str, Any], kind: str) -> Change | None:
        """The device state the message reports (ignition on/off), if any."""
        return None

    def inspect(self, provider: Provider, body: bytes, content_type: str) -> Checked:
        """The message in `body`, its kind and how it breaks that kind's schema (steps 6 and 7)."""
        doc = self.decode(body, content_type)
        kind = self.classify(doc)
        return Checked(doc, kind, validate(provider, kind, doc) if kind is not None else [])


