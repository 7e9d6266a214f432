"""A worker paused past its lease (SIGSTOP) cannot commit after another worker took over.

Both stores: on PostgreSQL the zombie's write is refused inside the database by the fence
(``fluxio_fence``) that starts every lease holder's transaction.
"""

from __future__ import annotations

import asyncio

import pytest
from recovery_databases import PostgresDatabase
from recovery_harness import WorkerPool, WorkerProcess, check_journal, check_ledger, wait_until

from fluxio import Engine, RunStatus
from fluxio.store.records import EntryKind, JournalEntry

pytestmark = pytest.mark.anyio

LEASE = 1.0


@pytest.fixture
def pool(any_pool: WorkerPool) -> WorkerPool:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_pool


async def pause_zombie_mid_step(pool: WorkerPool, engine: Engine, step: str) -> WorkerProcess:
    """Start worker A, let it enter ``step`` (blocked on a gate), SIGSTOP it past its lease."""
    zombie = pool.spawn(lease=LEASE)

    async def entered() -> bool:
        return any(line["step"] == step and line["pid"] == zombie.pid for line in pool.ledger())

    await wait_until(entered, timeout=20, what=f"worker A to enter {step}", pool=pool)
    pool.pause_idle(zombie)
    held = await engine.get("z")
    assert held.epoch == 1
    assert held.lease_owner is not None
    assert f":{zombie.pid}:" in held.lease_owner
    await asyncio.sleep(LEASE + 0.5)
    return zombie


async def wake_zombie_and_watch_it_fail(pool: WorkerPool, zombie: WorkerProcess, step: str) -> None:
    """SIGCONT A; its step body finishes; its commit must be refused with ``LeaseLost``."""
    zombie.resume()

    async def finished_body() -> bool:
        return any(
            line["step"] == step and line["kind"] == "effect" and line["pid"] == zombie.pid
            for line in pool.ledger()
        )

    async def refused() -> bool:
        return "lease lost" in zombie.output()

    await wait_until(finished_body, timeout=20, what="worker A to finish its step", pool=pool)
    await wait_until(refused, timeout=20, what="worker A's commit to be refused", pool=pool)
    assert zombie.alive(), "a refused commit must not bring the worker down"


def entries(journal: list[JournalEntry]) -> list[tuple[str, EntryKind, str]]:
    return [(e.step_key, e.kind, e.name) for e in journal]


async def test_late_commit_of_a_paused_worker_is_refused(pool: WorkerPool) -> None:
    engine = await pool.open_engine()
    await engine.start("zombie", {"gate": "z"}, run_id="z")
    zombie = await pause_zombie_mid_step(pool, engine, "hold")
    pool.open_gate("z")
    taker = pool.spawn(lease=LEASE)

    async def completed() -> bool:
        return (await engine.get("z")).status is RunStatus.COMPLETED

    await wait_until(completed, timeout=20, what="worker B to complete the run", pool=pool)
    run = await engine.get("z")
    assert run.epoch == 2, "worker B's claim must bump the fencing epoch"
    assert run.result == {"holder": taker.pid, "finisher": taker.pid}
    journal = await engine.journal("z")

    await wake_zombie_and_watch_it_fail(pool, zombie, "hold")
    after = await engine.journal("z")
    assert after == journal, "worker A wrote to the journal after losing its lease"
    if isinstance(pool.database, PostgresDatabase):
        assert pool.database.journals()["z"] == after, "the table holds only worker B's writes"
    assert entries(after) == [
        ("1", EntryKind.OUTCOME, "hold"),
        ("2", EntryKind.INTENT, "finish"),
        ("2", EntryKind.OUTCOME, "finish"),
    ]
    assert after[0].value == taker.pid, "the recorded outcome must be worker B's"
    assert (await engine.get("z")).result == run.result
    holds = sorted(line["pid"] for line in pool.effects() if line["step"] == "hold")
    assert holds == sorted([zombie.pid, taker.pid]), "idempotent body: both ran it, B recorded it"
    finishes = [line["pid"] for line in pool.effects() if line["step"] == "finish"]
    assert finishes == [taker.pid]
    check_journal(run, after)
    check_ledger(pool.ledger(), {"z": after})


async def test_zombie_that_finishes_a_non_idempotent_step_late_cannot_record_it(
    pool: WorkerPool,
) -> None:
    engine = await pool.open_engine()
    await engine.start("zombie", {"gate": "z", "once": True}, run_id="z")
    zombie = await pause_zombie_mid_step(pool, engine, "hold_once")
    taker = pool.spawn(lease=LEASE)

    async def parked() -> bool:
        return (await engine.get("z")).status is RunStatus.NEEDS_ATTENTION

    await wait_until(parked, timeout=20, what="worker B to park the ambiguous run", pool=pool)
    run = await engine.get("z")
    assert run.epoch == 2
    assert run.attention is not None
    assert run.attention["step_key"] == "1"
    assert entries(await engine.journal("z")) == [("1", EntryKind.INTENT, "hold_once")]

    pool.open_gate("z")
    await wake_zombie_and_watch_it_fail(pool, zombie, "hold_once")
    assert entries(await engine.journal("z")) == [("1", EntryKind.INTENT, "hold_once")]
    assert (await engine.get("z")).status is RunStatus.NEEDS_ATTENTION
    if isinstance(pool.database, PostgresDatabase):
        assert entries(pool.database.journals()["z"]) == [("1", EntryKind.INTENT, "hold_once")]

    # The operator sees from the ledger that the effect did happen, and records its result.
    [effect] = [line for line in pool.effects() if line["step"] == "hold_once"]
    await engine.resolve("z", "complete", result=effect["value"])

    async def completed() -> bool:
        return (await engine.get("z")).status is RunStatus.COMPLETED

    await wait_until(completed, timeout=20, what="the resolved run to complete", pool=pool)
    run = await engine.get("z")
    assert run.result["holder"] == zombie.pid, "the operator's result is the recorded outcome"
    # A is an ordinary live worker again, so either worker may have finished the run.
    assert run.result["finisher"] in (zombie.pid, taker.pid)
    finishes = [line["pid"] for line in pool.effects() if line["step"] == "finish"]
    assert finishes == [run.result["finisher"]]
    journal = await engine.journal("z")
    check_journal(run, journal)
    check_ledger(pool.ledger(), {"z": journal})
