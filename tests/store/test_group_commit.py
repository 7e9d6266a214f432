"""Group commit: concurrent runs' commits share one SQLite transaction, failures stay their own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fluxio.errors import LeaseLost, StoreError
from fluxio.store.records import Claim, Commit, EntryKind, JournalEntry, NewRun
from fluxio.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

T0 = 1_000.0


async def _claimed(store: SQLiteStore, count: int) -> list[Claim]:
    for i in range(count):
        await store.create_run(NewRun(f"r{i}", "acme", "wf", None, T0))
    return await store.claim("w1", limit=count, lease_seconds=30, now=T0)


def _outcome(seq: int, key: str, value: object) -> JournalEntry:
    return JournalEntry(seq, key, EntryKind.OUTCOME, "step", value=value)


def _traced(store: SQLiteStore) -> list[str]:
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    return statements


async def test_concurrent_commits_share_one_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "fluxio.db")
    claims = await _claimed(store, 8)
    statements = _traced(store)
    await asyncio.gather(
        *(store.commit(Commit(c.lease, (_outcome(1, "1", c.run.run_id),))) for c in claims)
    )
    store._conn.set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    await store.close()
    reopened = SQLiteStore(tmp_path / "fluxio.db")
    for claim in claims:
        journal = await reopened.read_journal("acme", claim.run.run_id)
        assert [e.value for e in journal] == [claim.run.run_id]
    await reopened.close()


async def test_a_refused_commit_in_a_batch_does_not_roll_back_the_others(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "fluxio.db")
    claims = await _claimed(store, 4)
    stale, duplicate, *good = claims
    await store.commit(Commit(duplicate.lease, (_outcome(1, "1", "first"),)))
    (taken,) = await store.claim("w2", limit=1, lease_seconds=30, now=T0 + 31, run_ids=["r0"])
    assert taken.lease.epoch == stale.lease.epoch + 1
    statements = _traced(store)
    results = await asyncio.gather(
        store.commit(Commit(stale.lease, (_outcome(1, "1", "late"),))),
        store.commit(Commit(duplicate.lease, (_outcome(2, "2", "x"), _outcome(3, "1", "again")))),
        *(store.commit(Commit(c.lease, (_outcome(1, "1", c.run.run_id),))) for c in good),
        return_exceptions=True,
    )
    store._conn.set_trace_callback(None)
    # the optimistic transaction is rolled back, then the batch is replayed with savepoints
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert statements.count("SAVEPOINT op") == len(claims)
    assert isinstance(results[0], LeaseLost)
    assert "was taken over by another worker" in str(results[0])
    assert isinstance(results[1], StoreError)
    assert not isinstance(results[1], LeaseLost)
    assert results[2:] == [None] * len(good)
    await store.close()
    reopened = SQLiteStore(tmp_path / "fluxio.db")
    assert await reopened.read_journal("acme", "r0") == []
    assert [e.value for e in await reopened.read_journal("acme", "r1")] == ["first"]
    for claim in good:
        journal = await reopened.read_journal("acme", claim.run.run_id)
        assert [e.value for e in journal] == [claim.run.run_id]
    await reopened.close()


async def test_a_batch_without_refusals_commits_once_without_savepoints(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "fluxio.db")
    claims = await _claimed(store, 5)
    statements = _traced(store)
    await asyncio.gather(
        *(store.commit(Commit(c.lease, (_outcome(1, "1", c.run.run_id),))) for c in claims)
    )
    store._conn.set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    assert not [s for s in statements if s.startswith("SAVEPOINT")]
    await store.close()
