"""Users and HTTP sessions of the emulated Traccar server.

Sessions live in memory, bounded (the oldest is forgotten first), keyed by a random `JSESSIONID`. Passwords and
tokens are compared in constant time and never printed.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass

#: the account `fleetsim serve` has when nothing else is configured (README, "Be the platform")
DEMO_EMAIL = "demo@fleetsim.local"
DEMO_PASSWORD = "demo"
DEMO_TOKEN = "fleetsim-demo-token"
#: sessions kept at most; a client that logs in in a loop forgets its oldest sessions, never grows memory
MAX_SESSIONS = 10_000


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    password: str
    token: str | None = None
    name: str = ""
    administrator: bool = False

    def __repr__(self) -> str:  # never the password or token
        return f"Account(id={self.id}, email={self.email!r})"

    @property
    def display_name(self) -> str:
        return self.name or self.email.partition("@")[0]


DEMO_ACCOUNT = Account(1, DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, name="demo")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


class Accounts:
    """Who may log in, and the open sessions."""

    def __init__(self, accounts: list[Account], max_sessions: int = MAX_SESSIONS) -> None:
        self.accounts = list(accounts)
        self.max_sessions = max_sessions
        # session id -> user id; None once logged out (the HTTP session lives on without a user, as in Traccar)
        self._sessions: OrderedDict[str, int | None] = OrderedDict()

    def login(self, email: str, password: str) -> Account | None:
        found = None
        for account in self.accounts:  # every account is compared, so timing tells nothing about which exists
            if _same(account.email.lower(), email.strip().lower()) & _same(account.password, password):
                found = account
        return found

    def by_token(self, token: str) -> Account | None:
        found = None
        for account in self.accounts:
            if account.token is not None and _same(account.token, token):
                found = account
        return found

    def by_id(self, user_id: int) -> Account | None:
        return next((a for a in self.accounts if a.id == user_id), None)

    def open_session(self, account: Account) -> str:
        session_id = secrets.token_urlsafe(24)
        self._sessions[session_id] = account.id
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session_id

    def session_user(self, session_id: str | None) -> Account | None:
        if not session_id:
            return None
        user_id = self._sessions.get(session_id)
        return None if user_id is None else self.by_id(user_id)

    def close_session(self, session_id: str | None) -> None:
        """Log out: SessionResource.remove takes the user out of the session; the session itself stays."""
        if session_id and session_id in self._sessions:
            self._sessions[session_id] = None

    def forget_sessions(self) -> dict[str, int | None]:
        """Forget every session, as a restarted Traccar does (its sessions live in memory); returns them, so that
        a conformance director can give them back (restore_sessions)."""
        forgotten = dict(self._sessions)
        self._sessions.clear()
        return forgotten

    def restore_sessions(self, sessions: dict[str, int | None]) -> None:
        for session_id, user_id in sessions.items():
            self._sessions.setdefault(session_id, user_id)

    def has_session(self, session_id: str | None) -> bool:
        return bool(session_id) and session_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
