"""Bad files, locks, full disks and newer schemas: a clear error, and the data left intact."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest

from fluxio.errors import DatabaseLocked, IncompatibleDatabase, StorageFull
from fluxio.store.migrations import LATEST
from fluxio.store.records import Commit, EntryKind, JournalEntry, NewRun, RunQuery
from fluxio.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

T0 = 1_000.0


async def _store_with_runs(path: Path, count: int = 3) -> list[str]:
    """Write ``count`` runs, each with one journal entry, and close the store."""
    store = SQLiteStore(path)
    ids = [f"run-{i}" for i in range(count)]
    for run_id in ids:
        await store.create_run(NewRun(run_id, "acme", "wf", {"n": run_id}, T0))
    for claim in await store.claim("w1", limit=count, lease_seconds=30, now=T0):
        entry = JournalEntry(1, "1", EntryKind.OUTCOME, "step", value=claim.run.run_id)
        await store.commit(Commit(claim.lease, (entry,), now=T0))
    await store.close()
    return ids


async def _assert_intact(path: Path, ids: list[str]) -> None:
    """Reopen the file and read back every run and first journal entry written before."""
    store = SQLiteStore(path)
    try:
        runs = {r.run_id: r for r in await store.list_runs(RunQuery(tenant_id="acme"))}
        assert set(ids) <= set(runs)
        for run_id in ids:
            assert runs[run_id].input == {"n": run_id}
            journal = await store.read_journal("acme", run_id)
            assert journal[0].value == run_id
    finally:
        await store.close()


async def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = os.urandom(16_384)
    path.write_bytes(content)
    with pytest.raises(IncompatibleDatabase) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert "is not a fluxio database or is damaged" in message
    assert str(path) in message
    assert "The file was not changed" in message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


async def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ana'), ('Bo')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(IncompatibleDatabase) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert "is a SQLite database but not a fluxio one" in message
    assert "customers" in message
    assert "Nothing was changed" in message
    assert path.read_bytes() == before  # not even switched to WAL
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT name FROM customers ORDER BY id").fetchall() == [
            ("Ana",),
            ("Bo",),
        ]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert tables == {"customers"}
    finally:
        conn.close()


async def test_a_newer_schema_version_is_refused_and_left_intact(tmp_path: Path) -> None:
    path = tmp_path / "fluxio.db"
    ids = await _store_with_runs(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE fluxio_meta SET value=? WHERE key='schema_version'", (str(LATEST + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(IncompatibleDatabase) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert f"has schema version {LATEST + 1}, written by a newer fluxio" in message
    assert "Upgrade fluxio" in message
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM fluxio_meta WHERE key='schema_version'").fetchone()
    assert version == (str(LATEST + 1),)  # the refusal did not "repair" the version
    conn.execute("UPDATE fluxio_meta SET value=? WHERE key='schema_version'", (str(LATEST),))
    conn.commit()
    conn.close()
    await _assert_intact(path, ids)


async def test_a_locked_database_raises_database_locked_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "fluxio.db"
    ids = await _store_with_runs(path)
    store = SQLiteStore(path, busy_timeout=0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseLocked) as caught:
            await store.create_run(NewRun("blocked", "acme", "wf", None, T0))
        message = str(caught.value)
        assert "stayed locked by another process for more than 0.1s" in message
        assert "raise busy_timeout" in message
        assert "Nothing was written" in message
        assert await store.get_run("acme", "run-0") is not None  # reads still work
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await store.get_run("acme", "blocked") is None
    await store.create_run(NewRun("after", "acme", "wf", None, T0))  # works once released
    assert await store.get_run("acme", "after") is not None
    await store.close()
    await _assert_intact(path, ids)


async def test_a_full_disk_raises_storage_full_and_keeps_earlier_commits(tmp_path: Path) -> None:
    path = tmp_path / "fluxio.db"
    ids = await _store_with_runs(path)
    store = SQLiteStore(path)
    (claim,) = await store.claim("w2", limit=1, lease_seconds=30, now=T0 + 100, run_ids=["run-0"])
    ok = JournalEntry(2, "2", EntryKind.OUTCOME, "small", value="fits")
    await store.commit(Commit(claim.lease, (ok,), now=T0 + 100))
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count={pages + 2}")
    big = JournalEntry(3, "3", EntryKind.OUTCOME, "big", value="x" * 200_000)
    with pytest.raises(StorageFull) as caught:
        await store.commit(Commit(claim.lease, (big,), now=T0 + 100))
    message = str(caught.value)
    assert "the disk is full" in message
    assert "free some space and retry" in message
    assert "stored data is intact" in message
    journal = await store.read_journal("acme", "run-0")
    assert [e.value for e in journal] == ["run-0", "fits"]
    await store.close()
    await _assert_intact(path, ids)
    store = SQLiteStore(path)
    try:
        assert [e.value for e in await store.read_journal("acme", "run-0")] == ["run-0", "fits"]
        (claim,) = await store.claim("w3", limit=1, lease_seconds=30, now=T0 + 200)
        assert claim.run.run_id == "run-0"  # the refused commit neither moved nor lost it
        await store.commit(Commit(claim.lease, (big,), now=T0 + 200))  # with space: it fits
        assert len(await store.read_journal("acme", "run-0")) == 3
    finally:
        await store.close()


def test_processes_opening_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "new.db"
    script = (
        "import asyncio, sys\n"
        "from fluxio.store.sqlite import SQLiteStore\n"
        "from fluxio.store.records import NewRun\n"
        "async def main():\n"
        "    async with SQLiteStore(sys.argv[1]) as store:\n"
        "        await store.create_run(NewRun(sys.argv[2], 't', 'wf', None, 0.0))\n"
        "asyncio.run(main())\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db), f"r{i}"], stderr=subprocess.PIPE)
        for i in range(6)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (6,)
