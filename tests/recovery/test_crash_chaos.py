"""200 runs (× FLUXIO_CHAOS_SCALE), a worker SIGKILLed at random moments and restarted.

Every run ends ``completed``, or ``needs_attention`` only on a non-idempotent effect whose
intent was recorded without an outcome. The effect ledger shows non-idempotent effects at most
once and every finished step's effect at least once. Operators then resolve the parked runs
(``retry``, ``complete``, ``fail``) and every run finishes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections import Counter
from typing import Any

import pytest
from recovery_harness import (
    SETTLED,
    WorkerPool,
    WorkerProcess,
    all_runs,
    check_at_most_once,
    check_journal,
    check_ledger,
    check_parked,
    journals,
    wait_until,
)

from fluxio import Engine, Run, RunStatus

pytestmark = pytest.mark.anyio

SCALE = max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))
RUNS = 200 * SCALE
LEASE = 2.0
IDS = [f"chaos-{i:04d}" for i in range(RUNS)]
# These block inside their non-idempotent step, so at least one kill is sure to catch them there.
STICKY = {0: "after_effect", 1: "before_effect", 2: "before_effect"}
ONCE_STEPS = ("charge", "notify", "email", "ship")


def expected_result(i: int) -> dict[str, Any]:
    return {
        "charged": i,
        "enriched": [i * 100 + b for b in range(3)],
        "looped": [i * 10 + j for j in range(3)],
        "shipped": {"run": IDS[i]},
    }


async def quiet(engine: Engine) -> bool:
    """Nothing left to do without help: every run settled or waiting for the test's signal."""
    runs = await all_runs(engine, IDS)
    return all(r.status in SETTLED or (r.wait and r.wait.detail == "go") for r in runs)


async def start_wave(engine: Engine, indexes: range, *, go: bool) -> None:
    """Start runs ``indexes`` (sticky ones first in line); ``go`` queues their signal at once."""
    await asyncio.gather(
        *(
            engine.start("chaos", {"i": i, "sticky": STICKY.get(i)}, run_id=IDS[i], priority=1)
            if i in STICKY
            else engine.start("chaos", {"i": i}, run_id=IDS[i])
            for i in indexes
        )
    )
    if go:
        await send_go(engine, indexes)


async def send_go(engine: Engine, indexes: range) -> None:
    await asyncio.gather(*(engine.signal(IDS[i], "go", {"run": IDS[i]}) for i in indexes))


async def chaos_rounds(
    pool: WorkerPool, engine: Engine, rng: random.Random, kills: int
) -> WorkerProcess:
    """Kill the worker ``kills`` times, each at a random moment after it made progress.

    Runs start in waves so that every round has work in flight. The first wave gets its
    signal at a random moment while it executes; later waves get theirs queued up front.
    """
    first = RUNS * 2 // 5
    cuts = [first + w * (RUNS - first) // (kills - 2) for w in range(kills - 1)]
    waves = [range(a, b) for a, b in itertools.pairwise(cuts)]
    await start_wave(engine, range(first), go=False)
    worker = pool.spawn(lease=LEASE)

    async def sticky_inside() -> bool:
        inside = {line["run"] for line in pool.ledger() if line["step"] == "charge"}
        return inside >= {IDS[i] for i in STICKY}

    await wait_until(sticky_inside, timeout=30, what="the sticky runs to start charging", pool=pool)
    for round_ in range(kills):

        async def progressed(pid: int = worker.pid) -> bool:
            ledger = pool.ledger()
            check_at_most_once(ledger)
            return any(line["pid"] == pid for line in ledger) or await quiet(engine)

        await wait_until(progressed, timeout=30, what="the restarted worker to work", pool=pool)
        if round_ < len(waves):
            await start_wave(engine, waves[round_], go=True)
        delay = rng.uniform(0.1, 1.5)
        if round_ == 0:
            await asyncio.sleep(delay / 2)
            await send_go(engine, range(first))
            delay /= 2
        await asyncio.sleep(delay)
        worker.kill()
        worker = pool.spawn(lease=LEASE)
    return worker


async def settle(pool: WorkerPool, engine: Engine, what: str, states: frozenset) -> list[Run]:
    async def settled() -> bool:
        check_at_most_once(pool.ledger())
        return all(r.status in states for r in await all_runs(engine, IDS))

    await wait_until(settled, timeout=90, what=what, pool=pool)
    return await all_runs(engine, IDS)


async def check_everything(pool: WorkerPool, engine: Engine, runs: list[Run]) -> None:
    journal_of = await journals(engine, runs)
    for run in runs:
        check_journal(run, journal_of[run.run_id])
        if run.status is RunStatus.NEEDS_ATTENTION:
            check_parked(run, journal_of[run.run_id])
        elif run.status is RunStatus.COMPLETED:
            assert run.result == expected_result(IDS.index(run.run_id)), run.run_id
    check_ledger(pool.ledger(), journal_of)


async def resolve_parked(pool: WorkerPool, engine: Engine, parked: list[Run]) -> dict[str, str]:
    """Resolve as an operator would: the ledger says whether the ambiguous effect happened."""
    effects = pool.effects()
    actions = {}
    for run in parked:
        key = (run.attention or {})["step_key"]
        done = [e for e in effects if e["run"] == run.run_id and e["key"] == key]
        if done:
            actions[run.run_id] = "complete"
            await engine.resolve(run.run_id, "complete", result=done[0]["value"])
        elif run.run_id == IDS[2]:
            actions[run.run_id] = "fail"
            await engine.resolve(run.run_id, "fail", message="operator: card declined")
        else:
            actions[run.run_id] = "retry"
            await engine.resolve(run.run_id, "retry")
    return actions


def interrupted(pool: WorkerPool, runs: list[Run], kills: int) -> int:
    """How many runs were worked on by more than one worker process (and say what happened)."""
    workers_of: dict[str, set[int]] = {}
    for line in pool.effects():
        workers_of.setdefault(line["run"], set()).add(line["pid"])
    crossed = sum(len(pids) > 1 for pids in workers_of.values())
    statuses = Counter(r.status.value for r in runs)
    parked_on = Counter((r.attention or {}).get("step") for r in runs if r.attention)
    print(f"after {kills} kills: {dict(statuses)}; parked on {dict(parked_on)}")
    print(f"{crossed} runs were worked on by more than one worker process")
    return crossed


@pytest.mark.slow
@pytest.mark.timeout(150 * SCALE)
async def test_two_hundred_runs_survive_repeated_sigkill(
    pool: WorkerPool, rng: random.Random, chaos_scale: int
) -> None:
    engine = pool.engine()
    kills = 5 * chaos_scale
    await chaos_rounds(pool, engine, rng, kills)
    runs = await settle(pool, engine, "every run to complete or park", SETTLED)
    statuses = Counter(r.status.value for r in runs)
    assert set(statuses) <= {"completed", "needs_attention"}, statuses
    assert interrupted(pool, runs, kills) >= RUNS // 10, "the kills must hit runs in flight"
    await check_everything(pool, engine, runs)

    pool.open_gate("unstick")
    parked = [r for r in runs if r.status is RunStatus.NEEDS_ATTENTION]
    assert {IDS[i] for i in STICKY} <= {r.run_id for r in parked}
    actions = await resolve_parked(pool, engine, parked)
    assert set(actions.values()) == {"complete", "retry", "fail"}, actions
    runs = await settle(
        pool, engine, "every run to end", frozenset({RunStatus.COMPLETED, RunStatus.FAILED})
    )

    failed = [r for r in runs if r.status is RunStatus.FAILED]
    assert [r.run_id for r in failed] == [IDS[2]]
    assert "card declined" in (failed[0].error or {}).get("message", "")
    await check_everything(pool, engine, runs)
    once = Counter((e["run"], e["step"]) for e in pool.effects() if e["step"] in ONCE_STEPS)
    for run in runs:
        if run.status is RunStatus.COMPLETED:
            for step in ONCE_STEPS:
                assert once[(run.run_id, step)] == 1, (
                    f"{run.run_id} {step}: {once[(run.run_id, step)]}"
                )
    assert once[(IDS[2], "charge")] == 0, "a failed resolution must not run the effect"
