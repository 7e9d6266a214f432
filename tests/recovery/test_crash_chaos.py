"""200 runs (× FLUXIO_CHAOS_SCALE) on SQLite, a worker SIGKILLed at random moments and restarted.

Every run ends ``completed``, or ``needs_attention`` only on a non-idempotent effect whose
intent was recorded without an outcome. The effect ledger shows non-idempotent effects at most
once and every finished step's effect at least once. Operators then resolve the parked runs
(``retry``, ``complete``, ``fail``) and every run finishes. (The workload: ``chaos_workload``;
the same on PostgreSQL with four workers: ``test_postgres_chaos``.)
"""

from __future__ import annotations

import os
import random

import pytest
from chaos_workload import ChaosWorkload
from recovery_harness import WorkerPool

pytestmark = pytest.mark.anyio

SCALE = max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))
RUNS = 200 * SCALE
LEASE = 2.0


@pytest.mark.slow
@pytest.mark.timeout(150 * SCALE)
async def test_two_hundred_runs_survive_repeated_sigkill(
    pool: WorkerPool, rng: random.Random, chaos_scale: int
) -> None:
    workload = ChaosWorkload(pool, pool.engine(), RUNS, settle_timeout=90)
    kills = 5 * chaos_scale
    await workload.chaos_rounds(rng, kills=kills, workers=1, spawn=lambda: pool.spawn(lease=LEASE))
    runs = await workload.settle_after_kills(kills)
    await workload.resolve_and_finish(runs)
