"""`none`: for providers that do not sign requests (MettaX documents no signature, provider-facts 5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simulator.errors import SecretError
from simulator.signing.base import Secret, Verdict
from simulator.signing.registry import register


class NoneSigner:
    name: str = "none"
    summary: str = "No signature (MettaX documents none): no headers are added and every request verifies"
    timestamped: bool = False
    covers_body: bool = False
    header_names: tuple[str, ...] = ()
    id_headers: tuple[str, ...] = ()

    def parse_secret(self, text: str) -> Secret:
        raise SecretError("signing profile 'none' does not sign requests, so it takes no secret")

    def sign(self, body: bytes, secrets: Sequence[Secret], *, timestamp: int, message_id: str) -> dict[str, str]:
        return {}

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        secrets: Sequence[Secret],
        *,
        now: int,
        tolerance: int,
    ) -> Verdict:
        return Verdict.valid("provider does not sign requests")


NONE = register(NoneSigner())
