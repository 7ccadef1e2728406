"""Validate a document against a provider kind's schema, plus what the schema alone cannot see, which the
provider itself checks (`SchemaFamily.inner_errors`: e.g. the MettaX envelope's `data` string must hold a valid
MettaX message). `fleetsim schemas validate` and the reference receiver both call this."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .schemastore import SchemaError, iter_errors

if TYPE_CHECKING:
    from .providers.base import SchemaFamily


def validate(family: SchemaFamily, kind: str, document: Any) -> list[SchemaError]:
    spec = family.spec(kind)
    errors = list(iter_errors(spec.schema, document))
    return errors or family.inner_errors(kind, document)
