"""Signing profiles: how each provider authenticates a request, and the reference verifiers.

Importing this package registers every profile in `SIGNERS`; look one up with `get_signer(name)`.
"""

from simulator.signing import hmac_sha256, none, powunity, samsara, standard_webhooks
from simulator.signing.base import Secret, Signer, Verdict
from simulator.signing.headers import CIHeaders
from simulator.signing.registry import SIGNERS, get_signer

__all__ = [
    "SIGNERS",
    "CIHeaders",
    "Secret",
    "Signer",
    "Verdict",
    "get_signer",
    "hmac_sha256",
    "none",
    "powunity",
    "samsara",
    "standard_webhooks",
]
