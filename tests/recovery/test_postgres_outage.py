"""PostgreSQL connections cut mid-run: workers reconnect with backoff and every run finishes.

The workers reach PostgreSQL through a TCP proxy the test controls (``tcp_proxy``). Several
times, while runs execute, the proxy resets every connection and refuses new ones for a few
seconds (the server itself keeps running). Workers must ride it out: no crash, no run lost or
failed, every step recorded once, and new work started during the outage done afterwards.
CI size: 40 runs and 2 outages; ``FLUXIO_CHAOS_SCALE=5``: 200 runs and 5 outages.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from recovery_databases import PostgresDatabase
from recovery_harness import (
    WorkerPool,
    all_runs,
    check_journal,
    check_ledger,
    wait_until,
)
from tcp_proxy import TcpProxy

from fluxio import Engine, RunStatus
from fluxio.testing.postgres import PostgresSandbox

pytestmark = pytest.mark.anyio

SCALE = max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))
RUNS = 40 * SCALE
OUTAGES = min(5, 2 * SCALE)
OUTAGE_SECONDS = 3.0
WORKERS = 3
STEPS, BRANCHES = 6, 2


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def proxy(postgres: PostgresSandbox) -> AsyncIterator[TcpProxy]:
    target = urlsplit(postgres.admin_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
async def cut_pool(
    tmp_path: Path, postgres: PostgresSandbox, pg_schema: str, proxy: TcpProxy
) -> AsyncIterator[WorkerPool]:
    """Workers that reach PostgreSQL only through the proxy; the test connects directly."""
    database = PostgresDatabase(postgres, pg_schema, through(postgres.app_url, proxy.port))
    workers = WorkerPool(tmp_path, database)
    try:
        yield workers
    finally:
        await workers.close()


async def start(engine: Engine, ids: list[str]) -> None:
    await asyncio.gather(
        *(engine.start("steady", {"steps": STEPS, "branches": BRANCHES}, run_id=i) for i in ids)
    )


def expected(run_id: str) -> dict[str, list[int]]:
    del run_id
    return {"ticks": list(range(STEPS)), "squares": [b * b for b in range(BRANCHES)]}


@pytest.mark.slow
@pytest.mark.timeout(240 * SCALE)
async def test_workers_reconnect_after_every_connection_is_cut_and_all_runs_finish(
    cut_pool: WorkerPool, proxy: TcpProxy, rng: random.Random
) -> None:
    pool = cut_pool
    engine = await pool.open_engine()
    ids = [f"steady-{i:04d}" for i in range(RUNS)]
    # New work arrives during every outage, so there is always something left to do when the
    # connections come back (fast workers can finish a first batch before a later outage).
    first, during = ids[: RUNS // 2], ids[RUNS // 2 :]
    await start(engine, first)
    started = list(first)
    workers = [pool.spawn(lease=2.0, concurrency=50) for _ in range(WORKERS)]
    recovered: list[float] = []
    for outage in range(OUTAGES):
        mark = len(pool.ledger())

        async def working(mark: int = mark, started: tuple[str, ...] = tuple(started)) -> bool:
            if len(pool.ledger()) > mark + 5:
                return True  # an outage now cuts work in flight
            runs = await all_runs(engine, started)
            return all(r.status is RunStatus.COMPLETED for r in runs)  # or nothing is left

        await wait_until(working, timeout=60, what="the workers to make progress", pool=pool)
        await asyncio.sleep(rng.uniform(0.1, 0.8))
        accepted, began = proxy.accepted, time.monotonic()
        outage_task = asyncio.create_task(proxy.outage(OUTAGE_SECONDS))
        arriving = during[outage::OUTAGES]
        await start(engine, arriving)  # while the workers are cut off
        started += arriving
        await outage_task
        mark = len(pool.ledger())

        async def back(accepted: int = accepted, mark: int = mark) -> bool:
            return proxy.accepted > accepted and len(pool.ledger()) > mark

        await wait_until(back, timeout=90, what="the workers to reconnect", pool=pool)
        recovered.append(time.monotonic() - began - OUTAGE_SECONDS)
    print(f"{OUTAGES} outages of {OUTAGE_SECONDS:g}s; back to work after: {recovered}")
    print(f"connections reset: {proxy.dropped}, opened through the proxy: {proxy.accepted}")

    async def finished() -> bool:
        return all(r.status is RunStatus.COMPLETED for r in await all_runs(engine, ids))

    await wait_until(finished, timeout=90, what="every run to complete", pool=pool)
    assert proxy.dropped >= OUTAGES * WORKERS, "every outage must have cut live connections"
    assert all(w.alive() for w in workers), "a cut connection must not bring a worker down"
    logs = pool.logs(tail=100_000)
    assert "lost the connection to PostgreSQL" in logs or "LISTEN connection lost" in logs
    assert "reconnecting in" in logs, "the wake-up listener must reconnect with backoff"
    runs = await all_runs(engine, ids)
    assert isinstance(pool.database, PostgresDatabase)
    journal_of = pool.database.journals()
    for run in runs:
        assert run.result == expected(run.run_id), run.run_id
        check_journal(run, journal_of[run.run_id])
    check_ledger(pool.ledger(), journal_of)


async def test_a_server_that_stops_answering_fails_writes_in_time_and_is_left_behind(
    postgres: PostgresSandbox, pg_schema: str, proxy: TcpProxy
) -> None:
    from fluxio.errors import StoreError
    from fluxio.store.postgres import PostgresStore
    from fluxio.store.records import Commit, EntryKind, JournalEntry, NewRun

    url = through(postgres.app_url, proxy.port)
    store = await PostgresStore.connect(url, schema=pg_schema, pool_size=2, command_timeout=1.0)
    try:
        await store.create_run(NewRun("r", "acme", "wf", None, 0.0))
        [claim] = await store.claim("w", limit=1, lease_seconds=600, now=1.0)

        def outcome(seq: int) -> Commit:
            entry = JournalEntry(seq, str(seq), EntryKind.OUTCOME, "s", value=seq)
            return Commit(claim.lease, (entry,), now=1.0)

        proxy.stall()
        began = time.monotonic()
        with pytest.raises(StoreError, match="did not answer in time"):
            await store.commit(outcome(1))
        # 1 s command timeout, plus the cancel request psycopg sends on cancellation (which the
        # stalled path also swallows until its own connect timeout): bounded, not forever.
        assert time.monotonic() - began < 15, "a stalled connection must not hold the write"
        proxy.stall(False)
        proxy.drop_all()  # the stalled connections are gone; the pool opens new ones
        for seq in (2, 3):
            await asyncio.wait_for(store.commit(outcome(seq)), 15)
        assert [e.seq for e in await store.read_journal("acme", "r")][-2:] == [2, 3]
    finally:
        await store.close()
