"""Limit counters are durable and atomic on every backend, and the engine spends them right."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from fluxio.errors import StoreError
from fluxio.governance.policies import (
    Action,
    AgentRef,
    LimitCounter,
    MemoryLimitCounter,
    PolicyEngine,
    PostgresLimitCounter,
    SQLiteLimitCounter,
    parse_policies,
)
from fluxio.store.postgres import PostgresStore
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing.postgres import PostgresSandbox

pytestmark = pytest.mark.anyio

NOON = dt.datetime(2025, 3, 3, 12, 0, 30, tzinfo=dt.UTC)


async def migrated_sqlite(tmp_path: Path) -> Path:
    """A SQLite file migrated by the store (which creates the counters table)."""
    path = tmp_path / "fluxio.db"
    store = SQLiteStore(path, durability="normal")
    await store.close()
    return path


async def migrated_postgres(sandbox: PostgresSandbox, schema: str) -> str:
    """A fresh schema migrated by the PostgreSQL store; returns the ordinary role's URL."""
    store = await PostgresStore.connect(sandbox.app_url, schema=schema, pool_size=1)
    await store.close()
    return sandbox.app_url


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return asyncio.run(migrated_sqlite(tmp_path))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def counter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LimitCounter]:
    if request.param == "memory":
        yield MemoryLimitCounter()
        return
    if request.param == "sqlite":
        sqlite = SQLiteLimitCounter(await migrated_sqlite(tmp_path))
        yield sqlite
        await sqlite.close()
        return
    schema = request.getfixturevalue("pg_schema")
    url = await migrated_postgres(request.getfixturevalue("postgres"), schema)
    pg = await PostgresLimitCounter.connect(url, schema=schema)
    yield pg
    await pg.close()


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_hits_count_up_to_the_limit_and_refusals_consume_nothing(
    counter: LimitCounter,
) -> None:
    t = tenant()
    hits = [await counter.hit(t, "k", 60, 2) for _ in range(4)]
    assert [(h.allowed, h.count) for h in hits] == [(True, 1), (True, 2), (False, 2), (False, 2)]
    assert await counter.count(t, "k", 60) == 2


async def test_windows_keys_and_tenants_count_separately(counter: LimitCounter) -> None:
    a, b = tenant(), tenant()
    await counter.hit(a, "k", 60, 1)
    assert (await counter.hit(a, "k", 120, 1)).allowed
    assert (await counter.hit(a, "other", 60, 1)).allowed
    assert (await counter.hit(b, "k", 60, 1)).allowed
    assert not (await counter.hit(a, "k", 60, 1)).allowed


async def test_release_gives_back_a_hit_and_never_goes_below_zero(counter: LimitCounter) -> None:
    t = tenant()
    await counter.hit(t, "k", 60, 1)
    await counter.release(t, "k", 60)
    await counter.release(t, "k", 60)
    assert await counter.count(t, "k", 60) == 0
    assert (await counter.hit(t, "k", 60, 1)).allowed


async def test_sqlite_counts_survive_reopening(tmp_path: Path) -> None:
    sqlite_path = await migrated_sqlite(tmp_path)
    first = SQLiteLimitCounter(sqlite_path)
    await first.hit("acme", "k", 60, 5)
    await first.close()
    second = SQLiteLimitCounter(sqlite_path)
    assert (await second.hit("acme", "k", 60, 5)).count == 2
    await second.close()


def test_sqlite_writers_in_many_threads_never_exceed_the_limit(sqlite_path: Path) -> None:
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        counter = SQLiteLimitCounter(sqlite_path)
        for _ in range(10):
            hit = asyncio.run(counter.hit("acme", "k", 60, 25))
            with lock:
                allowed.append(hit.allowed)
        asyncio.run(counter.close())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (allowed.count(True), len(allowed)) == (25, 80)


async def test_concurrent_postgres_hits_never_exceed_the_limit(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    pg_url = await migrated_postgres(postgres, pg_schema)
    counters = [await PostgresLimitCounter.connect(pg_url, schema=pg_schema) for _ in range(3)]
    t = tenant()
    hits = await asyncio.gather(*(counters[i % 3].hit(t, "k", 60, 25) for i in range(60)))
    assert sum(h.allowed for h in hits) == 25
    assert await counters[0].count(t, "k", 60) == 25
    for c in counters:
        await c.close()


async def test_postgres_counters_are_hidden_from_other_tenants(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    pg_url = await migrated_postgres(postgres, pg_schema)
    counter = await PostgresLimitCounter.connect(pg_url, schema=pg_schema)
    await counter.hit("acme", "k", 60, 5)
    await counter.close()
    async with (
        await psycopg.AsyncConnection.connect(
            pg_url, autocommit=True, options=f"-c search_path={pg_schema}"
        ) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT set_config('fluxio.tenant', 'globex', true)")
        cursor = await conn.execute("SELECT count(*) FROM policy_limit_counters")
        assert await cursor.fetchone() == (0,)


async def test_a_database_without_the_counters_table_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    sqlite3.connect(path).close()
    with pytest.raises(StoreError, match="has no policy_limit_counters table"):
        SQLiteLimitCounter(path)


async def test_an_unreachable_postgres_is_a_clear_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL for limit counters"):
        await PostgresLimitCounter.connect(
            "postgresql://nobody@127.0.0.1:1/none", max_size=1, connect_timeout=0.5
        )


EMAILS = """
- id: email-rate
  scope: {applies_to: {tools: [send_email]}}
  rules:
    - id: per-agent
      type: limit
      limit: {count: 2, period: day, key: [agent, tool]}
"""


def email(agent: str, when: dt.datetime = NOON) -> Action:
    return Action("tool", "send_email", {}, agent=AgentRef(agent), tenant="acme", now=when)


async def test_a_limit_allows_count_actions_per_key_per_period(tmp_path: Path) -> None:
    sqlite_path = await migrated_sqlite(tmp_path)
    counter = SQLiteLimitCounter(sqlite_path)
    engine = PolicyEngine(parse_policies(EMAILS), counter=counter)
    outcomes = [(await engine.evaluate(email("a1"))).outcome for _ in range(3)]
    assert outcomes == ["allow", "allow", "deny"]
    assert (await engine.evaluate(email("a2"))).outcome == "allow"
    tomorrow = NOON + dt.timedelta(days=1)
    assert (await engine.evaluate(email("a1", tomorrow))).outcome == "allow"
    denied = await engine.evaluate(email("a1"))
    assert denied.explanations[0].reason == (
        "limit 2 per day for email-rate/per-agent/agent=a1/tool=send_email reached"
    )
    await counter.close()


async def test_a_fresh_engine_on_the_same_database_sees_the_counts(tmp_path: Path) -> None:
    sqlite_path = await migrated_sqlite(tmp_path)
    for expected in ("allow", "allow", "deny"):
        counter = SQLiteLimitCounter(sqlite_path)
        engine = PolicyEngine(parse_policies(EMAILS), counter=counter)
        assert (await engine.evaluate(email("a1"))).outcome == expected
        await counter.close()


async def test_a_denied_action_consumes_no_limit() -> None:
    text = EMAILS + "- {id: no-mail, rules: [{id: x, type: forbid, condition: 'true'}]}\n"
    counter = MemoryLimitCounter()
    engine = PolicyEngine(parse_policies(text), counter=counter)
    decision = await engine.evaluate(email("a1"))
    assert decision.outcome == "deny"
    assert decision.explanations[0].verdict == "skipped"
    assert "not counted" in decision.explanations[0].reason
    start = int(NOON.timestamp() // 86400) * 86400
    assert await counter.count("acme", "email-rate/per-agent/agent=a1/tool=send_email", start) == 0


async def test_hits_are_given_back_when_a_later_limit_blocks_the_action() -> None:
    text = """
- id: generous
  rules: [{id: r, type: limit, limit: {count: 100, period: hour}}]
- id: strict
  rules: [{id: r, type: limit, limit: {count: 1, period: minute}}]
"""
    counter = MemoryLimitCounter()
    engine = PolicyEngine(parse_policies(text), counter=counter)
    assert (await engine.evaluate(email("a1"))).outcome == "allow"
    denied = await engine.evaluate(email("a1"))
    assert denied.outcome == "deny"
    assert denied.explanations[0].reason == (
        "2/100 per hour for generous/r; given back: the action does not run"
    )
    hour = int(NOON.timestamp() // 3600) * 3600
    assert await counter.count("acme", "generous/r", hour) == 1


async def test_an_action_awaiting_approval_is_counted_only_when_it_runs() -> None:
    text = EMAILS + (
        "- {id: review, violation_action: escalate,"
        " rules: [{id: x, type: forbid, condition: 'true'}]}\n"
    )
    counter = MemoryLimitCounter()
    engine = PolicyEngine(parse_policies(text), counter=counter)
    held = await engine.evaluate(email("a1"))
    assert held.outcome == "require_approval"
    assert held.explanations[0].reason.endswith("counted when the action runs")
    ran = await engine.evaluate(email("a1"), approved=True)
    assert ran.outcome == "allow"
    assert ran.explanations[0].reason.startswith("1/2 per day")


async def test_sqlite_failures_become_store_errors(tmp_path: Path) -> None:
    counter = SQLiteLimitCounter(await migrated_sqlite(tmp_path))
    await counter.close()
    with pytest.raises(StoreError, match="could not update policy limit counters"):
        await counter.hit("acme", "k", 60, 1)


async def test_postgres_without_the_counters_table_is_a_store_error(
    postgres: PostgresSandbox, pg_schema: str
) -> None:
    counter = await PostgresLimitCounter.connect(postgres.app_url, schema=pg_schema)
    with pytest.raises(StoreError, match=r"limit counters of tenant 'acme'.*policy_limit_counters"):
        await counter.hit("acme", "k", 60, 1)
    await counter.close()
