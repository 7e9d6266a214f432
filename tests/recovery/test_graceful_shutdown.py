"""SIGTERM stops a worker gracefully: it claims nothing more, lets the runs that can reach a
commit within its grace period finish, and releases the rest at once, so another worker goes
on with them right away instead of waiting out their (long) leases. On both stores."""

from __future__ import annotations

import asyncio
import time

import pytest
from recovery_harness import WorkerPool, WorkerProcess, check_journal, check_ledger, wait_until

from fluxio import Engine, RunStatus

pytestmark = pytest.mark.anyio

LEASE = 30.0  # far longer than the test: only a release can hand a run over in time
GRACE = 1.5
QUICK = [f"quick-{i}" for i in range(3)]  # their step ends within the grace period
SLOW = [f"slow-{i}" for i in range(3)]  # blocked past it: released, continued by worker B
ONCE = "once-0"  # blocked inside a non-idempotent step past it: released, then parked
LATE = [f"late-{i}" for i in range(3)]  # started after SIGTERM: only B may take them


@pytest.fixture
def pool(any_pool: WorkerPool) -> WorkerPool:
    return any_pool


async def start_held_by_a(pool: WorkerPool, engine: Engine) -> WorkerProcess:
    """Worker A takes every run; each blocks in its first step on a gate."""
    for run_id in QUICK:
        await engine.start("zombie", {"gate": "quick"}, run_id=run_id)
    for run_id in SLOW:
        await engine.start("zombie", {"gate": "slow"}, run_id=run_id)
    await engine.start("zombie", {"gate": "slow", "once": True}, run_id=ONCE)
    a = pool.spawn(lease=LEASE, extra=["--grace", str(GRACE)])

    async def all_inside() -> bool:
        inside = {e["run"] for e in pool.ledger() if e["kind"] == "enter" and e["pid"] == a.pid}
        return inside == {*QUICK, *SLOW, ONCE}

    await wait_until(all_inside, timeout=20, what="worker A to hold every run", pool=pool)
    return a


async def ready(pool: WorkerPool, worker: WorkerProcess) -> None:
    async def up() -> bool:
        return "ready" in worker.output()

    await wait_until(up, timeout=20, what=f"worker {worker.pid} to start", pool=pool)


async def test_sigterm_finishes_or_releases_in_flight_runs_for_another_worker(
    pool: WorkerPool,
) -> None:
    engine = await pool.open_engine()
    a = await start_held_by_a(pool, engine)
    b = pool.spawn(lease=LEASE)
    await ready(pool, b)
    pool.open_gate("late")

    a.terminate()
    sent = time.monotonic()
    pool.open_gate("quick")
    await asyncio.sleep(0.3)
    for run_id in LATE:
        await engine.start("zombie", {"gate": "late"}, run_id=run_id)

    async def b_took_over() -> bool:
        entered = {e["run"] for e in pool.ledger() if e["kind"] == "enter" and e["pid"] == b.pid}
        parked = (await engine.get(ONCE)).status is RunStatus.NEEDS_ATTENTION
        return entered >= set(SLOW) and parked

    await wait_until(b_took_over, timeout=GRACE + 10, what="worker B to take over", pool=pool)
    handover = time.monotonic() - sent
    a.proc.wait(timeout=10)
    print(f"SIGTERM → B continues the released runs after {handover:.2f}s (lease {LEASE:g}s)")
    assert handover < GRACE + 5, "released runs must not wait for their lease to expire"
    assert a.proc.returncode == 0, a.output()
    assert "worker stopped" in a.output()
    assert "could not release" not in a.output()
    assert "Traceback" not in a.output()

    pool.open_gate("slow")

    async def ended() -> bool:
        runs = [await engine.get(r) for r in (*QUICK, *SLOW, *LATE)]
        return all(r.status is RunStatus.COMPLETED for r in runs)

    await wait_until(ended, timeout=20, what="every run to complete", pool=pool)
    await check_outcomes(pool, engine, a, b)


async def check_outcomes(
    pool: WorkerPool, engine: Engine, a: WorkerProcess, b: WorkerProcess
) -> None:
    """Who did what: A finished the quick runs, B everything A released or never took."""
    for run_id in QUICK:
        run = await engine.get(run_id)
        assert run.result == {"holder": a.pid, "finisher": a.pid}, run_id
        assert run.epoch == 1, f"{run_id} was finished by A, never claimed again"
    for run_id in (*SLOW, *LATE):
        run = await engine.get(run_id)
        assert run.result == {"holder": b.pid, "finisher": b.pid}, run_id
        assert run.epoch == (2 if run_id in SLOW else 1), run_id
    parked = await engine.get(ONCE)
    assert parked.attention is not None
    assert parked.attention["step"] == "hold_once", "an ambiguous effect is never re-run blindly"
    assert not [e for e in pool.ledger() if e["run"] in LATE and e["pid"] == a.pid]
    assert not [e for e in pool.effects() if e["run"] == ONCE], "A's body was cancelled"
    journal_of = {}
    for run_id in (*QUICK, *SLOW, *LATE, ONCE):
        journal_of[run_id] = await engine.journal(run_id)
        check_journal(await engine.get(run_id), journal_of[run_id])
    check_ledger(pool.ledger(), journal_of)
