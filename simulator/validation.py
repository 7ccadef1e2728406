"""Validate documents against a provider kind's schema, including what the schema alone cannot see
(the MettaX envelope's `data` string must itself hold a valid MettaX message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import strictjson
from .providers import Provider
from .providers.mettax import MARKERS, classify
from .schemastore import SchemaError, iter_errors

#: what a MettaX message needs to be recognised at all (there is no kind field)
_METTAX_KIND = "a message of a known MettaX kind (recognised by a field among {})".format(
    ", ".join(["messageType", *dict.fromkeys(field for field, _ in MARKERS)]))


@dataclass(frozen=True)
class Checked:
    """A message read and checked: its kind (None when it is of no kind fleetsim knows) and how it breaks that
    kind's schema (paths relative to the message)."""

    document: dict[str, Any]
    kind: str | None
    errors: list[SchemaError]


class UnreadableData(ValueError):
    """A MettaX `data` string that does not hold a JSON object. `reason` is the receiver's counter name."""

    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason
        self.problem = problem


def validate(provider: Provider, kind: str, document: Any) -> list[SchemaError]:
    spec = provider.spec(kind)
    errors = list(iter_errors(spec.schema, document))
    if errors or not (provider.name == "mettax" and kind == "envelope"):
        return errors
    try:
        message = read_mettax_data(provider, document["data"])
    except UnreadableData as exc:
        return [SchemaError("/data", "a JSON object inside the string", exc.problem)]
    if message.kind is None:
        found = message.document.get("messageType")
        actual = "an object with none of them" if found is None else f"messageType {found!r} (known: 1, 2)"
        return [SchemaError("/data", _METTAX_KIND, actual)]
    return [SchemaError(f"/data(json:{message.kind}){e.path}", e.expected, e.actual) for e in message.errors]


def open_mettax_data(data: str) -> dict[str, Any]:
    """The JSON object a MettaX `data` string holds, parsed strictly, or UnreadableData."""
    try:
        document = strictjson.loads(data.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: only possible when a caller built the string itself
        raise UnreadableData("malformed_json", "text that is not UTF-8 (a lone surrogate)") from None
    except strictjson.JsonRejected as exc:
        raise UnreadableData(exc.reason, f"invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UnreadableData("wrong_type", strictjson.type_name(document))
    return document


def read_mettax_data(provider: Provider, data: str) -> Checked:
    """The message a MettaX envelope's `data` string carries, read and checked the one way fleetsim does it:
    strict JSON, recognised by its fields, against that kind's schema. The reference receiver and
    `schemas validate mettax envelope` both call this, so they cannot reach different verdicts on it."""
    document = open_mettax_data(data)
    kind = classify(document)
    return Checked(document, kind, validate(provider, kind, document) if kind is not None else [])
