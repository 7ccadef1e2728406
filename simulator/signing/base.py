"""What every signing profile provides, and the secret wrapper that keeps keys out of logs.

Signers are pure: the clock (an integer Unix timestamp) and the message id are passed in, so the same
inputs always produce the same headers. Verification compares with `hmac.compare_digest` only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from simulator.errors import SecretError, UsageError


class Secret:
    """Key material. `repr()`/`str()` never show it, so it cannot leak through logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Verdict:
    """Outcome of verifying one request.

    `code` is machine-readable: ok, missing_header, malformed_header, mismatch, stale, future.
    `reason` is one human line; it never contains the secret or the expected signature.
    """

    ok: bool
    code: str
    reason: str

    @classmethod
    def valid(cls, reason: str = "signature valid") -> Verdict:
        return cls(True, "ok", reason)

    @classmethod
    def invalid(cls, code: str, reason: str) -> Verdict:
        return cls(False, code, reason)


class Signer(Protocol):
    """A signing profile: how a provider proves a request came from it."""

    name: str
    #: one line for `fleetsim providers` and docs
    summary: str
    #: True when the signed content includes a timestamp that receivers must check for freshness
    timestamped: bool
    #: True when the signature covers the body bytes (a PSK header authenticates the sender only)
    covers_body: bool
    #: headers `sign` sets that identify the delivery and authenticate nothing (PowUnity's X-PowTxn): a receiver
    #: may ignore them, so SIG-02 does not leave them out
    id_headers: tuple[str, ...]

    def parse_secret(self, text: str) -> Secret:
        """Decode the secret as the provider hands it out; raise SecretError (without echoing it)."""
        ...

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        """Headers that authenticate `body`. Several secrets only where the profile supports rotation."""
        ...

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        """Check a received request. `headers` lookup must be case-insensitive (callers pass a CI mapping)."""
        ...


# --- small helpers shared by the profiles (pure; no secret text ever reaches a message) ---------------------

#: every `Verdict.code` a signer in this package returns
VERDICT_CODES = ("ok", "missing_header", "malformed_header", "mismatch", "stale", "future")

_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)")
_SCIENTIFIC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
#: standard base64 of a 32-byte digest: 43 characters and one "=" of padding
B64_DIGEST = re.compile(r"[A-Za-z0-9+/]{43}=")
#: longest header value worth analysing in detail; longer ones are rejected by length alone
_LONG = 1024


def authenticating_headers(signer: Signer, secrets: Sequence[Secret], *, timestamp: int = 0,
                           message_id: str = "fleetsim") -> list[str]:
    """The headers `signer` sets with `secrets` to authenticate a request, as it spells them: what it signs
    with, less the ones that only identify the delivery (`Signer.id_headers`, PowUnity's X-PowTxn)."""
    ids = {name.lower() for name in signer.id_headers}
    signed = signer.sign(b"", secrets, timestamp=timestamp, message_id=message_id)
    return [name for name in signed if name.lower() not in ids]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def matches_any(received: str, expected: Iterable[str]) -> bool:
    """True when `received` equals one of `expected`, comparing every candidate in constant time.

    `received` must already be checked to be ASCII (compare_digest refuses other strings).
    """
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(candidate, received)
    return found


def signing_secret(secrets: Sequence[Secret], profile: str) -> Secret:
    """The single secret a non-rotating profile signs with."""
    if not secrets:
        raise SecretError(f"{profile}: no secret given; signing needs one")
    if len(secrets) > 1:
        raise SecretError(
            f"{profile} signs with one secret at a time; got {len(secrets)} "
            "(several secrets are accepted only when verifying, for key rotation)"
        )
    return secrets[0]


def require_secrets(secrets: Sequence[Secret], profile: str) -> None:
    if not secrets:
        raise SecretError(f"{profile}: no secret given; verification needs at least one")


def require_header_value(value: str, what: str) -> None:
    """Refuse values that cannot travel as an HTTP header value (empty, control characters)."""
    if not value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise UsageError(f"{what} must be non-empty and free of control characters: it is sent as a header value")


def timestamp_problem(value: str, header: str) -> str | None:
    """Why `value` is not a plausible Unix time in whole seconds, or None when it is."""
    if not value.strip():
        return f"{header} is empty"
    if value != value.strip():
        return f"{header} has surrounding whitespace"
    if len(value) > 32:
        return f"{header} is {len(value)} characters long; Unix seconds have 10"
    if value.startswith("-") and _DIGITS.fullmatch(value[1:]):
        return f"{header} is negative"
    if _DECIMAL.fullmatch(value):
        return f"{header} is a decimal number; send whole Unix seconds"
    if _SCIENTIFIC.fullmatch(value):
        return f"{header} uses scientific notation; send whole Unix seconds as plain digits"
    if not _DIGITS.fullmatch(value):
        return f"{header} is not a whole number of Unix seconds"
    digits = len(value.lstrip("0")) or 1
    if digits == 13:
        return f"{header} has 13 digits: looks like milliseconds; send Unix seconds"
    if digits == 16:
        return f"{header} has 16 digits: looks like microseconds; send Unix seconds"
    if digits == 19:
        return f"{header} has 19 digits: looks like nanoseconds; send Unix seconds"
    if digits > 11:
        return f"{header} has {digits} digits: too large for Unix seconds"
    return None


def freshness(timestamp: int, *, now: int, tolerance: int) -> Verdict | None:
    """A stale/future verdict when `timestamp` is more than `tolerance` seconds from `now`, else None."""
    if tolerance < 0:
        raise UsageError(f"signature tolerance must be zero or more seconds, not {tolerance}")
    age = now - timestamp
    if age > tolerance:
        return Verdict.invalid("stale", f"timestamp is {age} s old; the tolerance is {tolerance} s (replay window)")
    if -age > tolerance:
        return Verdict.invalid(
            "future",
            f"timestamp is {-age} s in the future; the tolerance is {tolerance} s (is the sender's clock on NTP?)",
        )
    return None


def digest_problem(value: str, *, header: str, prefix: str, encoding: str) -> str | None:
    """Why `value` is not `prefix` + one HMAC-SHA256 digest in `encoding` ("hex" or "base64"), or None.

    Never quotes the value: a near-miss of the expected signature must not end up in a report.
    """
    size = 64 if encoding == "hex" else 44
    if not value.strip():
        return f"{header} is empty"
    if value != value.strip():
        return f"{header} has surrounding whitespace"
    if len(value) > _LONG:
        return f"{header} is {len(value)} characters long; expected {len(prefix) + size}"
    if not value.startswith(prefix):
        return f"{header} must start with {prefix!r}" if prefix else f"{header} must be bare base64"
    digest = value[len(prefix) :]
    if "," in digest or any(ch.isspace() for ch in digest):
        return f"{header} holds several values; send exactly one signature"
    if encoding == "hex":
        if not _HEX.fullmatch(digest):
            return f"{header} digest is not hexadecimal"
        if len(digest) != 64:
            return f"{header} digest has {len(digest)} hex digits; HMAC-SHA256 has 64"
        if not _HEX64.fullmatch(digest):
            return f"{header} digest must be lowercase hex"
        return None
    if not _B64.fullmatch(digest):
        if "-" in digest or "_" in digest:
            return f"{header} digest uses URL-safe base64; expected standard base64 (+ and /)"
        return f"{header} digest is not base64"
    if not B64_DIGEST.fullmatch(digest):
        return f"{header} digest has {len(digest)} base64 characters; HMAC-SHA256 has 44 with '=' padding"
    return None
