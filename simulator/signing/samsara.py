"""Samsara: `X-Samsara-Signature: v1=<hex HMAC-SHA256(base64decode(secret), "v1:" + ts + ":" + body)>`.

The key is the base64-decoded dashboard secret (provider-facts 3.2); the timestamp header is Unix seconds
and is inside the MAC, so altering it breaks the signature (RPL-04).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from simulator.errors import SecretError
from simulator.signing.base import (
    Secret,
    Verdict,
    digest_problem,
    freshness,
    hmac_sha256,
    matches_any,
    require_secrets,
    signing_secret,
    timestamp_problem,
)
from simulator.signing.headers import read_headers
from simulator.signing.registry import register

TIMESTAMP_HEADER = "X-Samsara-Timestamp"
SIGNATURE_HEADER = "X-Samsara-Signature"
PREFIX = "v1="


class SamsaraSigner:
    name: str = "samsara"
    summary: str = "Samsara: X-Samsara-Signature v1=<hex HMAC-SHA256(base64-decoded secret, 'v1:'+timestamp+':'+body)>"
    timestamped: bool = True
    covers_body: bool = True
    header_names: tuple[str, ...] = (TIMESTAMP_HEADER, SIGNATURE_HEADER)
    id_headers: tuple[str, ...] = ()

    def parse_secret(self, text: str) -> Secret:
        if not text.strip():
            raise SecretError("samsara: the secret is empty")
        try:
            key = base64.b64decode(text, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            key = b""
        if not key:  # raised outside the except block so no decoder error is chained to it
            hint = "; it has surrounding whitespace" if text != text.strip() else ""
            raise SecretError(f"Samsara secrets are base64 (as shown in the dashboard); this one does not decode{hint}")
        return Secret(key)

    @staticmethod
    def signature(secret: Secret, timestamp: str, body: bytes) -> str:
        """The `X-Samsara-Signature` value for `timestamp` exactly as sent (probes may send odd ones)."""
        message = b"v1:" + timestamp.encode("utf-8") + b":" + body
        return PREFIX + hmac_sha256(secret.reveal(), message).hex()

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        secret = signing_secret(secrets, "Samsara")
        ts = str(timestamp)
        return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: self.signature(secret, ts, body)}

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        require_secrets(secrets, "Samsara")
        values = read_headers(headers, TIMESTAMP_HEADER, SIGNATURE_HEADER)
        if isinstance(values, Verdict):
            return values
        ts, received = values
        problem = timestamp_problem(ts, TIMESTAMP_HEADER) or digest_problem(
            received, header=SIGNATURE_HEADER, prefix=PREFIX, encoding="hex"
        )
        if problem:
            return Verdict.invalid("malformed_header", problem)
        stale = freshness(int(ts), now=now, tolerance=tolerance)
        if stale:
            return stale
        if matches_any(received, (self.signature(secret, ts, body) for secret in secrets)):
            return Verdict.valid()
        return Verdict.invalid("mismatch", "signature does not match: the body changed or the secret is wrong")


SAMSARA = register(SamsaraSigner())
