"""Many runs on PostgreSQL across four worker processes, SIGKILLed and restarted at random.

CI size: 200 runs and 8 kills; ``FLUXIO_CHAOS_SCALE=5`` (``make chaos``): 1,000 runs and 20
kills. Every run completes or is parked in ``needs_attention`` on an ambiguous non-idempotent
step; each ``(run, step)`` has exactly one committed outcome (read straight from the journal
table); each non-idempotent effect happens at most once (the ledger). Then operators resolve
the parked runs and every run ends. (The workload and its checks: ``chaos_workload``.)
"""

from __future__ import annotations

import os
import random

import pytest
from chaos_workload import ChaosWorkload
from recovery_databases import PostgresDatabase
from recovery_harness import WorkerPool

pytestmark = pytest.mark.anyio

SCALE = max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))
RUNS = 200 * SCALE
KILLS = max(8, 4 * SCALE)
WORKERS = 4
LEASE = 2.0


def exactly_one_outcome(database: PostgresDatabase, parked: dict[str, str]) -> None:
    """Each (run, step) in the journal table has exactly one outcome; none only for the
    step a parked run waits on (``parked``: run id → step key)."""
    counts = database.outcome_counts()
    assert counts, "the journal table is empty"
    wrong = [
        (run, key, n)
        for (_, run, key), n in counts.items()
        if n != 1 and not (n == 0 and parked.get(run) == key)
    ]
    assert not wrong, f"(run, step, outcomes) without exactly one outcome: {wrong[:5]}"


@pytest.mark.slow
@pytest.mark.timeout(150 * SCALE)
async def test_runs_on_postgres_survive_workers_sigkilled_at_random(
    pg_pool: WorkerPool, rng: random.Random
) -> None:
    workload = ChaosWorkload(pg_pool, await pg_pool.open_engine(), RUNS, settle_timeout=90 * SCALE)
    await workload.chaos_rounds(
        rng,
        kills=KILLS,
        workers=WORKERS,
        spawn=lambda: pg_pool.spawn(lease=LEASE, concurrency=100),
    )
    runs = await workload.settle_after_kills(KILLS)
    assert isinstance(pg_pool.database, PostgresDatabase)
    parked = {r.run_id: str(r.attention["step_key"]) for r in runs if r.attention}
    exactly_one_outcome(pg_pool.database, parked)
    await workload.resolve_and_finish(runs)
    exactly_one_outcome(pg_pool.database, {})
