"""Users and HTTP sessions of the emulated Traccar server, and what each user may see.

Sessions live in memory, bounded (the oldest is forgotten first), keyed by a random `JSESSIONID`. Passwords and
tokens are `Secret`s (the settings loader makes them so; `accounts_from_settings` wraps text given in code),
compared in constant time and never printed (not in a repr, a message or a log); the token is revealed only
where Traccar itself shows it, in the user's own User object (models.py).

Accounts come from code (`start_traccar_server(accounts=...)`), else from the socket provider's `accounts`
setting (`accounts_from_settings`), else the demo account. Visibility is Traccar 4.12's PermissionsManager
(provider-facts §1.8): a user is linked to devices (`Account.devices`; None: every device of the scenario); lists
(`GET /api/devices`, `/api/positions`, the socket's first frame) and the socket's live frames show the linked
devices only, administrators included; asking a device by id (`checkDevice`) is allowed for a linked device, and
for any device to an administrator; anything else is 400 "Device access denied".
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict, deque
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import UsageError
from ...signing import Secret

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
    password: Secret
    token: Secret | None = None
    name: str = ""
    administrator: bool = False
    #: the Traccar ids of the devices linked to the user; None: every device
    devices: frozenset[int] | None = None

    def __repr__(self) -> str:  # never the password or token
        return f"Account(id={self.id}, email={self.email!r})"

    @property
    def display_name(self) -> str:
        return self.name or self.email.partition("@")[0]

    def linked(self, device_id: object) -> bool:
        """The device is linked to the user: listed for it, pushed to its sockets (getUserItems, getDeviceUsers)."""
        return self.devices is None or device_id in self.devices

    def may_ask(self, device_id: object, known: Container[object]) -> bool:
        """PermissionsManager.checkDevice: any id to an administrator; to anyone else a device of the scenario
        (`known`) linked to them: `devices: None` links every device of the scenario, not every id."""
        return self.administrator or (device_id in known and self.linked(device_id))


DEMO_ACCOUNT = Account(1, DEMO_EMAIL, Secret(DEMO_PASSWORD.encode()), Secret(DEMO_TOKEN.encode()), name="demo")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(_utf8(a), _utf8(b))


def _matches(secret: Secret, given: str) -> bool:
    return hmac.compare_digest(secret.reveal(), _utf8(given))


def secret_text(value: object) -> Secret:
    """A password or token as the accounts hold it: a `Secret` stays one, text given in code becomes one."""
    return value if isinstance(value, Secret) else Secret(_utf8(str(value)))


class Accounts:
    """Who may log in, and the open sessions."""

    def __init__(self, accounts: list[Account], max_sessions: int = MAX_SESSIONS) -> None:
        self.accounts = list(accounts)
        self.max_sessions = max_sessions
        # session id -> user id; None once logged out (the HTTP session lives on without a user, as in Traccar)
        self._sessions: OrderedDict[str, int | None] = OrderedDict()
        # session id -> the Origin header of its login, when it had one (SessionHelper.userLogin since 6.12)
        self._origins: dict[str, str] = {}
        #: every session id handed out, newest last (bounded): what a report quoting a client's output scrubs
        self.opened: deque[str] = deque(maxlen=4 * max_sessions)

    def login(self, email: str, password: str) -> Account | None:
        found = None
        for account in self.accounts:  # every account is compared, so timing tells nothing about which exists
            if _same(account.email.lower(), email.strip().lower()) & _matches(account.password, password):
                found = account
        return found

    def by_token(self, token: str) -> Account | None:
        found = None
        for account in self.accounts:
            if account.token is not None and _matches(account.token, token):
                found = account
        return found

    def by_id(self, user_id: int) -> Account | None:
        return next((a for a in self.accounts if a.id == user_id), None)

    def open_session(self, account: Account, origin: str | None = None) -> str:
        session_id = secrets.token_urlsafe(24)
        self._sessions[session_id] = account.id
        self.opened.append(session_id)
        if origin is not None:
            self._origins[session_id] = origin
        while len(self._sessions) > self.max_sessions:
            forgotten, _ = self._sessions.popitem(last=False)
            self._origins.pop(forgotten, None)
        return session_id

    def session_user(self, session_id: str | None, origin: str | None = None, *,
                     check_origin: bool = False) -> Account | None:
        """The session's user. With `check_origin` (a profile with 6.12's check), a request `origin` that differs
        from the one stored at login makes the session authenticate nothing (isSessionOriginValid)."""
        if not session_id:
            return None
        user_id = self._sessions.get(session_id)
        if check_origin and origin is not None and self._origins.get(session_id, origin) != origin:
            return None
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


def accounts_from_settings(values: Mapping[str, Any], device_ids: Mapping[str, int],
                           where: str = "setting") -> list[Account] | None:
    """The `accounts` setting (schema-checked, duplicates refused by the provider's check_settings) as Accounts,
    ids 1, 2, ... in order; None when there is none. `device_ids` maps the scenario's device keys (group/n) to
    their Traccar ids; a key or id not in it is a UsageError naming the field, never a password or token."""
    given = values.get("accounts")
    if not given:
        return None
    known = set(device_ids.values())
    out = []
    for i, item in enumerate(given):
        devices: frozenset[int] | None = None
        if item.get("devices") is not None:
            linked = set()
            for j, ref in enumerate(item["devices"]):
                device_id = ref if isinstance(ref, int) and not isinstance(ref, bool) else device_ids.get(str(ref))
                if device_id is None or device_id not in known:
                    sample = ", ".join(list(device_ids)[:5]) + (", ..." if len(device_ids) > 5 else "")
                    raise UsageError(f"{where} accounts[{i}].devices[{j}]: no device {str(ref)[:40]!r} in the "
                                     f"scenario (device keys: {sample}; or Traccar ids 1-{max(known, default=0)})")
                linked.add(device_id)
            devices = frozenset(linked)
        out.append(Account(i + 1, str(item["email"]).strip(), secret_text(item["password"]),
                           secret_text(item["token"]) if item.get("token") is not None else None,
                           name=str(item.get("name") or ""), administrator=bool(item.get("administrator", False)),
                           devices=devices))
    return out
