"""OAuth2 client credentials for the emulated SmartGPS API (seed 000: "Client Credentials Flow", POST /auth/token,
grant_type=client_credentials) and the per-client rate limit.

Pure: every call takes the time (`now`, monotonic seconds) from the caller. Tokens are random (a seeded or
system RNG is passed in) and kept only here; the call log and every message name a token by its serial number
(`token_n`), never by its value.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from dataclasses import dataclass

__all__ = ["Clients", "Issued", "RateLimiter"]


@dataclass(frozen=True)
class Issued:
    token: str
    serial: int
    client_id: str
    expires_at: float


class Clients:
    """One OAuth2 client (the settings' api_client_id / api_client_secret) and the tokens issued to it."""

    def __init__(self, client_id: str, client_secret: str, ttl_s: int) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.ttl_s = ttl_s
        self._tokens: dict[str, Issued] = {}
        self.issued = 0
        #: every token handed out, newest last (bounded), expired or revoked ones too: what a report quoting a
        #: client's output scrubs
        self.handed_out: deque[str] = deque(maxlen=100_000)

    def check(self, client_id: str, client_secret: str) -> bool:
        # compare_digest on both: a wrong id must cost as much as a wrong secret
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(client_secret.encode(), self._secret.encode())
        return same_id and same_secret

    def issue(self, now: float) -> Issued:
        self.issued += 1
        issued = Issued(secrets.token_urlsafe(32), self.issued, self.client_id, now + self.ttl_s)
        self._tokens[issued.token] = issued
        self.handed_out.append(issued.token)
        # forget expired tokens so a client that fetches one per request cannot grow memory without bound
        for token in [t for t, i in self._tokens.items() if i.expires_at <= now]:
            del self._tokens[token]
        return issued

    def revoke_all(self) -> int:
        """Invalidate every token issued so far (as an administrator revoking the client's access would): the
        API-client checks answer the next call 401 this way. Returns how many were still held."""
        held = len(self._tokens)
        self._tokens.clear()
        return held

    def bearer(self, token: str, now: float) -> Issued | None:
        issued = self._tokens.get(token)
        return issued if issued is not None and now < issued.expires_at else None


class RateLimiter:
    """At most `limit` requests per client in any one-second window (0: no limit). `hit` answers None when the
    request may go ahead, else the seconds until it may (Retry-After, whole seconds, at least 1)."""

    WINDOW_S = 1.0

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}

    def hit(self, client: str, now: float) -> int | None:
        if self.limit <= 0:
            return None
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.WINDOW_S:
            seen.popleft()
        if len(seen) >= self.limit:
            wait = seen[0] + self.WINDOW_S - now
            return max(1, int(wait + 0.999))
        seen.append(now)
        return None
