"""Governance tables beside a ``PostgresStore`` share its connection pool."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fluxio.governance.approvals.postgres import PostgresApprovalStore
from fluxio.governance.audit import Actor, AuditEvent
from fluxio.governance.audit.postgres import PostgresAuditLog
from fluxio.governance.budgets import ledger_for
from fluxio.governance.budgets.postgres import PostgresLedger
from fluxio.store.postgres import PostgresStore
from fluxio.store.records import NewRun
from fluxio.testing.postgres import PostgresSandbox

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pg_store(postgres: PostgresSandbox, pg_schema: str) -> AsyncIterator[PostgresStore]:
    store = await PostgresStore.connect(postgres.app_url, schema=pg_schema, pool_size=3)
    yield store
    await store.close()


async def test_components_beside_a_store_use_its_pool_and_leave_it_open(
    pg_store: PostgresStore,
) -> None:
    audit = PostgresAuditLog.beside(pg_store)
    approvals = PostgresApprovalStore.beside(pg_store)
    ledger = await ledger_for(pg_store)
    assert isinstance(ledger, PostgresLedger)
    for component in (audit, approvals, ledger):
        assert component._pool is pg_store.pool
        assert component.schema == pg_store.schema
    entry = await audit.append(AuditEvent("acme", Actor("a"), "tool.called"))
    assert (await audit.entries("acme")) == [entry]  # scoped to the tenant by RLS
    assert await audit.entries("globex") == []
    assert await approvals.requests("acme") == []
    for component in (audit, approvals, ledger):
        await component.close()
    _, created = await pg_store.create_run(NewRun("r1", "acme", "wf", None, 1.0))
    assert created  # the store's pool is still open
    assert pg_store.pool.get_stats()["pool_max"] == 3  # one pool, the store's own size
