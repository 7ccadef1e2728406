"""GitHub-style body-only HMAC-SHA256: `<header>: <prefix><hex or base64 digest of the raw body>`.

Registered as `hmac-sha256` (GitHub defaults) and `smartgps` (`X-SmartGPS-Signature: sha256=<hex>`, unverified:
provider-facts 4). Shopify-style (`X-Shopify-Hmac-Sha256`, bare base64) is one constructor call away.
No timestamp is signed, so verification ignores `now`/`tolerance` and cannot detect replays.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from simulator.errors import SecretError, UsageError
from simulator.signing.base import (
    Secret,
    Verdict,
    digest_problem,
    hmac_sha256,
    matches_any,
    require_secrets,
    signing_secret,
)
from simulator.signing.headers import read_headers
from simulator.signing.registry import register

Encoding = Literal["hex", "base64"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 header field name
_PREFIX = re.compile(r"[!-~]*")  # visible ASCII, no spaces


class HmacSha256Signer:
    timestamped: bool = False
    covers_body: bool = True

    def __init__(
        self,
        name: str = "hmac-sha256",
        *,
        header: str = "X-Hub-Signature-256",
        prefix: str = "sha256=",
        encoding: Encoding = "hex",
        summary: str | None = None,
    ) -> None:
        if encoding not in ("hex", "base64"):
            raise UsageError(f"signature encoding must be 'hex' or 'base64', not {encoding!r}")
        if not _TOKEN.fullmatch(header):
            raise UsageError(f"signature header name {header!r} is not a valid HTTP header name")
        if not _PREFIX.fullmatch(prefix):
            raise UsageError(f"signature prefix {prefix!r} must be visible ASCII without spaces")
        self.name = name
        self.header = header
        self.prefix = prefix
        self.encoding: Encoding = encoding
        self.header_names: tuple[str, ...] = (header,)
        self.id_headers: tuple[str, ...] = ()
        digest = "hex" if encoding == "hex" else "base64"
        self.summary = summary or f"{header}: {prefix}<{digest} HMAC-SHA256(secret, raw body)>, no timestamp"

    def __repr__(self) -> str:
        return (
            f"HmacSha256Signer({self.name!r}, header={self.header!r}, prefix={self.prefix!r}, "
            f"encoding={self.encoding!r})"
        )

    def parse_secret(self, text: str) -> Secret:
        if not text:
            raise SecretError(f"{self.name}: the secret is empty")
        try:
            key = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            key = b""
        if not key:  # raised outside the except block: the codec error quotes the text
            raise SecretError(f"{self.name}: the secret is not valid Unicode text (it cannot be UTF-8 encoded)")
        return Secret(key)

    def signature(self, secret: Secret, body: bytes) -> str:
        """The header value for `body`."""
        mac = hmac_sha256(secret.reveal(), body)
        digest = mac.hex() if self.encoding == "hex" else base64.b64encode(mac).decode("ascii")
        return self.prefix + digest

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        return {self.header: self.signature(signing_secret(secrets, self.name), body)}

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        require_secrets(secrets, self.name)
        values = read_headers(headers, self.header)
        if isinstance(values, Verdict):
            return values
        (received,) = values
        problem = digest_problem(received, header=self.header, prefix=self.prefix, encoding=self.encoding)
        if problem:
            return Verdict.invalid("malformed_header", problem)
        # Compare the canonical encoded text: a base64 variant that decodes to the same bytes is rejected.
        if matches_any(received, (self.signature(secret, body) for secret in secrets)):
            return Verdict.valid()
        return Verdict.invalid("mismatch", "signature does not match: the body changed or the secret is wrong")


GITHUB = register(
    HmacSha256Signer(
        "hmac-sha256",
        summary="GitHub-style: X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>, no timestamp",
    )
)
SMARTGPS = register(
    HmacSha256Signer(
        "smartgps",
        header="X-SmartGPS-Signature",
        prefix="sha256=",
        summary="SmartGPS (unverified, GitHub-style): X-SmartGPS-Signature: sha256=<hex HMAC-SHA256(secret, body)>",
    )
)
