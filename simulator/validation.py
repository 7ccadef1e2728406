"""Validate a document against a provider kind's schema, plus what the schema alone cannot see, which the
provider itself checks (`SchemaFamily.inner_errors`: e.g. the MettaX envelope's `data` string must hold a valid
MettaX message). `fleetsim schemas validate` and the reference receiver both call this."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .schemastore import SchemaError, iter_errors

if TYPE_CHECKING:
    from .providers.base import SchemaFamily


def validate(family: SchemaFamily, kind: str, document: Any, *, documented: bool = False) -> list[SchemaError]:
    """How `document` breaks kind's schema: the whole schema, or with `documented` only what a vendor states
    (the constraints fleetsim inferred, `x-inferred`, left out: schemastore)."""
    spec = family.spec(kind)
    errors = list(iter_errors(spec.schema, document, documented=documented))
    return errors or family.inner_errors(kind, document, documented=documented)
