"""Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + ts + "." + body)> ...`.

The secret is `whsec_` + base64 of 24..64 bytes. Signing with several secrets emits one `v1,` entry per
secret (key rotation); a verifier accepts when any well-formed `v1` entry matches any secret and skips
entries of versions it does not know (SIG-07).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from simulator.errors import SecretError
from simulator.signing.base import (
    B64_DIGEST,
    Secret,
    Verdict,
    freshness,
    hmac_sha256,
    matches_any,
    require_header_value,
    require_secrets,
    timestamp_problem,
)
from simulator.signing.headers import read_headers
from simulator.signing.registry import register

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
VERSION = "v1"
MIN_KEY, MAX_KEY = 24, 64
#: more entries than this in one webhook-signature header are refused rather than all tried
MAX_ENTRIES = 32


class StandardWebhooksSigner:
    name: str = "standard-webhooks"
    summary: str = (
        "Standard Webhooks: webhook-id, webhook-timestamp, "
        "webhook-signature: v1,<base64 HMAC-SHA256(key, id.ts.body)> per secret (rotation)"
    )
    timestamped: bool = True
    covers_body: bool = True
    header_names: tuple[str, ...] = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
    id_headers: tuple[str, ...] = ()

    def parse_secret(self, text: str) -> Secret:
        if not text.startswith(SECRET_PREFIX):
            raise SecretError(
                "Standard Webhooks secrets are 'whsec_' followed by base64; this one has no 'whsec_' prefix "
                "(bare base64 is not accepted)"
            )
        try:
            key = base64.b64decode(text[len(SECRET_PREFIX) :], validate=True)
        except ValueError:
            key = None
        if key is None:  # raised outside the except block so no decoder error is chained to it
            raise SecretError("Standard Webhooks secret: the part after 'whsec_' is not valid base64")
        if not MIN_KEY <= len(key) <= MAX_KEY:
            raise SecretError(
                f"Standard Webhooks secret decodes to {len(key)} bytes; it must be {MIN_KEY} to {MAX_KEY}"
            )
        return Secret(key)

    @staticmethod
    def signature(secret: Secret, message_id: str, timestamp: str, body: bytes) -> str:
        """One `v1,<base64>` entry; `timestamp` is the header text exactly as sent."""
        content = f"{message_id}.{timestamp}.".encode() + body
        return f"{VERSION}," + base64.b64encode(hmac_sha256(secret.reveal(), content)).decode("ascii")

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        if not secrets:
            raise SecretError("Standard Webhooks: no secret given; signing needs at least one")
        require_header_value(message_id, "message_id")
        ts = str(timestamp)
        entries = " ".join(self.signature(secret, message_id, ts, body) for secret in secrets)
        return {ID_HEADER: message_id, TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: entries}

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        require_secrets(secrets, "Standard Webhooks")
        values = read_headers(headers, ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
        if isinstance(values, Verdict):
            return values
        msg_id, ts, received = values
        if not msg_id.strip():
            return Verdict.invalid("malformed_header", f"{ID_HEADER} is empty")
        problem = timestamp_problem(ts, TIMESTAMP_HEADER)
        if problem:
            return Verdict.invalid("malformed_header", problem)
        candidates = _v1_candidates(received)
        if isinstance(candidates, Verdict):
            return candidates
        stale = freshness(int(ts), now=now, tolerance=tolerance)
        if stale:
            return stale
        expected = [self.signature(secret, msg_id, ts, body) for secret in secrets]
        found = False
        for candidate in candidates:
            found |= matches_any(candidate, expected)
        if found:
            return Verdict.valid()
        return Verdict.invalid(
            "mismatch", "no v1 signature matches: the body, id or timestamp changed, or the secret is wrong"
        )


def _v1_candidates(header: str) -> list[str] | Verdict:
    """The well-formed `v1,<base64>` entries of a webhook-signature header (other versions skipped)."""
    if not header.strip():
        return Verdict.invalid("malformed_header", f"{SIGNATURE_HEADER} is empty")
    entries = header.split()
    if len(entries) > MAX_ENTRIES:
        return Verdict.invalid(
            "malformed_header", f"{SIGNATURE_HEADER} has {len(entries)} entries; at most {MAX_ENTRIES} are read"
        )
    candidates: list[str] = []
    unknown = malformed = 0
    for entry in entries:
        version, comma, digest = entry.partition(",")
        if not comma:
            malformed += 1
        elif version != VERSION:
            unknown += 1
        elif B64_DIGEST.fullmatch(digest):
            candidates.append(entry)
        else:
            malformed += 1
    if candidates:
        return candidates
    if malformed:
        return Verdict.invalid(
            "malformed_header",
            f"{SIGNATURE_HEADER} has no well-formed entry; expected space-separated 'v1,<44 base64 characters>'",
        )
    return Verdict.invalid(
        "malformed_header", f"{SIGNATURE_HEADER} has only signature versions this verifier does not know (not v1)"
    )


STANDARD_WEBHOOKS = register(StandardWebhooksSigner())
