"""Governance beside a ``PostgresStore``: its pool, and its pipelined commits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fluxio import Engine, RunContext
from fluxio.governance import Governance
from fluxio.governance.approvals.postgres import PostgresApprovalStore
from fluxio.governance.audit import Actor, AuditEvent, generate_signing_key, verify
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


async def test_audit_entries_join_the_steps_pipelined_commit(pg_store: PostgresStore) -> None:
    audit = PostgresAuditLog.beside(pg_store)
    governance = Governance(audit=audit, store=pg_store)
    assert governance.trail.shared is pg_store

    async def steps(ctx: RunContext, n: int) -> int:
        for i in range(n):
            await ctx.step(noop, i)
        return n

    engine = Engine(pg_store, workflows={"steps": steps}, interceptors=[governance])
    runs = [await engine.start("steps", 5, tenant_id=t) for t in ("acme", "globex") * 10]
    await engine.drive()
    for run in runs:
        assert await engine.result(run.run_id, tenant_id=run.tenant_id) == 5
    await governance.flush()
    for tenant in ("acme", "globex"):
        entries = await audit.entries(tenant)
        assert len(entries) == 10 * (5 + 2)  # each run: started, five steps, completed
        assert [e.seq for e in entries] == list(range(1, 71))
        assert verify(tenant, entries, head=await audit.head(tenant)).ok


async def test_a_log_that_signs_checkpoints_appends_on_its_own(
    pg_store: PostgresStore,
) -> None:
    key = generate_signing_key()
    audit = PostgresAuditLog.beside(pg_store, signing_key=key, checkpoint_every=3)
    governance = Governance(audit=audit, store=pg_store)
    assert governance.trail.shared is None  # a checkpoint needs each entry's hash back

    async def one(ctx: RunContext, _: object) -> int:
        return int(await ctx.step(noop, 1))

    engine = Engine(pg_store, workflows={"one": one}, interceptors=[governance])
    assert await engine.run("one") == 1
    assert [c.seq for c in await audit.checkpoints("default")] == [3]


async def noop(value: int) -> int:
    return value
