"""The databases a ``WorkerPool`` runs its workers on: a SQLite file or a PostgreSQL schema.

Each knows the worker command-line arguments that select it, opens a test-side store, tells
whether a (paused) worker still holds locks in it, and answers the few questions the tests
ask the database directly, behind the store's back.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from fluxio.store.base import Store
from fluxio.store.records import EntryKind, JournalEntry
from fluxio.testing.postgres import PostgresSandbox


class SQLiteDatabase:
    """A SQLite file shared by the test and its workers."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def worker_args(self) -> list[str]:
        return [str(self.path)]

    async def open_store(self, durability: str = "normal") -> Store:
        from fluxio.store.sqlite import SQLiteStore

        return SQLiteStore(self.path, durability=durability, busy_timeout=30.0)  # type: ignore[arg-type]

    def busy(self, pid: int) -> bool:
        """Whether someone (the paused worker ``pid``) holds the write lock."""
        conn = sqlite3.connect(self.path, timeout=0.2)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()

    def signals_left(self) -> int:
        with sqlite3.connect(self.path) as conn:
            return int(conn.execute("SELECT count(*) FROM signals").fetchone()[0])


class PostgresDatabase:
    """A sandbox schema: workers connect as the ordinary role, checks as the administrator.

    Args:
        sandbox: the PostgreSQL sandbox of the test session.
        schema: this test's schema.
        worker_url: the URL workers connect to (default: the sandbox's; a proxy's for outages).
    """

    name = "postgres"

    def __init__(self, sandbox: PostgresSandbox, schema: str, worker_url: str | None = None):
        self.sandbox = sandbox
        self.schema = schema
        self.worker_url = worker_url or sandbox.app_url

    def worker_args(self) -> list[str]:
        return ["--postgres", self.worker_url, "--schema", self.schema]

    async def open_store(self, durability: str = "normal") -> Store:
        """A store for the test process, connected straight to PostgreSQL (never the proxy)."""
        from fluxio.store.postgres import PostgresStore

        del durability  # PostgreSQL commits are always durable
        return await PostgresStore.connect(self.sandbox.app_url, schema=self.schema, pool_size=4)

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``text`` run as the administrator (no row-level security) in the schema."""
        with psycopg.connect(
            self.sandbox.admin_url, autocommit=True, options=f"-c search_path={self.schema}"
        ) as conn:
            return conn.execute(text, params).fetchall()

    def busy(self, pid: int) -> bool:
        """Whether worker ``pid`` has a statement running or a transaction open (locks held)."""
        for _ in range(2):  # twice, for statements still on their way when it was paused
            rows = self.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND state IS DISTINCT FROM 'idle'",
                (f"fluxio-worker-{pid}",),
            )
            if rows[0][0]:
                return True
            time.sleep(0.02)
        return False

    def signals_left(self) -> int:
        return int(self.query("SELECT count(*) FROM signals")[0][0])

    def journals(self, tenant_id: str = "default") -> dict[str, list[JournalEntry]]:
        """Every run's journal of ``tenant_id``, read straight from the table."""
        rows = self.query(
            "SELECT run_id, seq, step_key, kind, name, ok, value, attempts, started_at, "
            "finished_at FROM journal WHERE tenant_id = %s ORDER BY run_id, seq",
            (tenant_id,),
        )
        out: dict[str, list[JournalEntry]] = {}
        for run_id, seq, key, kind, name, ok, value, attempts, started, finished in rows:
            entry = JournalEntry(
                seq, key, EntryKind(kind), name, ok, value, attempts, started, finished
            )
            out.setdefault(run_id, []).append(entry)
        return out

    def outcome_counts(self) -> dict[tuple[str, str, str], int]:
        """(tenant, run, step key) → committed outcomes, for every step with an entry."""
        rows = self.query(
            "SELECT tenant_id, run_id, step_key, count(*) FILTER (WHERE kind = 'outcome') "
            "FROM journal GROUP BY tenant_id, run_id, step_key"
        )
        return {(t, r, k): int(n) for t, r, k, n in rows}

    def held_by(self, pid: int) -> int:
        """How many runs worker process ``pid`` holds a live lease on now."""
        rows = self.query(
            "SELECT count(*) FROM runs WHERE lease_owner LIKE %s AND lease_expires_at >= %s",
            (f"%:{pid}:%", time.time()),
        )
        return int(rows[0][0])

    def epochs(self) -> dict[str, int]:
        """run id → fencing epoch (how many times the run was claimed)."""
        return {r: int(e) for r, e in self.query("SELECT run_id, epoch FROM runs")}


Database = SQLiteDatabase | PostgresDatabase
"""Either kind of database a ``WorkerPool`` can use."""
