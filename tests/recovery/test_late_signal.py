"""A signal sent while its run is executing (held by a worker) wakes it: on every store."""

from __future__ import annotations

import asyncio

import pytest

from fluxio import Engine, RunContext
from fluxio.store.base import Store

pytestmark = pytest.mark.anyio


async def test_signal_arriving_mid_execution_is_not_lost(store: Store) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        inside.set()
        await release.wait()

    async def wf(ctx: RunContext, _: object) -> object:
        await ctx.step(hold)
        return await ctx.wait_for("sig")

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf", run_id="late")
    result = asyncio.create_task(engine.result(run.run_id))
    await asyncio.wait_for(inside.wait(), 5)
    await engine.signal(run.run_id, "sig", {"early": True})
    release.set()
    assert await asyncio.wait_for(result, 5) == {"early": True}
