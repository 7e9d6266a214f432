"""Every combinator on the real engine: Parallel, Loop, Branch, Map, Wait, SubWorkflow…"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from fluxio import Engine, RunFailed
from fluxio.dsl import (
    Branch,
    Context,
    Loop,
    LoopLimitExceeded,
    Map,
    Parallel,
    Step,
    SubWorkflow,
    Wait,
    Workflow,
    step,
    workflow,
)
from fluxio.engine import BranchError
from fluxio.errors import DefinitionError, StepFailed
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


@dataclasses.dataclass
class Point:
    x: int
    y: int


@step
async def inc(n: int) -> int:
    return n + 1


@step
async def double(n: int) -> int:
    return n * 2


@step
async def negate(n: int) -> int:
    return -n


async def run(flow: Step[Any, Any], input: Any = None) -> Any:
    engine = Engine(MemoryStore())
    return await engine.run(Workflow("test", flow), input)


# -- Parallel ----------------------------------------------------------------------------


async def test_parallel_gives_each_branch_the_same_input_and_keeps_order() -> None:
    assert await run(Parallel(inc, double, negate), 5) == [6, 10, -5]


async def test_parallel_best_effort_returns_branch_errors_in_place() -> None:
    @step(retry=1)
    async def boom(n: int) -> int:
        raise StepFailed(f"bad {n}")

    @step
    async def report(results: list[Any]) -> list[str]:
        return [
            f"failed: {r.error.message}" if isinstance(r, BranchError) else f"ok: {r}"
            for r in results
        ]

    flow = Parallel(inc, boom, policy="best_effort") >> report
    assert await run(flow, 1) == ["ok: 2", "failed: bad 1"]


async def test_parallel_all_or_nothing_fails_the_run() -> None:
    @step(retry=1)
    async def boom(n: int) -> int:
        raise StepFailed("branch broke")

    with pytest.raises(RunFailed, match="branch broke"):
        await run(Parallel(inc, boom), 1)


async def test_parallel_rehydrates_typed_branch_outputs() -> None:
    seen: list[Any] = []

    @step
    async def make(n: int) -> Point:
        return Point(n, n)

    @step
    async def check(points: list[Any]) -> int:
        seen.extend(points)
        return len(points)

    assert await run(Parallel(make, make) >> check, 3) == 2
    assert seen == [Point(3, 3), Point(3, 3)]


def test_parallel_rejects_bad_definitions() -> None:
    with pytest.raises(DefinitionError, match="at least one"):
        Parallel()
    with pytest.raises(DefinitionError, match="policy 'sometimes'"):
        Parallel(inc, policy="sometimes")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="concurrency"):
        Parallel(inc, concurrency=0)


# -- Loop --------------------------------------------------------------------------------


async def test_loop_until_feeds_output_into_next_iteration() -> None:
    assert await run(Loop(double, until="input >= 100", max_iterations=10), 3) == 192


async def test_loop_while_may_run_zero_times() -> None:
    assert await run(Loop(inc, while_="input < 0", max_iterations=3), 7) == 7


async def test_loop_predicate_sees_the_iteration() -> None:
    flow = Loop(inc, while_=lambda value, i: i < 4, max_iterations=10)
    assert await run(flow, 0) == 4


async def test_loop_cel_sees_the_iteration() -> None:
    assert await run(Loop(inc, until="iteration == 2", max_iterations=5), 10) == 12


async def test_loop_exceeding_max_iterations_fails_clearly() -> None:
    flow = Loop(inc, while_="input < 1000", max_iterations=3, name="count")
    with pytest.raises(RunFailed) as info:
        await run(flow, 0)
    error = info.value.error
    assert error["type"] == "LoopLimitExceeded"
    assert "loop 'count'" in error["message"]
    assert "max_iterations=3" in error["message"]
    assert "'input < 1000'" in error["message"]
    assert error["retryable"] is False
    assert issubclass(LoopLimitExceeded, StepFailed)


async def test_loop_iterations_run_in_their_own_key_scopes() -> None:
    engine = Engine(MemoryStore())
    await engine.run(Workflow("l", inc >> Loop(inc >> double, until="input > 20")), 0)
    run = (await engine.list_runs())[0]
    keys = [e.step_key for e in await engine.journal(run.run_id)]
    assert keys == [
        "1",
        *("2.loop.0.1", "2.loop.0.2"),
        *("2.loop.1.1", "2.loop.1.2"),
        *("2.loop.2.1", "2.loop.2.2"),
    ]


def test_loop_needs_exactly_one_condition() -> None:
    with pytest.raises(DefinitionError, match="exactly one of while_= and until="):
        Loop(inc, max_iterations=3)
    with pytest.raises(DefinitionError, match="exactly one"):
        Loop(inc, while_="true", until="true")
    with pytest.raises(DefinitionError, match="invalid CEL"):
        Loop(inc, until="input >>> 3")
    with pytest.raises(DefinitionError, match="max_iterations"):
        Loop(inc, until="true", max_iterations=0)


# -- Branch ------------------------------------------------------------------------------


async def test_branch_cel_condition_picks_an_arm() -> None:
    flow = Branch("input > 10", double, otherwise=negate)
    assert await run(flow, 20) == 40
    assert await run(flow, 3) == -3


async def test_branch_predicate_and_pass_through() -> None:
    flow = Branch(lambda p: p.x > p.y, step(lambda p: Point(p.y, p.x)))

    @step
    async def start(n: int) -> Point:
        return Point(n, 1)

    assert await run(start >> flow, 5) == {"x": 1, "y": 5}
    assert await run(start >> flow, 0) == {"x": 0, "y": 1}


async def test_branch_cel_sees_models_as_maps() -> None:
    @step
    async def start(n: int) -> Point:
        return Point(n, 2)

    flow = start >> Branch("input.x == input.y", step(lambda p: "same"), step(lambda p: "diff"))
    assert await run(flow, 2) == "same"
    assert await run(flow, 3) == "diff"


async def test_branch_cases_runs_the_first_matching_case() -> None:
    flow = Branch.cases(("input < 0", negate), ("input < 10", inc), otherwise=double)
    assert [await run(flow, n) for n in (-4, 4, 40)] == [4, 5, 80]
    assert await run(Branch.cases(("input < 0", negate)), 3) == 3


def test_bad_cel_fails_when_the_branch_is_defined() -> None:
    with pytest.raises(DefinitionError, match="invalid CEL expression 'input >'"):
        Branch("input >", inc)
    with pytest.raises(DefinitionError, match="CEL string or a predicate"):
        Branch(42, inc)  # type: ignore[arg-type]


# -- Map ---------------------------------------------------------------------------------


async def test_map_applies_the_step_to_each_item() -> None:
    assert await run(Map(double), [1, 2, 3]) == [2, 4, 6]
    assert await run(Map(double), []) == []


async def test_map_respects_its_concurrency_limit() -> None:
    in_flight = 0
    peak = 0

    @step
    async def slow(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return n

    assert await run(Map(slow, concurrency=3), list(range(12))) == list(range(12))
    assert peak == 3
    peak = 0
    await run(Map(slow), list(range(12)))
    assert peak == 12  # without a limit everything runs at once, so the limit above did work


async def test_map_rejects_a_non_list_input() -> None:
    with pytest.raises(RunFailed, match="needs a list input, got int"):
        await run(Map(double), 5)


# -- Wait --------------------------------------------------------------------------------


async def test_wait_for_signal_returns_its_payload() -> None:
    engine = Engine(MemoryStore())
    flow = Workflow("w", inc >> Wait(signal="ready") >> step(lambda payload: payload["n"] * 10))
    run_ = await engine.start(flow, 1)
    await engine.drive()
    waiting = await engine.get(run_.run_id)
    assert waiting.status == "waiting"
    assert waiting.wait is not None
    assert waiting.wait.detail == "ready"
    await engine.signal(run_.run_id, "ready", {"n": 4})
    assert await engine.result(run_.run_id) == 40


async def test_wait_for_event_waits_for_the_event_signal() -> None:
    engine = Engine(MemoryStore())
    run_ = await engine.start(Workflow("e", Wait(event="paid")), None)
    await engine.drive()
    waiting = await engine.get(run_.run_id)
    assert waiting.wait is not None
    assert waiting.wait.reason == "event"
    await engine.signal(run_.run_id, "event:paid", {"amount": 3})
    assert await engine.result(run_.run_id) == {"amount": 3}


async def test_wait_duration_passes_the_input_through() -> None:
    assert await run(inc >> Wait(duration=0.05) >> inc, 1) == 3


async def test_wait_signal_timeout_fails_with_step_timeout() -> None:
    with pytest.raises(RunFailed) as info:
        await run(Wait(signal="never", timeout=0.05), None)
    assert info.value.error["type"] == "StepTimeout"


def test_wait_needs_exactly_one_thing_to_wait_for() -> None:
    with pytest.raises(DefinitionError, match="exactly one of signal=, event= and duration="):
        Wait()
    with pytest.raises(DefinitionError, match="exactly one"):
        Wait(signal="a", duration=1)
    with pytest.raises(DefinitionError, match="timeout"):
        Wait(duration=1, timeout=2)


# -- SubWorkflow and @workflow -----------------------------------------------------------


async def test_sub_workflow_runs_a_child_run_and_rehydrates_its_type() -> None:
    @step
    async def make(n: int) -> Point:
        return Point(n, -n)

    child = Workflow("make-point", make)
    seen: list[Any] = []

    @step
    async def use(p: Point) -> int:
        seen.append(p)
        return p.x

    parent = Workflow("parent", inc >> SubWorkflow(child) >> use)
    engine = Engine(MemoryStore(), workflows={"make-point": child, "parent": parent})
    assert await engine.run("parent", 1) == 2
    assert seen == [Point(2, -2)]
    runs = await engine.list_runs()
    assert {r.workflow for r in runs} == {"parent", "make-point"}


async def test_sub_workflow_by_name() -> None:
    engine = Engine(MemoryStore())
    engine.register(Workflow("dbl", double))
    engine.register(Workflow("outer", SubWorkflow("dbl") >> inc))
    assert await engine.run("outer", 5) == 11


async def test_workflow_decorator_runs_plain_orchestration_code() -> None:
    @workflow(name="points")
    async def points(ctx: Context, p: Point) -> list[int]:
        """Sum a point's coordinates twice."""
        total = await inc.run(ctx, p.x + p.y)
        return [total, await double.run(ctx, total)]

    assert points.name == "points"
    assert points.description == "Sum a point's coordinates twice."
    assert points.input_type is Point
    engine = Engine(MemoryStore())
    engine.register(points)
    assert await engine.run("points", {"x": 1, "y": 2}) == [4, 8]


def test_workflow_decorator_needs_async_code() -> None:
    def sync(ctx: Any, x: int) -> int:
        return x

    with pytest.raises(DefinitionError, match="async def"):
        workflow(sync)  # type: ignore[arg-type]


async def test_loop_and_branch_predicates_see_typed_values_from_json_input() -> None:
    @step
    async def grow(p: Point) -> Point:
        return Point(p.x + 1, p.y)

    loop = Loop(grow, while_=lambda p: p.x < p.y, max_iterations=10)
    assert await run(loop, {"x": 0, "y": 3}) == {"x": 3, "y": 3}
    branch = Branch(lambda p: isinstance(p, Point) and p.x > 0, grow)
    assert await run(branch, {"x": 1, "y": 0}) == {"x": 2, "y": 0}
