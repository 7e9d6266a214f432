"""Ledger errors say what happened and what to do; nothing is half-written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from budget_steps import tool_step

from fluxio.errors import DatabaseLocked, IncompatibleDatabase, StoreError, UsageError
from fluxio.governance.budgets import (
    Budget,
    BudgetEnforcer,
    MemoryLedger,
    SQLiteLedger,
    estimate_step,
    ledger_for,
)
from fluxio.governance.budgets.postgres import PostgresLedger
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


async def test_a_ledger_for_an_unknown_store_says_how_to_make_one() -> None:
    assert isinstance(await ledger_for(MemoryStore()), MemoryLedger)
    with pytest.raises(UsageError, match="there is no budget ledger for a"):
        await ledger_for(object())  # type: ignore[arg-type]


async def test_a_locked_sqlite_file_is_reported_and_nothing_is_held(tmp_path: Path) -> None:
    path = tmp_path / "fluxio.db"
    ledger = SQLiteLedger(path, busy_timeout=0.05)
    gate = BudgetEnforcer(ledger, [Budget("b", "run", limit_usd=1)])
    step = tool_step(0.5)
    await ledger.rollup("run")  # opened and migrated
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseLocked, match="stayed locked by another process"):
            await gate.reserve(step, estimate_step(step))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await ledger.rollup("run") == []
    assert (await gate.reserve(step, estimate_step(step))).usd == 0.5
    await ledger.close()


async def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(IncompatibleDatabase, match="not a fluxio one"):
        await SQLiteLedger(path).rollup("day")


async def test_an_unreachable_postgresql_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        await PostgresLedger.connect("postgresql://127.0.0.1:1/none", connect_timeout=1)


def test_a_schema_must_be_a_plain_identifier() -> None:
    with pytest.raises(UsageError, match="must be a plain SQL identifier"):
        PostgresLedger("postgresql:///x", schema="a; DROP TABLE runs")
