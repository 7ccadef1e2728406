"""Receivers with one flaw each in what they *do* (their answers stay right), built from the reference receiver so
that only that flaw differs: what only the state probe can show (RPL-06, IDM-02, IDM-03, ORD-01, ORD-02), and a
key on the body's hash (IDM-05), which HTTP shows too."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from simulator.providers.powunity.receive import PowUnityAdapter
from simulator.providers.receiving import epoch, sha256_of
from simulator.servers.receiver import RECEIVER, build_app
from simulator.servers.store import Change, Fix, Store

from .flawed import serve, settings

FLAWS = ("no_dedupe", "look_then_insert", "backfill_regress", "body_hash", "arrival_state", "delivery_id",
         "delivery_replay_cache", "backfill_position", "server_time_order")


class NoDedupe(Store):
    """Records every delivery, but calls each one new: a duplicate is applied again."""

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        await super().claim(provider, event_key, kind, payload, delivery_id=delivery_id, ignored=ignored)
        return True


class LookThenInsert(Store):
    """Deduplicates by looking first, then inserting: two copies that both look before either inserts are both
    new (the race IDM-02 exists for)."""

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        seen = await self._run(lambda: self._db().execute(
            "SELECT 1 FROM inbox WHERE provider = ? AND event_key = ?", (provider, event_key)).fetchone())
        await asyncio.sleep(0)  # any await between the look and the insert lets another copy look too
        await super().claim(provider, event_key, kind, payload, delivery_id=delivery_id, ignored=ignored)
        return seen is None


class LastArrivalWins(Store):
    """Applies like the reference, then overwrites the latest position (backfill_regress), its coordinates alone
    (backfill_position: `fix_time = max(fix_time, new)` beside the last arrival's lat/lon) or the device state
    (arrival_state) with what arrived last, whatever its device time."""

    def __init__(self, overwrite: str) -> None:
        super().__init__()
        self.overwrite = overwrite

    def _apply(self, provider: str, event_key: str, fix: Fix | None,
               face_check: tuple[str, str, str, str] | None, change: Change | None = None) -> None:
        super()._apply(provider, event_key, fix, face_check, change)

        def work(conn: sqlite3.Connection) -> None:
            if self.overwrite == "position" and fix is not None:  # the time kept at the newest, the place not
                conn.execute("UPDATE latest SET lat = ?, lon = ? WHERE provider = ? AND device = ?",
                             (fix.lat, fix.lon, provider, fix.device))
            if self.overwrite == "latest" and fix is not None:
                conn.execute("UPDATE latest SET lat = ?, lon = ?, device_time = ?, event_key = ? WHERE provider = ?"
                             " AND device = ?", (fix.lat, fix.lon, fix.device_time, event_key, provider, fix.device))
            if self.overwrite == "state" and change is not None:
                conn.execute("UPDATE device_state SET value = ?, device_time = ?, event_key = ? WHERE provider = ?"
                             " AND device = ? AND name = ?",
                             (change.value, change.device_time, event_key, provider, change.device, change.name))

        self._transaction(work)


class BodyHash(Store):
    """Also deduplicates on a hash of the message: a second event whose body is the same (its id is elsewhere,
    in a header) is taken for a duplicate and never applied."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        digest = (provider, sha256_of(payload.decode() if payload else ""))
        if digest in self.seen:  # checked and added with no await in between: no race, just the wrong key
            return False
        self.seen.add(digest)
        return await super().claim(provider, event_key, kind, payload, delivery_id=delivery_id, ignored=ignored)


class DeliveryIdDedupe(Store):
    """Deduplicates on the delivery id (Samsara's X-Samsara-Request) instead of the event: a platform's re-send of
    an event, which comes under a new delivery id, is applied again (IDM-01)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        await super().claim(provider, event_key, kind, payload, delivery_id=delivery_id, ignored=ignored)
        key = (provider, delivery_id or event_key)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class DeliveryReplayCache(Store):
    """Not a flaw: deduplicates on the event like the reference, and besides ignores a delivery id it has seen
    (a replay of one delivery: acknowledged, not applied), as receivers guarding against replays do."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: set[tuple[str, str]] = set()

    async def claim(self, provider: str, event_key: str, kind: str, payload: bytes | None, *,
                    delivery_id: str | None = None, ignored: bool = False) -> bool:
        if delivery_id is not None:
            if (provider, delivery_id) in self.deliveries:
                return False
            self.deliveries.add((provider, delivery_id))
        return await super().claim(provider, event_key, kind, payload, delivery_id=delivery_id, ignored=ignored)


def _store(flaw: str) -> Store:
    if flaw == "no_dedupe":
        return NoDedupe()
    if flaw == "look_then_insert":
        return LookThenInsert()
    if flaw == "body_hash":
        return BodyHash()
    if flaw == "delivery_id":
        return DeliveryIdDedupe()
    if flaw == "delivery_replay_cache":
        return DeliveryReplayCache()
    if flaw in ("backfill_regress", "arrival_state", "backfill_position"):
        return LastArrivalWins({"backfill_regress": "latest", "arrival_state": "state"}.get(flaw, "position"))
    return Store()


class ServerTimeOrder(PowUnityAdapter):
    """Orders PowUnity fixes by the event's serverTime (when Traccar received it), not the fix's own time: a late
    fix, stamped on arrival, then wins over the newer one it follows."""

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        fix = super().fix(doc, kind)
        return None if fix is None else Fix(fix.device, fix.lat, fix.lon, epoch(doc["event"]["serverTime"]))


@contextlib.asynccontextmanager
async def flawed_state(flaw: str) -> AsyncIterator[str]:
    """The reference receiver with `flaw` (one of FLAWS)."""
    assert flaw in FLAWS, flaw
    store = _store(flaw)
    app = build_app(settings(), store)
    if flaw == "server_time_order":
        app[RECEIVER].endpoints["powunity"].adapter = ServerTimeOrder()
    async with serve(app, store) as url:
        yield url
