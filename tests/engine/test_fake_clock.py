"""FakeClock: the engine's timers, backoff and leases move with it, not with the wall clock."""

from __future__ import annotations

import time

import pytest

from fluxio import Engine, RetryPolicy, RunContext, RunStatus, StepFailed, StepOptions
from fluxio.engine.clock import Clock
from fluxio.errors import UsageError
from fluxio.store.memory import MemoryStore
from fluxio.testing import FakeClock

pytestmark = pytest.mark.anyio


async def test_sleep_moves_time_at_once_and_advance_adds_up() -> None:
    clock: Clock = FakeClock(start=100.0)
    started = time.monotonic()
    await clock.sleep(3600)
    assert time.monotonic() - started < 1.0
    assert clock.now() == 3700.0
    assert isinstance(clock, FakeClock)
    assert clock.advance(0.5) == 3700.5
    await clock.sleep(-1)  # a negative sleep is no sleep
    assert clock.now() == 3700.5


def test_time_cannot_go_backwards() -> None:
    clock = FakeClock()
    with pytest.raises(UsageError, match="time cannot go backwards"):
        clock.advance(-1)


async def test_retry_backoff_costs_no_wall_time() -> None:
    attempts: list[float] = []
    clock = FakeClock()

    async def flaky() -> str:
        attempts.append(clock.now())
        if len(attempts) < 3:
            raise StepFailed("not yet")
        return "ok"

    async def wf(ctx: RunContext, _: object) -> str:
        slow = RetryPolicy(max_attempts=3, initial=600, max_delay=3600, jitter=0)
        return await ctx.step(flaky, options=StepOptions(retry=slow))

    engine = Engine(MemoryStore(), workflows={"wf": wf}, clock=clock)
    assert await engine.run("wf") == "ok"
    assert [t - attempts[0] for t in attempts] == [0, 600, 1800]


async def test_a_durable_timer_fires_when_the_fake_clock_passes_it() -> None:
    clock = FakeClock()

    async def wf(ctx: RunContext, _: object) -> str:
        await ctx.sleep(3600)
        return "woke"

    engine = Engine(MemoryStore(), workflows={"wf": wf}, clock=clock)
    run = await engine.start("wf")
    await engine.drive()
    assert (await engine.get(run.run_id)).status is RunStatus.WAITING
    clock.advance(3599)
    await engine.drive()
    assert (await engine.get(run.run_id)).status is RunStatus.WAITING
    clock.advance(1)
    await engine.drive()
    assert await engine.result(run.run_id) == "woke"
