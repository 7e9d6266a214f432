"""Real contention: two processes on one SQLite file, a held write lock, an unreachable server."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.governance.audit.conftest import PG_URL

from fluxio.errors import DatabaseLocked, IncompatibleDatabase, StoreError, UsageError
from fluxio.governance.audit import Actor, AuditEvent, SQLiteAuditLog, verify_log
from fluxio.governance.audit.postgres import PostgresAuditLog

pytestmark = pytest.mark.anyio

APPENDER = textwrap.dedent(
    """
    import asyncio, sys
    from fluxio.governance.audit import Actor, AuditEvent, SQLiteAuditLog

    async def main(path, name):
        log = SQLiteAuditLog(path, durability="normal", busy_timeout=30)
        for round in range(4):
            await asyncio.gather(*(
                log.append(AuditEvent("acme", Actor(name, "agent"), "tool.called",
                                      target=f"{name}:{round}:{i}"))
                for i in range(25)
            ))
        await log.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_two_processes_appending_to_one_sqlite_file_make_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "fluxio.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(db), name], stderr=subprocess.PIPE)
        for name in ("left", "right")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err.decode()
    async with SQLiteAuditLog(db) as log:
        report = await verify_log(log, "acme")
        entries = await log.entries("acme")
    assert report.ok, report
    assert [e.seq for e in entries] == list(range(1, 201))
    assert {e.actor.id for e in entries} == {"left", "right"}


async def test_a_write_lock_held_too_long_fails_cleanly_and_writes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "fluxio.db"
    async with SQLiteAuditLog(db, busy_timeout=0.1) as log:
        await log.append(AuditEvent("acme", Actor("a"), "tool.called"))
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(DatabaseLocked, match="stayed locked by another process"):
                await log.append(AuditEvent("acme", Actor("a"), "tool.called"))
            other.execute("ROLLBACK")
        assert (await log.head("acme")).seq == 1
        await log.append(AuditEvent("acme", Actor("a"), "tool.called"))
        assert (await verify_log(log, "acme")).ok


async def test_a_file_that_is_not_a_fluxio_database_is_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(foreign)) as conn, conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    log = SQLiteAuditLog(foreign)
    with pytest.raises(IncompatibleDatabase, match="not a fluxio one"):
        await log.append(AuditEvent("acme", Actor("a"), "tool.called"))
    await log.close()
    with contextlib.closing(sqlite3.connect(foreign)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"notes"}


def test_a_bad_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="durability must be"):
        SQLiteAuditLog(tmp_path / "x.db", durability="fast")  # type: ignore[arg-type]


async def test_an_unreachable_postgres_fails_with_what_to_check() -> None:
    log = PostgresAuditLog("postgresql://postgres@127.0.0.1:1/test", connect_timeout=1)
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        await log.append(AuditEvent("acme", Actor("a"), "tool.called"))
    await log.close()


def test_a_bad_postgres_schema_name_is_refused() -> None:
    with pytest.raises(UsageError, match="plain SQL identifier"):
        PostgresAuditLog(PG_URL, schema="x; DROP TABLE runs")


async def test_two_postgres_pools_never_fork_the_chain(pg_schema: str) -> None:
    import asyncio

    logs = [PostgresAuditLog(PG_URL, schema=pg_schema, pool_size=3) for _ in range(2)]
    try:
        await asyncio.gather(
            *(
                log.append(AuditEvent("acme", Actor(f"w{n}", "agent"), "tool.called"))
                for _ in range(25)
                for n, log in enumerate(logs)
            )
        )
        report = await verify_log(logs[0], "acme")
        assert report.ok, report
        assert report.entries == 50
    finally:
        for log in logs:
            await log.close()
