"""The reference receiver's persistence: SQLite (stdlib `sqlite3`), WAL mode, one file or ":memory:".

What it keeps, and the rule behind each table:

- `inbox`: every accepted delivery, keyed by (provider, event key) with a PRIMARY KEY. Duplicates are detected
  by the atomic `INSERT OR IGNORE` itself, never by "look, then insert": ten concurrent copies (IDM-02) make
  exactly one row, and because the table lives in the database file, a copy arriving after a restart (IDM-06)
  is caught too. The row also holds the parsed payload until it has been processed, so an event acknowledged
  just before a crash is processed when the receiver starts again (`pending()`).
- `positions` (history) and `latest` (one row per device): a fix replaces the latest one only when its *device*
  time is newer, ties broken by the event key (ORD-02, ORD-04), so back-filled MettaX `actual=false` fixes or
  late Traccar positions are kept in the history but never regress the latest state.
- `device_state` (one row per device and state name, e.g. ignition): the same rule as `latest`, newest device
  time wins, ties broken by the event key (ORD-01: an ignition-off delivered before its ignition-on still ends
  "off" when it is the newer).
- `effects`: one row each time an accepted event's effects were applied. The reference receiver applies each
  event once, so it holds one row per processed event; the conformance state probe counts them (RPL-06, IDM-02,
  IDM-03: "exactly one effect"), and a receiver that applied a duplicate would show two.
- `face_checks`: the two halves of a MettaX driver face check (result and picture share an id and arrive in
  either order); the check is complete when both are in.
- `counters`: accepted / duplicate / ignored per provider, written in the same transaction as the inbox row,
  so they are exact. Rejections are counted in memory and saved on `close()`: they are diagnostics, and
  keeping them off the disk means a flood of garbage cannot slow down genuine deliveries.

Threading: sqlite3 calls block (a commit in FULL sync mode waits for fsync), so every call runs on ONE
dedicated worker thread that owns the connection. The event loop never blocks on the disk, and SQLite sees a
single writer, so there is no lock contention inside the process (busy_timeout covers other processes).
Every sqlite3 failure surfaces as `StoreUnavailable`; the receiver answers 503 so that the sender retries.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StoreUnavailable, UsageError
from ..providers.receiving import Change, Fix

__all__ = ["MEMORY", "Change", "Fix", "PendingEvent", "Store", "StoreUnavailable"]

MEMORY = ":memory:"
SCHEMA_VERSION = 1
#: outcomes counted per provider; rejections also carry a reason
ACCEPTED, DUPLICATE, IGNORED, REJECTED = "accepted", "duplicate", "ignored", "rejected"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    provider     TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    delivery_id  TEXT,              -- X-Samsara-Request / X-PowTxn: for support, never for deduplication
    payload      BLOB,              -- the parsed message as JSON; NULL once processed
    received_at  REAL NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, event_key)
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (processed) WHERE processed = 0;
CREATE TABLE IF NOT EXISTS positions (
    provider     TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    device       TEXT NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    device_time  REAL NOT NULL,
    received_at  REAL NOT NULL,
    PRIMARY KEY (provider, event_key)
);
CREATE TABLE IF NOT EXISTS latest (
    provider     TEXT NOT NULL,
    device       TEXT NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    device_time  REAL NOT NULL,
    event_key    TEXT NOT NULL,
    received_at  REAL NOT NULL,
    PRIMARY KEY (provider, device)
);
CREATE TABLE IF NOT EXISTS device_state (
    provider     TEXT NOT NULL,
    device       TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    device_time  REAL NOT NULL,
    event_key    TEXT NOT NULL,
    PRIMARY KEY (provider, device, name)
);
CREATE TABLE IF NOT EXISTS effects (
    provider     TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    applied_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS effects_event ON effects (provider, event_key);
CREATE TABLE IF NOT EXISTS face_checks (
    check_id     TEXT PRIMARY KEY,
    device       TEXT NOT NULL,
    result       TEXT,              -- the face_check_result message (JSON) once it arrived
    picture      TEXT,              -- the face_check_picture message (JSON) once it arrived
    completed_at REAL
);
CREATE TABLE IF NOT EXISTS counters (
    provider     TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    n            INTEGER NOT NULL,
    PRIMARY KEY (provider, outcome, reason)
);
"""

T = TypeVar("T")


@dataclass(frozen=True)
class PendingEvent:
    """An accepted delivery whose processing has not finished (it crashed, or is still running)."""

    provider: str
    event_key: str
    kind: str
    payload: bytes


class Store:
    """The receiver's database. Create it before serving, `await close()` after."""

    def __init__(self, path: str | Path = MEMORY) -> None:
        self.path = str(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fleetsim-store")
        self._conn: sqlite3.Connection | None = None
        self._rejected: Counter[tuple[str, str]] = Counter()
        try:
            self._executor.submit(self._open).result()
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown(wait=False)
            raise UsageError(f"{self.path}: cannot open the receiver database ({exc})") from None

    # --- connection, on the worker thread -------------------------------------------------------------------

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {version}; this fleetsim expects {SCHEMA_VERSION}")
            if self.path != MEMORY:
                conn.execute("PRAGMA journal_mode = WAL")
                # FULL: each commit is fsync'ed, so an acknowledged delivery survives a power cut, not only a crash
                conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for provider, reason, n in conn.execute(
                "SELECT provider, reason, n FROM counters WHERE outcome = ?", (REJECTED,)
            ):
                self._rejected[(provider, reason)] = n
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the store is closed")
        return self._conn

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one IMMEDIATE transaction (the write lock is taken up front: no upgrade deadlock)."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"receiver database error: {exc}") from exc
        except RuntimeError as exc:  # the executor was shut down: the store is closed
            raise StoreUnavailable(f"receiver database is closed ({exc})") from exc

    async def close(self) -> None:
        """Save the rejection counters and close the database (idempotent)."""
        if self._conn is not None:
            try:
                await self._run(self._close)
            finally:
                self._executor.shutdown(wait=True)

    def _close(self) -> None:
        conn = self._db()
        try:
            rows = [(p, REJECTED, r, n) for (p, r), n in self._rejected.items()]
            self._transaction(lambda c: c.executemany(
                "INSERT INTO counters (provider, outcome, reason, n) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (provider, outcome, reason) DO UPDATE SET n = excluded.n", rows))
        finally:
            conn.close()
            self._conn = None

    # --- writes ---------------------------------------------------------------------------------------------

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        """Record a delivery once: True when it is new (process it), False for a duplicate (do nothing).

        This is the durable step the receiver answers after. `ignored` events (unknown types) are stored as
        already processed, so their retries are still recognised as duplicates.
        """
        return await self._run(self._claim, provider, event_key, kind, payload, delivery_id, ignored)

    def _claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, delivery_id: str | None,
               ignored: bool) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbox (provider, event_key, kind, delivery_id, payload, received_at, processed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (provider, event_key, kind, delivery_id, None if ignored else payload, time.time(), int(ignored)),
            )
            new = cursor.rowcount == 1  # 0: the key was already there, i.e. a duplicate
            _bump(conn, provider, (IGNORED if ignored else ACCEPTED) if new else DUPLICATE)
            return new

        return self._transaction(work)

    def count_rejected(self, provider: str, reason: str) -> None:
        """Count a rejected request (in memory, see the module docstring). Never blocks, never fails."""
        self._rejected[(provider, reason)] += 1

    async def apply(self, provider: str, event_key: str, *, fix: Fix | None = None,
                    face_check: tuple[str, str, str, str] | None = None, change: Change | None = None) -> None:
        """Apply an accepted event's effects and mark it processed, all in one transaction (so it is idempotent:
        a re-run after a crash changes nothing twice). `face_check` is (check id, device, half, message JSON),
        half being "result" or "picture"; `change` a device state it reports."""
        await self._run(self._apply, provider, event_key, fix, face_check, change)

    def _apply(self, provider: str, event_key: str, fix: Fix | None,
               face_check: tuple[str, str, str, str] | None, change: Change | None = None) -> None:
        now = time.time()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO effects (provider, event_key, applied_at) VALUES (?, ?, ?)",
                         (provider, event_key, now))
            if change is not None:
                # as for `latest`: the newest device time wins, so arrival order never decides the state
                conn.execute(
                    "INSERT INTO device_state (provider, device, name, value, device_time, event_key)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (provider, device, name) DO UPDATE SET value = excluded.value,"
                    " device_time = excluded.device_time, event_key = excluded.event_key"
                    " WHERE (excluded.device_time, excluded.event_key)"
                    " > (device_state.device_time, device_state.event_key)",
                    (provider, change.device, change.name, change.value, change.device_time, event_key),
                )
            if fix is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO positions (provider, event_key, device, lat, lon, device_time, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (provider, event_key, fix.device, fix.lat, fix.lon, fix.device_time, now),
                )
                # The newest device time wins; equal times are broken by the event key, so the outcome never
                # depends on arrival order. An older (back-filled) fix leaves the row as it is.
                conn.execute(
                    "INSERT INTO latest (provider, device, lat, lon, device_time, event_key, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (provider, device) DO UPDATE SET lat = excluded.lat, lon = excluded.lon,"
                    " device_time = excluded.device_time, event_key = excluded.event_key,"
                    " received_at = excluded.received_at"
                    " WHERE (excluded.device_time, excluded.event_key) > (latest.device_time, latest.event_key)",
                    (provider, fix.device, fix.lat, fix.lon, fix.device_time, event_key, now),
                )
            if face_check is not None:
                check_id, device, half, message = face_check
                column = {"result": "result", "picture": "picture"}[half]  # never interpolate input into SQL
                conn.execute(
                    f"INSERT INTO face_checks (check_id, device, {column}) VALUES (?, ?, ?)"
                    f" ON CONFLICT (check_id) DO UPDATE SET"
                    f" {column} = coalesce(face_checks.{column}, excluded.{column})",
                    (check_id, device, message),
                )
                conn.execute(
                    "UPDATE face_checks SET completed_at = ? WHERE check_id = ? AND completed_at IS NULL"
                    " AND result IS NOT NULL AND picture IS NOT NULL",
                    (now, check_id),
                )
            conn.execute("UPDATE inbox SET processed = 1, payload = NULL WHERE provider = ? AND event_key = ?",
                         (provider, event_key))

        self._transaction(work)

    # --- reads ----------------------------------------------------------------------------------------------

    async def pending(self) -> list[PendingEvent]:
        """Accepted events not processed yet (after a crash: process them again)."""
        return await self._run(self._pending)

    def _pending(self) -> list[PendingEvent]:
        rows = self._db().execute(
            "SELECT provider, event_key, kind, payload FROM inbox WHERE processed = 0 ORDER BY received_at"
        ).fetchall()
        return [PendingEvent(p, k, kind, bytes(payload or b"")) for p, k, kind, payload in rows]

    async def counts(self, providers: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """{provider: {"accepted": n, "duplicate": n, "ignored": n, "rejected": {reason: n}}}, with an entry
        (of zeros) for each of `providers` at least."""
        rows = await self._run(lambda: self._db().execute(
            "SELECT provider, outcome, n FROM counters WHERE outcome != ?", (REJECTED,)).fetchall())
        out: dict[str, dict[str, Any]] = {}
        for provider in providers:
            _entry(out, provider)
        for provider, outcome, n in rows:
            _entry(out, provider)[outcome] = n
        for (provider, reason), n in sorted(self._rejected.items()):
            _entry(out, provider)["rejected"][reason] = n
        return out

    async def devices(self, device: str | None = None, provider: str | None = None) -> list[dict[str, Any]]:
        """Latest position per device (optionally one device id, optionally of one provider)."""
        sql = "SELECT provider, device, lat, lon, device_time, received_at FROM latest"
        where: list[str] = []
        args: list[str] = []
        if device is not None:
            where.append("device = ?")
            args.append(device)
        if provider is not None:
            where.append("provider = ?")
            args.append(provider)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY provider, device"
        rows = await self._run(lambda: self._db().execute(sql, args).fetchall())
        keys = ("provider", "device", "lat", "lon", "device_time", "received_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    async def effects(self, provider: str, event_key: str) -> dict[str, Any]:
        """What the receiver did with one event: whether it was received and processed, and how many times its
        effects were applied (the reference receiver: at most once)."""
        def read() -> tuple[Any, Any]:
            db = self._db()
            inbox = db.execute("SELECT processed FROM inbox WHERE provider = ? AND event_key = ?",
                               (provider, event_key)).fetchone()
            count = db.execute("SELECT count(*) FROM effects WHERE provider = ? AND event_key = ?",
                               (provider, event_key)).fetchone()
            return inbox, count

        inbox, count = await self._run(read)
        return {"provider": provider, "event_key": event_key, "received": inbox is not None,
                "processed": bool(inbox and inbox[0]), "effects": int(count[0])}

    async def arrivals(self, provider: str, after: int, limit: int) -> list[tuple[int, str]]:
        """(arrival number, event key) of one provider's deliveries in the order they were recorded, after
        arrival number `after`, at most `limit`: what `fleetsim load` reads to find reordered events."""
        sql = ("SELECT rowid, event_key FROM inbox WHERE provider = ? AND rowid > ? ORDER BY rowid LIMIT ?")
        rows = await self._run(lambda: self._db().execute(sql, (provider, after, limit)).fetchall())
        return [(int(r[0]), str(r[1])) for r in rows]

    async def device_state(self, provider: str, device: str) -> dict[str, Any]:
        """{name: {"value", "device_time"}} of one device of one provider ({} when none is known)."""
        rows = await self._run(lambda: self._db().execute(
            "SELECT name, value, device_time FROM device_state WHERE provider = ? AND device = ? ORDER BY name",
            (provider, device)).fetchall())
        return {name: {"value": value, "device_time": t} for name, value, t in rows}

    async def device_count(self) -> int:
        row = await self._run(lambda: self._db().execute("SELECT count(*) FROM latest").fetchone())
        return int(row[0])

    async def face_check(self, check_id: str) -> dict[str, Any] | None:
        row = await self._run(lambda: self._db().execute(
            "SELECT check_id, device, result, picture, completed_at FROM face_checks WHERE check_id = ?",
            (check_id,)).fetchone())
        if row is None:
            return None
        check_id, device, result, picture, completed_at = row
        return {"id": check_id, "device": device, "result": result, "picture": picture,
                "complete": completed_at is not None, "completed_at": completed_at}

    async def face_check_counts(self) -> dict[str, int]:
        row = await self._run(lambda: self._db().execute(
            "SELECT count(completed_at), count(*) - count(completed_at) FROM face_checks").fetchone())
        return {"complete": int(row[0]), "pending": int(row[1])}

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""
        await self._run(lambda: self._db().execute("SELECT 1").fetchone())


def _bump(conn: sqlite3.Connection, provider: str, outcome: str) -> None:
    conn.execute(
        "INSERT INTO counters (provider, outcome, reason, n) VALUES (?, ?, '', 1)"
        " ON CONFLICT (provider, outcome, reason) DO UPDATE SET n = n + 1",
        (provider, outcome),
    )


def _entry(out: dict[str, dict[str, Any]], provider: str) -> dict[str, Any]:
    return out.setdefault(provider, {ACCEPTED: 0, DUPLICATE: 0, IGNORED: 0, REJECTED: {}})
