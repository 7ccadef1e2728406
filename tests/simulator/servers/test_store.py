"""The receiver's store: every write is one transaction, and a transaction that fails half-way leaves nothing
behind (the dedupe key, the counters, the positions and the face checks move together or not at all)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from simulator.servers.store import Fix, Store, StoreUnavailable


class _FailingConnection:
    """The store's connection, except that the first statement containing `fail_on` raises like a full disk."""

    def __init__(self, conn: sqlite3.Connection, fail_on: str) -> None:
        self._conn = conn
        self.fail_on = fail_on
        self.failed = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if not self.failed and self.fail_on in sql:
            self.failed = True
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._conn.executemany(sql, *args)


class FailingStore(Store):
    """A Store whose next statement containing `fail_on` fails (set it, then call the write under test)."""

    fail_on: str | None = None

    def _db(self) -> sqlite3.Connection:
        conn = super()._db()
        if self.fail_on is None:
            return conn
        failing = _FailingConnection(conn, self.fail_on)
        self.fail_on = None  # one failure per arming
        return failing  # type: ignore[return-value]  # quacks like one for the store's calls


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    conn = store._conn
    assert conn is not None
    return store._executor.submit(lambda: conn.execute(sql).fetchall()).result()


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {table: _rows(store, f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("inbox", "positions", "latest", "face_checks", "counters")}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FailingStore]:
    store = FailingStore(tmp_path / "receiver.db")
    yield store
    await store.close()


async def test_a_claim_whose_counter_update_fails_records_no_dedupe_key(store: FailingStore) -> None:
    store.fail_on = "INSERT INTO counters"  # after the inbox row is inserted, in the same transaction
    with pytest.raises(StoreUnavailable, match="database or disk is full"):
        await store.claim("samsara", "evt-1", "alert_v1", b'{"eventId": "evt-1"}')
    assert _snapshot(store)["inbox"] == [] and _snapshot(store)["counters"] == []
    assert await store.pending() == []
    # the sender retries (503 tells it to): the event is new, and counted once
    assert await store.claim("samsara", "evt-1", "alert_v1", b'{"eventId": "evt-1"}') is True
    assert await store.claim("samsara", "evt-1", "alert_v1", b'{"eventId": "evt-1"}') is False
    counts = (await store.counts())["samsara"]
    assert (counts["accepted"], counts["duplicate"]) == (1, 1)


async def test_a_claim_whose_inbox_insert_fails_changes_nothing(store: FailingStore) -> None:
    assert await store.claim("mettax", "gps:1", "gps", b"{}")
    before = _snapshot(store)
    store.fail_on = "INSERT OR IGNORE INTO inbox"
    with pytest.raises(StoreUnavailable):
        await store.claim("mettax", "gps:2", "gps", b"{}")
    assert _snapshot(store) == before


@pytest.mark.parametrize("fail_on", ["INSERT INTO latest", "UPDATE inbox SET processed", "UPDATE face_checks"])
async def test_processing_that_fails_half_way_leaves_no_partial_state_and_stays_pending(
    store: FailingStore, fail_on: str,
) -> None:
    payload = orjson.dumps({"id": "1_2", "deviceId": "dev"})
    assert await store.claim("mettax", "face_check_result:1_2", "face_check_result", payload)
    before = _snapshot(store)
    store.fail_on = fail_on
    with pytest.raises(StoreUnavailable):
        await store.apply("mettax", "face_check_result:1_2", fix=Fix("dev", 1.0, 2.0, 100.0),
                          face_check=("1_2", "dev", "result", '{"id": "1_2"}'))
    # no position, no latest fix, no half of a face check, and the event is still waiting to be processed
    assert _snapshot(store) == before
    assert [(e.event_key, e.payload) for e in await store.pending()] == [("face_check_result:1_2", payload)]
    # processed again (as after a restart), it takes effect exactly once
    await store.apply("mettax", "face_check_result:1_2", fix=Fix("dev", 1.0, 2.0, 100.0),
                      face_check=("1_2", "dev", "result", '{"id": "1_2"}'))
    assert await store.pending() == []
    assert [(d["lat"], d["lon"]) for d in await store.devices("dev")] == [(1.0, 2.0)]
    assert _rows(store, "SELECT count(*) FROM positions") == [(1,)]
    check = await store.face_check("1_2")
    assert check is not None and check["result"] == '{"id": "1_2"}' and check["complete"] is False


async def test_a_failed_write_leaves_the_store_usable(store: FailingStore) -> None:
    store.fail_on = "INSERT INTO counters"
    with pytest.raises(StoreUnavailable):
        await store.claim("smartgps", "k", "event", b"{}")
    # the transaction was rolled back, not left open: the next write can begin its own
    assert await store.claim("smartgps", "k2", "event", b"{}")
    await store.apply("smartgps", "k2", fix=Fix("d", 3.0, 4.0, 1.0))
    await store.ping()
    assert (await store.counts())["smartgps"]["accepted"] == 1


async def test_state_survives_a_reopen_only_for_committed_writes(tmp_path: Path) -> None:
    db = tmp_path / "receiver.db"
    store = FailingStore(db)
    assert await store.claim("powunity", "1", "webhook", b"{}")
    store.fail_on = "INSERT INTO counters"
    with pytest.raises(StoreUnavailable):
        await store.claim("powunity", "2", "webhook", b"{}")
    store.count_rejected("powunity", "auth_mismatch")
    await store.close()
    reopened = Store(db)
    try:
        assert [e.event_key for e in await reopened.pending()] == ["1"]
        counts = (await reopened.counts())["powunity"]
        assert (counts["accepted"], counts["rejected"]) == (1, {"auth_mismatch": 1})
    finally:
        await reopened.close()
