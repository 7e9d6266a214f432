"""Approval fixtures: the desk on every backend (memory, SQLite file, PostgreSQL schema).

``store`` (tests/conftest.py) gives the run store on each backend; the approval store lives
beside it (``open_approval_store``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.governance.approvals.support import REFUNDED, Desk

from fluxio.governance import (
    ApprovalStore,
    MemoryApprovalStore,
    SQLiteApprovalStore,
    open_approval_store,
)
from fluxio.governance.approvals.postgres import PostgresApprovalStore
from fluxio.store.base import Store
from fluxio.testing.postgres import PostgresSandbox


@pytest.fixture(autouse=True)
def forget_refunds() -> None:
    REFUNDED.clear()


@pytest.fixture
async def desk(store: Store) -> AsyncIterator[Desk]:
    """A governed engine on each store, its approval store beside it."""
    approvals_store = await open_approval_store(store)
    yield Desk(store, approvals_store)
    await approvals_store.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def approval_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ApprovalStore]:
    """An approval store on each backend."""
    if request.param == "memory":
        yield MemoryApprovalStore()
        return
    if request.param == "sqlite":
        sqlite = SQLiteApprovalStore(tmp_path / "fluxio.db")
        yield sqlite
        await sqlite.close()
        return
    sandbox: PostgresSandbox = request.getfixturevalue("postgres")
    schema = sandbox.new_schema()
    pg = await PostgresApprovalStore.connect(sandbox.app_url, schema=schema)
    try:
        yield pg
    finally:
        await pg.close()
        sandbox.drop_schema(schema)
