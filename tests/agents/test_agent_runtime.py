"""The runtime: paused agents refuse tasks, terminated agents' runs are cancelled, and each
agent's concurrency limit holds across its runs."""

from __future__ import annotations

import asyncio

import pytest

from fluxio import Engine
from fluxio.agents import AgentDefinition, AgentRuntime, Lifecycle
from fluxio.errors import UsageError
from fluxio.store.records import RunQuery, RunStatus
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import ToolRegistry, tool

pytestmark = pytest.mark.anyio


async def test_a_paused_agent_refuses_new_tasks_and_its_queued_tasks_wait(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    model = FakeModel(default="ok")
    runtime = AgentRuntime(Engine(sqlite), tools=tools, model=model)
    await runtime.deploy(AgentDefinition(name="helper"))
    queued = await runtime.start("helper", "first")
    await runtime.pause("helper")
    with pytest.raises(UsageError, match="'helper' is paused and accepts no new tasks"):
        await runtime.start("helper", "second")
    await runtime.engine.drive()
    assert (await runtime.engine.get(queued.run_id)).status is RunStatus.PENDING
    assert model.calls == 0
    await runtime.resume("helper")
    assert (await runtime.result(queued.run_id)).output == "ok"
    assert runtime.registry.state("helper") is Lifecycle.ACTIVE


async def test_starting_a_task_on_an_undeployed_agent_says_to_deploy_it(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    runtime = AgentRuntime(Engine(sqlite), tools=tools, model=FakeModel(default="ok"))
    runtime.register(AgentDefinition(name="helper"))
    with pytest.raises(UsageError, match="is registered and accepts no new tasks; deploy it"):
        await runtime.start("helper", "go")


async def test_terminating_an_agent_cancels_its_in_flight_runs(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    runtime = AgentRuntime(Engine(sqlite), tools=tools, model=FakeModel(default="ok"))
    await runtime.deploy(AgentDefinition(name="careful", approval_required=True))
    await runtime.deploy(AgentDefinition(name="other", approval_required=True))
    runs = [await runtime.start("careful", f"task {i}") for i in range(3)]
    bystander = await runtime.start("other", "task")
    await runtime.engine.drive()
    cancelled = await runtime.terminate("careful")
    assert sorted(r.run_id for r in cancelled) == sorted(r.run_id for r in runs)
    for run in runs:
        assert (await runtime.engine.get(run.run_id)).status is RunStatus.CANCELLED
    assert (await runtime.engine.get(bystander.run_id)).status is RunStatus.WAITING
    with pytest.raises(UsageError, match="is terminated and accepts no new tasks"):
        await runtime.start("careful", "more")


async def test_a_task_started_around_the_runtime_is_refused_at_receive_when_paused(
    sqlite: SQLiteStore,
) -> None:
    runtime = AgentRuntime(Engine(sqlite), model=FakeModel(default="ok"))
    await runtime.deploy(AgentDefinition(name="helper"))
    run = await runtime.engine.start("agent:helper", {"task": "sneaky"})  # not via start()
    runtime.registry.pause("helper")  # paused in the registry only: the queue is not held
    await runtime.engine.drive()
    failed = await runtime.engine.get(run.run_id)
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "is paused and accepts no new tasks" in failed.error["message"]


async def test_at_most_the_concurrency_limit_of_an_agent_runs_at_once(sqlite: SQLiteStore) -> None:
    active = {"now": 0, "peak": 0}

    @tool
    async def work(seconds: float) -> str:
        """Work for a while."""
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        await asyncio.sleep(seconds)
        active["now"] -= 1
        return "worked"

    model = FakeModel(
        default=lambda request: (
            "done"
            if request.messages[-1].role == "tool"
            else FakeModel.tool_call("work", {"seconds": 0.05})
        )
    )
    runtime = AgentRuntime(Engine(sqlite), tools=ToolRegistry([work]), model=model)
    await runtime.deploy(
        AgentDefinition(name="worker", required_tools=("work",), concurrency_limit=2)
    )
    runs = [await runtime.start("worker", f"job {i}") for i in range(6)]
    assert {r.queue for r in runs} == {"agent:worker"}
    await runtime.engine.drive(concurrency=10)
    done = await runtime.engine.list_runs(RunQuery("default", workflow="agent:worker"))
    assert [r.status for r in done] == [RunStatus.COMPLETED] * 6
    assert active["peak"] == 2
