"""Timers, signal timeouts, signals and approvals survive SIGKILL and fire exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import pytest
from recovery_harness import (
    WorkerPool,
    WorkerProcess,
    all_runs,
    check_journal,
    check_ledger,
    journals,
    wait_until,
)

from fluxio import Engine, Run, RunStatus
from fluxio.store.records import EntryKind

pytestmark = pytest.mark.anyio

RUNS = [f"w{i:02d}" for i in range(20)]
EFFECTS = ("before", "after_timer", "after_timeout", "after_signal", "after_approval")


async def kill_while_all_wait(
    pool: WorkerPool, engine: Engine, worker: WorkerProcess, waiting: Callable[[Run], bool]
) -> list[Run]:
    """Wait until every run waits as ``waiting`` says, then SIGKILL the worker."""

    async def all_waiting() -> bool:
        runs = await all_runs(engine, RUNS)
        return all(r.status is RunStatus.WAITING and r.wait and waiting(r) for r in runs)

    await wait_until(all_waiting, timeout=30, what="every run to wait", pool=pool)
    worker.kill()
    return await all_runs(engine, RUNS)


async def sleep_past_deadlines(runs: list[Run]) -> None:
    """Let every run's deadline pass while no worker is alive."""
    due = max(r.wait.until or 0.0 for r in runs if r.wait)
    await asyncio.sleep(max(0.0, due - time.time()) + 0.3)


async def test_timers_signals_and_approvals_fire_once_across_restarts(pool: WorkerPool) -> None:
    engine = pool.engine()
    await asyncio.gather(
        *(engine.start("waiter", {"sleep": 1.5, "timeout": 1.0}, run_id=r) for r in RUNS)
    )
    worker = pool.spawn(lease=1.0)
    timers = await kill_while_all_wait(pool, engine, worker, lambda r: r.wait.reason == "timer")
    await sleep_past_deadlines(timers)
    after_timers = pool.spawn(lease=1.0)

    timeouts = await kill_while_all_wait(
        pool, engine, after_timers, lambda r: r.wait.detail == "never" and r.wait.until
    )
    await sleep_past_deadlines(timeouts)
    worker = pool.spawn(lease=1.0)

    await kill_while_all_wait(pool, engine, worker, lambda r: r.wait.detail == "data")
    await asyncio.gather(*(engine.signal(r, "data", {"n": r}) for r in RUNS))
    worker = pool.spawn(lease=1.0)

    await kill_while_all_wait(pool, engine, worker, lambda r: r.wait.reason == "approval")
    decision = {"approved": True, "note": "ok to send"}
    await asyncio.gather(*(engine.signal(r, "approval", decision) for r in RUNS))
    pool.spawn(lease=1.0)

    async def all_completed() -> bool:
        return all(r.status is RunStatus.COMPLETED for r in await all_runs(engine, RUNS))

    await wait_until(all_completed, timeout=30, what="every run to complete", pool=pool)
    runs = await all_runs(engine, RUNS)
    journal_of = await journals(engine, runs)
    for run in runs:
        assert run.result == {"data": {"n": run.run_id}, "decision": decision}
        check_journal(run, journal_of[run.run_id])
        check_waits(journal_of[run.run_id], run.run_id, decision)
    check_ledger(pool.ledger(), journal_of)
    effects = pool.effects()
    assert Counter((e["run"], e["step"]) for e in effects) == {
        (r, step): 1 for r in RUNS for step in EFFECTS
    }, "every step after a wait must run exactly once"
    fired_by = {e["pid"] for e in effects if e["step"] == "after_timer"}
    assert fired_by == {after_timers.pid}, "timers must fire in the restarted worker"
    assert pool.signals_left() == 0, "every signal must be consumed by exactly one wait"


def check_waits(journal: list, run_id: str, decision: dict) -> None:
    """Each wait has one outcome, fired no earlier than its journaled deadline."""
    outcome = {e.step_key: e for e in journal if e.kind is EntryKind.OUTCOME}
    intent = {e.step_key: e for e in journal if e.kind is EntryKind.INTENT}
    waits = {e.name: e for e in outcome.values() if e.name == "sleep" or e.name.startswith("wait")}
    assert sorted(waits) == ["sleep", "wait:approval", "wait:data", "wait:never"]
    for name in ("sleep", "wait:never"):
        entry = waits[name]
        assert entry.finished_at >= intent[entry.step_key].value["until"], f"{name} fired early"
    assert not waits["wait:never"].ok
    assert waits["wait:never"].value["type"] == "StepTimeout"
    assert waits["wait:data"].value == {"n": run_id}
    assert waits["wait:approval"].value == decision


async def test_signal_sent_while_the_run_executes_is_not_lost(pool: WorkerPool) -> None:
    engine = pool.engine()
    await engine.start("latch", {"gate": "latch"}, run_id="latch")
    pool.spawn(lease=1.0)

    async def inside() -> bool:
        return any(line["step"] == "hold" for line in pool.ledger())

    await wait_until(inside, timeout=20, what="the run to be inside its step", pool=pool)
    await engine.signal("latch", "sig", {"early": True})
    pool.open_gate("latch")

    async def completed() -> bool:
        return (await engine.get("latch")).status is RunStatus.COMPLETED

    await wait_until(completed, timeout=10, what="the early signal to wake the run", pool=pool)
    assert (await engine.get("latch")).result == {"early": True}
    assert [e["step"] for e in pool.effects()] == ["hold", "finish"]
    assert pool.signals_left() == 0
