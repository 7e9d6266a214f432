"""W5 as a test: a 50-step run SIGKILLed after step 25 resumes at step 26, in every durability."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from recovery_harness import WorkerPool, check_journal, wait_until

from fluxio import RunStatus
from fluxio.store.records import EntryKind

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_killed_fifty_step_run_resumes_at_step_26(pool: WorkerPool, durability: str) -> None:
    engine = pool.engine(durability)
    await engine.start("fifty", {"block_at": 26, "gate": "go"}, run_id="fifty")
    first = pool.spawn(lease=1.0, durability=durability)

    async def entered_26() -> bool:
        return any(line["step"] == "s26" for line in pool.ledger())

    await wait_until(entered_26, timeout=30, what="step 26 to start", pool=pool)
    first.kill()
    done = [e.name for e in await engine.journal("fifty") if e.kind is EntryKind.OUTCOME]
    assert done == [f"s{n}" for n in range(1, 26)]

    pool.open_gate("go")
    restarted = time.monotonic()
    second = pool.spawn(lease=1.0, durability=durability)

    async def finished() -> bool:
        return (await engine.get("fifty")).status is RunStatus.COMPLETED

    await wait_until(finished, timeout=30, what="the run to complete", pool=pool)
    print(f"{durability}: restart to completion {time.monotonic() - restarted:.2f}s")

    run = await engine.get("fifty")
    assert run.result == sum(range(1, 51))
    ledger = pool.ledger()
    resumed = [(line["kind"], line["step"]) for line in ledger if line["pid"] == second.pid]
    assert resumed[0] == ("enter", "s26"), "the restarted worker did not resume at step 26"
    effects = [line for line in ledger if line["kind"] == "effect"]
    assert Counter(line["step"] for line in effects) == {f"s{n}": 1 for n in range(1, 51)}
    before_kill = {line["step"] for line in effects if line["pid"] == first.pid}
    assert before_kill == {f"s{n}" for n in range(1, 26)}
    journal = await engine.journal("fifty")
    check_journal(run, journal)
    assert [e.step_key for e in journal] == [str(n) for n in range(1, 51)]
