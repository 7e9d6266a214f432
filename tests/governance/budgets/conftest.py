"""Budget ledger fixtures on every backend: memory, a SQLite file, a PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from budget_steps import Clock, MakeLedger

from fluxio.governance.budgets import Ledger, MemoryLedger, SQLiteLedger
from fluxio.governance.budgets.postgres import PostgresLedger
from fluxio.testing.postgres import PostgresSandbox


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def make_ledger(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[MakeLedger]:
    """Opens ledgers on one database of the backend (memory: the same ledger every time)."""
    made: list[Ledger] = []
    memory = MemoryLedger(clock=clock)
    sandbox: PostgresSandbox | None = None
    schema = ""
    if request.param == "postgres":
        sandbox = request.getfixturevalue("postgres")
        schema = sandbox.new_schema()

    async def make() -> Ledger:
        ledger: Ledger
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            ledger = SQLiteLedger(tmp_path / "fluxio.db", durability="normal", clock=clock)
        else:
            assert sandbox is not None
            ledger = await PostgresLedger.connect(sandbox.app_url, schema=schema, clock=clock)
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        await ledger.close()
    if sandbox is not None:
        sandbox.drop_schema(schema)


@pytest.fixture
async def ledger(make_ledger: MakeLedger) -> Ledger:
    return await make_ledger()
