"""Fan-out (50 parallel branches) and loops survive SIGKILL: no branch lost or duplicated."""

from __future__ import annotations

import asyncio
import random

import pytest
from recovery_harness import (
    WorkerPool,
    all_runs,
    check_journal,
    check_ledger,
    journals,
    wait_until,
)

from fluxio import RunStatus
from fluxio.store.records import EntryKind

pytestmark = pytest.mark.anyio

BRANCHES, LOOPS = 50, 20
BRANCH_KEYS = {f"1.parallel.{b}.{s}" for b in range(1, BRANCHES + 1) for s in (1, 2)}
LOOP_KEYS = {f"{k}.1" for k in range(2, LOOPS + 2)}


@pytest.mark.slow
async def test_fan_out_and_loops_survive_sigkill(
    pool: WorkerPool, rng: random.Random, chaos_scale: int
) -> None:
    engine = pool.engine()
    ids = [f"fan{i}" for i in range(4 * chaos_scale)]
    await asyncio.gather(
        *(
            engine.start(
                "fanout",
                {"branches": BRANCHES, "loops": LOOPS, "concurrency": (None, 5, 10, 25)[i % 4]},
                run_id=run_id,
            )
            for i, run_id in enumerate(ids)
        )
    )
    total = len(ids) * (len(BRANCH_KEYS) + len(LOOP_KEYS))
    kill_points = sorted(rng.uniform(0.05, 0.9) for _ in range(3 * chaos_scale))
    worker = pool.spawn(lease=1.0)

    for point in kill_points:

        async def progressed(target: int = int(point * total)) -> bool:
            return len(pool.effects()) >= target

        await wait_until(progressed, timeout=60, what=f"{point:.0%} of the effects", pool=pool)
        worker.kill()
        worker = pool.spawn(lease=1.0)

    async def all_completed() -> bool:
        return all(r.status is RunStatus.COMPLETED for r in await all_runs(engine, ids))

    await wait_until(all_completed, timeout=60, what="every fan-out run to complete", pool=pool)
    runs = await all_runs(engine, ids)
    journal_of = await journals(engine, runs)
    for run in runs:
        assert run.result == {
            "squares": [b * b for b in range(BRANCHES)],
            "total": sum(range(LOOPS)),
        }
        journal = journal_of[run.run_id]
        check_journal(run, journal)
        outcomes = [e.step_key for e in journal if e.kind is EntryKind.OUTCOME]
        assert sorted(outcomes) == sorted({"1"} | BRANCH_KEYS | LOOP_KEYS), run.run_id
    check_ledger(pool.ledger(), journal_of)
    effects = pool.effects()
    assert {(e["run"], e["key"]) for e in effects} == {
        (r, key) for r in ids for key in BRANCH_KEYS | LOOP_KEYS
    }, "every branch and iteration ran, and nothing else did"
    repeats = len(effects) - total
    print(f"{len(kill_points)} kills; {repeats} in-flight idempotent steps ran again")
    assert len({e["pid"] for e in effects}) > 1, "the kills must land while work remains"
