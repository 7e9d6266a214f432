"""Concurrency caps on PostgreSQL: many workers, thousands of queued steps, three tenants.

Every step body records its start and end (one monotonic clock for the machine) in the ledger,
and a sampler counts live leases in the database while the workers run. Each tenant's cap
(and one tenant-queue cap) must never be exceeded by either measure, yet be reached; nothing
may be claimed twice (every run's fencing epoch stays 1, every step body runs once) and each
``(run, step)`` has exactly one outcome in the journal table. CI size: 4 workers and 2,000
steps; ``FLUXIO_CHAOS_SCALE=5`` (``make chaos``): 8 workers and 10,000 steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import psycopg
import pytest
from recovery_databases import PostgresDatabase
from recovery_harness import WorkerPool, all_runs, wait_until

from fluxio import Engine, RunQuery, RunStatus
from fluxio.store.records import ConcurrencyLimit

pytestmark = pytest.mark.anyio

SCALE = max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))
WORKERS = 4 if SCALE == 1 else 8
STEPS_PER_RUN = 5
RUNS = 2000 * SCALE // STEPS_PER_RUN
CAPS = {"acme": 2, "globex": 3, "initech": 5}
QUEUE_CAP = ConcurrencyLimit("initech", "bulk", 2)
Scope = tuple[str, str]  # (tenant, queue or "*")


def plan(i: int) -> tuple[str, str, str]:
    """Run ``i``'s id, tenant and queue (half of initech's runs go to queue ``bulk``)."""
    tenant = list(CAPS)[i % len(CAPS)]
    queue = "bulk" if tenant == QUEUE_CAP.tenant_id and i % 2 else "default"
    return f"cap-{i:05d}", tenant, queue


def limits() -> dict[Scope, int]:
    caps: dict[Scope, int] = {(t, "*"): n for t, n in CAPS.items()}
    caps[(QUEUE_CAP.tenant_id, QUEUE_CAP.queue)] = QUEUE_CAP.max_active or 0
    return caps


def scopes(tenant: str, queue: str) -> list[Scope]:
    return [(tenant, "*"), (tenant, queue)]


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end and a start at the same time: no overlap)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    best = live = 0
    for _, delta in events:
        live += delta
        best = max(best, live)
    return best


def body_overlaps(ledger: list[dict[str, Any]], queue_of: dict[str, str]) -> dict[Scope, int]:
    """Per scope, the most step bodies executing at once, from their ledger start and end."""
    starts = {(e["run"], e["key"]): e for e in ledger if e["kind"] == "enter"}
    intervals: dict[Scope, list[tuple[float, float]]] = {}
    for end in (e for e in ledger if e["kind"] == "effect"):
        start = starts[(end["run"], end["key"])]
        for scope in scopes(end["tenant"], queue_of[end["run"]]):
            intervals.setdefault(scope, []).append((start["at"], end["at"]))
    return {scope: max_overlap(spans) for scope, spans in intervals.items()}


async def sample_leases(dsn: str, schema: str, peaks: Counter[Scope], stop: asyncio.Event) -> int:
    """Count live leases per scope every 20 ms until ``stop``; keep the peaks. Returns samples."""
    samples = 0
    async with await psycopg.AsyncConnection.connect(
        dsn, autocommit=True, options=f"-c search_path={schema}"
    ) as conn:
        while not stop.is_set():
            cur = await conn.execute(
                "SELECT tenant_id, queue, count(*) FROM runs WHERE lease_owner IS NOT NULL "
                "AND lease_expires_at >= %s GROUP BY tenant_id, queue",
                (time.time(),),
            )
            now: Counter[Scope] = Counter()
            for tenant, queue, n in await cur.fetchall():
                for scope in scopes(tenant, queue):
                    now[scope] += n
            for scope, n in now.items():
                peaks[scope] = max(peaks[scope], n)
            samples += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.02)
    return samples


async def start_all(engine: Engine) -> dict[str, str]:
    """Queue every run before any worker starts; returns run id → queue."""
    queue_of = {}
    starts = []
    for i in range(RUNS):
        run_id, tenant, queue = plan(i)
        queue_of[run_id] = queue
        steps = {"steps": STEPS_PER_RUN, "hold": 0.01}
        starts.append(
            engine.start(
                "capped", steps, run_id=run_id, tenant_id=tenant, queue=queue, priority=i % 3
            )
        )
    await asyncio.gather(*starts)
    return queue_of


async def every_run(engine: Engine) -> list[Any]:
    runs = []
    for tenant in CAPS:
        runs += await engine.list_runs(RunQuery(tenant_id=tenant, limit=100_000))
    return runs


def check_once(database: PostgresDatabase, ledger: list[dict[str, Any]]) -> None:
    """Nothing claimed or run twice: epochs, step bodies and journal outcomes."""
    epochs = database.epochs()
    assert len(epochs) == RUNS
    twice = {run: e for run, e in epochs.items() if e != 1}
    assert not twice, f"runs claimed more than once: {list(twice.items())[:5]}"
    bodies = Counter((e["run"], e["key"], e["kind"]) for e in ledger)
    assert set(bodies.values()) == {1}, [k for k, n in bodies.items() if n > 1][:5]
    assert len(bodies) == 2 * RUNS * STEPS_PER_RUN, "every step body starts and ends once"
    outcomes = database.outcome_counts()
    assert len(outcomes) == RUNS * STEPS_PER_RUN
    assert set(outcomes.values()) == {1}, "each (run, step) has exactly one outcome"


@pytest.mark.slow
@pytest.mark.timeout(120 * SCALE)
async def test_tenant_caps_hold_across_workers_and_nothing_is_claimed_twice(
    pg_pool: WorkerPool,
) -> None:
    engine = await pg_pool.open_engine()
    database = pg_pool.database
    assert isinstance(database, PostgresDatabase)
    for tenant, cap in CAPS.items():
        await engine.store.set_limit(ConcurrencyLimit(tenant, "*", cap))
    await engine.store.set_limit(QUEUE_CAP)
    queue_of = await start_all(engine)

    peaks: Counter[Scope] = Counter()
    stop = asyncio.Event()
    sampler = asyncio.create_task(
        sample_leases(database.sandbox.admin_url, database.schema, peaks, stop)
    )
    began = time.monotonic()
    for n in range(WORKERS):  # the last one serves only queue bulk
        extra = ["--queues", "bulk"] if n == WORKERS - 1 else []
        pg_pool.spawn(lease=30.0, concurrency=50, extra=extra)

    async def done() -> bool:
        runs = await every_run(engine)
        return len(runs) == RUNS and all(r.status is RunStatus.COMPLETED for r in runs)

    try:
        await wait_until(done, timeout=100 * SCALE, what="every run to complete", pool=pg_pool)
    finally:
        stop.set()
        samples = await sampler
    took = time.monotonic() - began
    ledger = pg_pool.ledger()
    bodies = body_overlaps(ledger, queue_of)
    print(f"{RUNS * STEPS_PER_RUN} steps ({RUNS} runs) on {WORKERS} workers in {took:.1f}s")
    print(
        f"caps {limits()}; most bodies at once {bodies}; most leases {dict(peaks)} "
        f"({samples} samples)"
    )
    for scope, cap in limits().items():
        assert bodies[scope] <= cap, f"{scope}: {bodies[scope]} step bodies at once, cap {cap}"
        assert peaks[scope] <= cap, f"{scope}: {peaks[scope]} live leases at once, cap {cap}"
        assert bodies[scope] == cap, f"{scope}: the cap {cap} was never reached, test too weak"
    check_once(database, ledger)
    runs = await every_run(engine)
    assert all(r.result == list(range(STEPS_PER_RUN)) for r in runs)
    assert not await all_runs(engine), "no run may land in another tenant"
