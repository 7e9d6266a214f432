"""What only the PostgreSQL store has to prove: tenant isolation by row-level security,
wake-ups across processes, URLs with special characters, and clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from fluxio.errors import IncompatibleDatabase, StoreError
from fluxio.store.migrations import LATEST
from fluxio.store.postgres import CHANNEL, PostgresStore, redact_url
from fluxio.store.records import (
    Commit,
    ConcurrencyLimit,
    NewRun,
    RunQuery,
    RunStatus,
    Transition,
)
from fluxio.testing.postgres import APP_PASSWORD, PostgresSandbox

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pg(postgres: PostgresSandbox, pg_schema: str) -> AsyncIterator[PostgresStore]:
    store = await PostgresStore.connect(postgres.app_url, schema=pg_schema, pool_size=2)
    yield store
    await store.close()


def _new(run_id: str, tenant: str) -> NewRun:
    return NewRun(run_id, tenant, "wf", {"secret": tenant}, 1000.0)


async def test_a_connection_without_a_tenant_sees_no_rows(
    pg: PostgresStore, postgres: PostgresSandbox, pg_schema: str
) -> None:
    await pg.create_run(_new("r1", "acme"))
    async with await psycopg.AsyncConnection.connect(
        postgres.app_url, autocommit=True, options=f"-c search_path={pg_schema}"
    ) as conn:
        cur = await conn.execute("SELECT count(*) FROM runs")
        assert (await cur.fetchone()) == (0,)
        async with conn.transaction():
            await conn.execute("SELECT set_config('fluxio.tenant', 'acme', true)")
            cur = await conn.execute("SELECT count(*) FROM runs")
            assert (await cur.fetchone()) == (1,)


async def test_a_tenant_scope_hides_other_tenants_even_without_a_where(
    pg: PostgresStore, postgres: PostgresSandbox, pg_schema: str
) -> None:
    await pg.create_run(_new("a1", "acme"))
    await pg.create_run(_new("g1", "globex"))
    async with (
        await psycopg.AsyncConnection.connect(
            postgres.app_url, autocommit=True, options=f"-c search_path={pg_schema}"
        ) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT set_config('fluxio.tenant', 'globex', true)")
        cur = await conn.execute("SELECT run_id FROM runs")  # no WHERE on purpose
        assert await cur.fetchall() == [("g1",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute(
                "INSERT INTO runs (tenant_id, run_id, workflow, status, created_at, updated_at) "
                "VALUES ('acme', 'forged', 'wf', 'pending', 0, 0)"
            )


async def test_store_reads_are_scoped_to_the_asked_tenant(pg: PostgresStore) -> None:
    await pg.create_run(_new("same-id", "acme"))
    await pg.create_run(_new("same-id", "globex"))
    acme = await pg.list_runs(RunQuery(tenant_id="acme"))
    assert [(r.tenant_id, r.input) for r in acme] == [("acme", {"secret": "acme"})]
    assert await pg.get_run("initech", "same-id") is None


async def test_url_with_special_characters_in_the_password_connects(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    url = postgres.app_url
    for encoded in ("%40", "%2F", "%23", "%3F"):  # @ / # ? percent-encoded
        assert encoded in url
    store = await PostgresStore.connect(url, schema=pg_schema, pool_size=1)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()
    assert APP_PASSWORD not in redact_url(url)
    assert redact_url(url).startswith("postgresql://fluxio_app:***@127.0.0.1")


async def test_another_process_creating_work_wakes_a_listening_worker(
    pg: PostgresStore, postgres: PostgresSandbox, pg_schema: str
) -> None:
    woken = asyncio.Event()
    pg.on_wake(woken.set)
    await asyncio.sleep(0.3)  # the listener connects
    woken.clear()
    other = await PostgresStore.connect(postgres.app_url, schema=pg_schema, pool_size=1)
    try:
        await other.create_run(_new("new", "acme"))
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await other.close()


async def test_unreachable_server_is_a_store_error_naming_the_host_not_the_password() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as info:
        await PostgresStore.connect(
            "postgresql://someone:hunter2@127.0.0.1:1/nowhere", connect_timeout=1
        )
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


async def test_a_foreign_schema_is_refused_untouched(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    async with await psycopg.AsyncConnection.connect(
        postgres.app_url, autocommit=True, options=f"-c search_path={pg_schema}"
    ) as conn:
        await conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(IncompatibleDatabase, match="not a fluxio database"):
        await PostgresStore.connect(postgres.app_url, schema=pg_schema, pool_size=1)


async def test_a_newer_schema_is_refused_untouched(pg: PostgresStore, pg_schema: str) -> None:
    async with pg._pool.connection() as conn:
        await conn.execute(
            "UPDATE fluxio_meta SET value = %s WHERE key = 'schema_version'", (str(LATEST + 1),)
        )
    with pytest.raises(IncompatibleDatabase, match="newer fluxio"):
        await PostgresStore.connect(pg.url, schema=pg_schema, pool_size=1)


async def test_a_connection_whose_prepared_statements_were_lost_is_replaced(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    """After an outage a pooled connection can believe a statement is prepared when the
    server has no such statement (an interrupted pipeline); the store must not keep failing
    on that connection forever."""
    store = await PostgresStore.connect(postgres.app_url, schema=pg_schema, pool_size=1)
    try:
        await store.create_run(NewRun("r1", "acme", "wf", None, 1.0))
        for _ in range(8):  # past psycopg's prepare threshold: the read is now prepared
            assert await store.get_run("acme", "r1") is not None
            await store.claim("w1", now=2.0, lease_seconds=30.0, limit=1, workflows=["none"])
        async with store.pool.connection() as conn:  # the server forgets, psycopg does not
            conn.pgconn.exec_(b"DEALLOCATE ALL")
        for _ in range(3):
            assert await store.get_run("acme", "r1") is not None
            assert (
                await store.claim("w1", now=2.0, lease_seconds=30.0, limit=1, workflows=["none"])
                == []
            )
    finally:
        await store.close()


async def test_a_run_leaving_a_capped_slot_wakes_the_workers_at_once(
    pg: PostgresStore, postgres: PostgresSandbox
) -> None:
    """Under a concurrency limit, a waiting worker hears that a slot is free (NOTIFY) rather
    than finding out at its next poll."""
    await pg.set_limit(ConcurrencyLimit("acme", "*", 1))
    for run_id in ("r1", "r2"):
        await pg.create_run(_new(run_id, "acme"))
    [first] = await pg.claim("w1", now=1000.0, lease_seconds=30.0, limit=10)
    assert await pg.claim("w2", now=1000.0, lease_seconds=30.0, limit=10) == []  # capped
    async with await psycopg.AsyncConnection.connect(postgres.app_url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        done = Transition(RunStatus.COMPLETED, result=1)
        await pg.commit(Commit(first.lease, transition=done, now=1001.0))
        heard = [n async for n in conn.notifies(timeout=5.0, stop_after=1)]
    assert len(heard) == 1
    [second] = await pg.claim("w2", now=1002.0, lease_seconds=30.0, limit=10)
    assert second.run.run_id == "r2"
