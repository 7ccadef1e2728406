"""PowUnity BikeTrax (Traccar forwarding): a pre-shared `Authorization` value plus an `X-PowTxn` id.

Nothing is signed: the body is not authenticated and there is no timestamp (provider-facts 2). The PSK is
compared exactly (SIG-09): a different scheme case or extra whitespace is rejected, with a reason that names
the kind of difference and never the value. Without a configured PSK only `X-PowTxn` is checked.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from simulator.errors import SecretError
from simulator.signing.base import Secret, Verdict, require_header_value
from simulator.signing.headers import read_headers
from simulator.signing.registry import register

AUTH_HEADER = "Authorization"
TXN_HEADER = "X-PowTxn"


class PowUnitySigner:
    name: str = "powunity"
    summary: str = "PowUnity/Traccar: Authorization: <pre-shared value, exact match> when set, plus X-PowTxn: <id>"
    timestamped: bool = False
    covers_body: bool = False
    header_names: tuple[str, ...] = (AUTH_HEADER, TXN_HEADER)
    # a transaction id "to quote to support" (docs/provider-facts.md §2): it authenticates nothing
    id_headers: tuple[str, ...] = (TXN_HEADER,)

    def parse_secret(self, text: str) -> Secret:
        if not text:
            raise SecretError("PowUnity: the pre-shared Authorization value is empty")
        if "\r" in text or "\n" in text:
            raise SecretError("PowUnity: the pre-shared Authorization value contains a line break")
        if not all(" " <= ch <= "~" for ch in text):
            raise SecretError(
                "PowUnity: the pre-shared Authorization value must be printable ASCII "
                "(no tabs, control or non-ASCII characters)"
            )
        if text != text.strip():
            raise SecretError("PowUnity: the pre-shared Authorization value has leading or trailing whitespace")
        return Secret(text.encode("ascii"))

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        if len(secrets) > 1:
            raise SecretError(
                f"PowUnity sends one Authorization value; got {len(secrets)} "
                "(several are accepted only when verifying, for rotation)"
            )
        require_header_value(message_id, "message_id")
        headers = {TXN_HEADER: message_id}
        if secrets:
            headers = {AUTH_HEADER: secrets[0].reveal().decode("ascii"), **headers}
        return headers

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        if secrets:
            verdict = _check_authorization(headers, secrets)
            if verdict is not None:
                return verdict
        values = read_headers(headers, TXN_HEADER)
        if isinstance(values, Verdict):
            return values
        if not values[0].strip():
            return Verdict.invalid("missing_header", f"{TXN_HEADER} header is empty")
        if secrets:
            return Verdict.valid("Authorization matches the pre-shared value")
        return Verdict.valid("no pre-shared value configured; only X-PowTxn checked")


def _check_authorization(headers: Mapping[str, str], secrets: Sequence[Secret]) -> Verdict | None:
    values = read_headers(headers, AUTH_HEADER)
    if isinstance(values, Verdict):
        return values
    received = values[0].encode("utf-8", "surrogatepass")
    if not received.strip():
        return Verdict.invalid("malformed_header", f"{AUTH_HEADER} header is empty")
    psks = [secret.reveal() for secret in secrets]
    if _any_equal(received, psks):
        return None
    # Only on failure: say what kind of near miss it was, without quoting either value.
    if _any_equal(received.strip(), psks):
        return Verdict.invalid(
            "malformed_header", f"{AUTH_HEADER} has surrounding whitespace; it must equal the pre-shared value exactly"
        )
    if _any_equal(b" ".join(received.split()), [b" ".join(psk.split()) for psk in psks]):
        return Verdict.invalid(
            "malformed_header", f"{AUTH_HEADER} differs from the pre-shared value only in whitespace"
        )
    if _any_equal(_fold_scheme(received), [_fold_scheme(psk) for psk in psks]):
        return Verdict.invalid(
            "mismatch",
            f"{AUTH_HEADER} scheme differs from the pre-shared value in letter case; the comparison is exact",
        )
    return Verdict.invalid("mismatch", f"{AUTH_HEADER} does not match the pre-shared value")


def _fold_scheme(value: bytes) -> bytes:
    """`value` with the part before the first space (the auth scheme, e.g. "Bearer") lower-cased."""
    scheme, space, rest = value.partition(b" ")
    return scheme.lower() + space + rest if space else value


def _any_equal(received: bytes, expected: Sequence[bytes]) -> bool:
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(candidate, received)
    return found


POWUNITY = register(PowUnitySigner())
