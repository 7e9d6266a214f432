"""Worker behaviour on every store: graceful shutdown, queues and priorities."""

from __future__ import annotations

import asyncio

import pytest

from fluxio import Engine, RunContext, RunStatus, Worker
from fluxio.store.base import Store
from fluxio.store.records import ConcurrencyLimit, RunQuery

pytestmark = pytest.mark.anyio


async def test_graceful_stop_releases_unfinished_runs_for_another_worker_at_once(
    store: Store,
) -> None:
    started = asyncio.Event()

    async def slow(ctx: RunContext, _: object) -> str:
        async def body() -> None:
            started.set()
            await asyncio.sleep(60)

        await ctx.step(body)
        return "done"

    first = Engine(store, workflows={"slow": slow}, lease_seconds=600)
    run = await first.start("slow")
    stop = asyncio.Event()
    worker = Worker(first, shutdown_grace=0.1)
    serving = asyncio.create_task(worker.run(stop=stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(serving, 5)

    second = Engine(store, workflows={"slow": slow}, lease_seconds=600)
    claims = await second.claim(10)
    assert [c.run.run_id for c in claims] == [run.run_id]  # no 600 s wait for lease expiry
    assert claims[0].lease.epoch == 2


async def test_a_worker_takes_only_the_queues_it_serves(store: Store) -> None:
    async def wf(ctx: RunContext, n: int) -> int:
        return n

    mail = Engine(store, workflows={"wf": wf}, queues=["email"])
    await mail.start("wf", 1, queue="email")
    other = await mail.start("wf", 2)
    await mail.drive()
    assert (await mail.get(other.run_id)).status is RunStatus.PENDING
    done = await mail.list_runs()
    assert sorted(r.status for r in done) == [RunStatus.COMPLETED, RunStatus.PENDING]


async def test_a_tenant_cap_bounds_runs_executing_at_once(store: Store) -> None:
    running = 0
    peak = 0

    async def wf(ctx: RunContext, _: object) -> None:
        async def body() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)
            running -= 1

        await ctx.step(body)

    await store.set_limit(ConcurrencyLimit("acme", "*", 2))
    engine = Engine(store, workflows={"wf": wf})
    for _ in range(8):
        await engine.start("wf", tenant_id="acme")
    await engine.drive(concurrency=50)
    runs = await engine.list_runs(RunQuery("acme"))
    assert [r.status for r in runs] == [RunStatus.COMPLETED] * 8
    assert peak == 2


async def test_a_child_run_goes_to_the_queue_its_parent_names(store: Store) -> None:
    async def leaf(ctx: RunContext, n: int) -> int:
        return n * 2

    async def parent(ctx: RunContext, n: int) -> int:
        return await ctx.child("leaf", n, queue="heavy", priority=3)

    engine = Engine(store, workflows={"leaf": leaf, "parent": parent})
    assert await engine.run("parent", 21) == 42
    [child] = [r for r in await engine.list_runs() if r.workflow == "leaf"]
    assert (child.queue, child.priority) == ("heavy", 3)
