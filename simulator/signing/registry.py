"""`SIGNERS`: every signing profile by name, filled by `register` as the profile modules are imported."""

from __future__ import annotations

from typing import TypeVar

from simulator.errors import HarnessError, UnknownNameError
from simulator.signing.base import Signer

SIGNERS: dict[str, Signer] = {}

S = TypeVar("S", bound=Signer)


def register(signer: S) -> S:
    """Add `signer` under `signer.name` and return it (usable as `X = register(XSigner())`)."""
    existing = SIGNERS.get(signer.name)
    if existing is not None and existing is not signer:
        raise HarnessError(f"signing profile {signer.name!r} is registered twice")
    SIGNERS[signer.name] = signer
    return signer


def get_signer(name: str) -> Signer:
    """The profile called `name`; UnknownNameError (with a "did you mean") otherwise."""
    try:
        return SIGNERS[name]
    except KeyError:
        pass
    raise UnknownNameError("signing profile", name, SIGNERS)
