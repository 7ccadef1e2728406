"""What a socket-client session records: every HTTP request and socket upgrade, open and close the client made,
and the director's own marks (a phase started, a closure was issued, an outage began), each with the loop time at
which the server's edge saw it. Pure data: the checks read it, nothing here touches a socket or a clock.

No secret is kept: an upgrade records whether its session cookie was absent, dead or valid, never the cookie.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: record kinds
HTTP, UPGRADE, OPEN, CLOSE, MARK = "http", "upgrade", "open", "close", "mark"
#: an upgrade's session: no cookie, a cookie the server no longer knows (or a logged-out one), a valid one
NO_SESSION, DEAD_SESSION, VALID_SESSION = "none", "dead", "valid"
#: a CLOSE record's data key: fleetsim closed the socket with 1002 because the client sent an unmasked frame
UNMASKED_FRAME = "unmasked_frame"
#: the phases, in the order the director plays them, and the check each one serves
PHASES = {"auth": "TRN-06", "reconnect": "TRN-07", "gap": "TRN-09", "half-open": "TRN-08", "garbage": "TRN-10"}


@dataclass(frozen=True)
class Record:
    t: float  # loop time, seconds
    kind: str  # HTTP, UPGRADE, OPEN, CLOSE or MARK
    label: str = ""  # MARK: its name; HTTP: "METHOD /path"
    status: int = 0  # HTTP and UPGRADE: the answer (101 for an upgrade that opened)
    session: str = ""  # UPGRADE: NO_SESSION, DEAD_SESSION or VALID_SESSION
    conn: int = 0  # OPEN and CLOSE: the connection's number (1, 2, ...)
    code: int | None = None  # CLOSE: the close code the server's socket ended with
    by_server: bool = False  # CLOSE: the director closed it (else the client, or the network)
    data: dict[str, Any] = field(default_factory=dict)  # HTTP: the query; MARK: what it is about; CLOSE: UNMASKED_FRAME


@dataclass
class Recording:
    records: list[Record] = field(default_factory=list)
    #: the client process's end, when it ended before grading did: exit code and the tail of its stderr
    client_exit: tuple[int | None, str] | None = None
    client_exit_t: float | None = None
    #: the options the session ran with, as the checks need them (closures, outage_s, storm_limit, ...)
    options: dict[str, float] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        self.records.append(record)

    def marks(self, label: str) -> list[Record]:
        return [r for r in self.records if r.kind == MARK and r.label == label]

    def mark(self, label: str) -> Record | None:
        found = self.marks(label)
        return found[0] if found else None

    def between(self, start: float, end: float | None = None,
                where: Callable[[Record], bool] = lambda r: True) -> Iterator[Record]:
        """Records with start < t (<= end), in order."""
        for r in self.records:
            if r.t > start and (end is None or r.t <= end) and where(r):
                yield r

    def first_open_after(self, t: float, end: float | None = None) -> Record | None:
        return next(self.between(t, end, lambda r: r.kind == OPEN), None)

    def phase(self, name: str) -> tuple[Record | None, Record | None]:
        """The phase's start and end marks (None when it did not start, or did not end)."""
        return self.mark(f"start:{name}"), self.mark(f"end:{name}")


def is_login(r: Record) -> bool:
    """A successful login: POST /api/session, or GET /api/session?token= (which opens a session)."""
    if r.kind != HTTP or r.status != 200:
        return False
    return r.label == "POST /api/session" or (r.label == "GET /api/session" and "token" in r.data)


def is_upgrade(r: Record) -> bool:
    return r.kind == UPGRADE


#: the REST calls that can fill TRN-09's gap: a device's positions in a window, or its events in a window
BACKFILL = frozenset({"GET /api/positions", "GET /api/reports/events"})


def uncovered(recording: Recording) -> list[int]:
    """TRN-09: the devices whose positions played while the client was away are not covered by one successful
    back-fill call made after the gap ended (`deviceId` naming the device, `from`..`to` spanning every such fix
    time); all of them when the gap did not happen."""
    ended, played = recording.mark("gap-end"), recording.mark("gap-positions")
    if ended is None or played is None:
        return []
    wanted = {int(d): (low, high) for d, (low, high) in played.data["fixes"].items()}
    covered: set[int] = set()
    for r in recording.between(ended.t, where=lambda r: r.kind == HTTP and r.status == 200 and r.label in BACKFILL):
        low, high = (_ms(r.data.get(k)) for k in ("from", "to"))
        if low is None or high is None:
            continue
        for device in _ints(r.data.get("deviceId")):
            if device in wanted and low <= wanted[device][0] and high >= wanted[device][1]:
                covered.add(device)
    return sorted(set(wanted) - covered)


def _ms(values: object) -> int | None:
    from simulator.servers.traccar.live import traccar_ms  # Traccar's own reading of a time parameter

    return traccar_ms(values[0]) if isinstance(values, list) and values else None


def _ints(values: object) -> list[int]:
    out = []
    for value in values if isinstance(values, list) else []:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out
