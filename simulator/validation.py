"""Validate documents against a provider kind's schema, including what the schema alone cannot see
(the MettaX envelope's `data` string must itself hold a valid MettaX message)."""

from __future__ import annotations

from typing import Any

import orjson

from .providers import Provider
from .schemastore import SchemaError, iter_errors, validator


def validate(provider: Provider, kind: str, document: Any) -> list[SchemaError]:
    spec = provider.spec(kind)
    errors = list(iter_errors(spec.schema, document))
    if errors or not (provider.name == "mettax" and kind == "envelope"):
        return errors
    return _mettax_inner(provider, document["data"])


def _mettax_inner(provider: Provider, data: str) -> list[SchemaError]:
    try:
        inner = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return [SchemaError("/data", "a JSON document inside the string", f"invalid JSON ({exc})")]
    matches = [k for k, spec in provider.kinds.items() if validator(spec.schema).is_valid(inner)]
    if matches:
        return []
    # Report against the kind it most resembles: the one with the fewest errors.
    best = min(provider.kinds.values(), key=lambda spec: sum(1 for _ in validator(spec.schema).iter_errors(inner)))
    return [
        SchemaError(f"/data(json:{best.name}){e.path}", e.expected, e.actual) for e in iter_errors(best.schema, inner)
    ]
