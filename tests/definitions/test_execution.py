"""YAML workflows on the real Engine: DAG parallelism, decisions, errors, waits, child runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunFailed, RunStatus
from fluxio.definitions import ToolRegistry, YamlWorkflow, load_workflow
from fluxio.errors import StepFailed
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


class Calls:
    """Counts how often each tool body really ran (replays must not add to it)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def tools(calls: Calls) -> ToolRegistry:
    registry = ToolRegistry()

    async def slow(label: str, seconds: float = 0.2) -> str:
        calls.hit(label)
        await asyncio.sleep(seconds)
        return label

    def echo(value: Any) -> Any:
        calls.hit("echo")
        return value

    failures: dict[str, int] = {}

    def flaky(times: int) -> str:
        failures["n"] = failures.get("n", 0) + 1
        calls.hit("flaky")
        if failures["n"] <= times:
            raise StepFailed(f"attempt {failures['n']} failed")
        return f"ok after {failures['n']}"

    def boom() -> None:
        calls.hit("boom")
        raise ValueError("card declined")

    def pay(amount: float, to: str) -> dict[str, Any]:
        calls.hit("pay")
        return {"paid": amount, "to": to}

    registry.register("slow", slow)
    registry.register("echo", echo)
    registry.register("flaky", flaky)
    registry.register("boom", boom)
    registry.register("pay", pay, side_effects=True, idempotent=False)
    return registry


def _load(text: str, tools: ToolRegistry) -> YamlWorkflow:
    return load_workflow(text, tools=tools)


async def _run(engine: Engine, workflow: YamlWorkflow, data: Any = None) -> Any:
    engine.register(workflow)
    return await engine.run(workflow.name, data)


async def _start_and_drive(engine: Engine, workflow: YamlWorkflow, data: Any = None) -> str:
    engine.register(workflow)
    run = await engine.start(workflow.name, data)
    await engine.drive()
    return run.run_id


async def test_tool_steps_map_inputs_literals_and_outputs(
    engine: Engine, tools: ToolRegistry
) -> None:
    workflow = _load(
        """
name: mapping
steps:
  - id: first
    type: tool
    tool: echo
    inputs: {value: input.order}
    outputs: {total: "sum(result.items[].price)", who: result.customer}
  - id: second
    type: tool
    tool: echo
    inputs:
      value: {value: {nested: [1, 2], text: steps.not.an.expression}}
outputs:
  total: steps.first.output.total
  who: steps.first.output.who
  literal: steps.second.output
  status: steps.second.status
""",
        tools,
    )
    order = {"customer": "ada", "items": [{"price": 2}, {"price": 3}]}
    result = await _run(engine, workflow, {"order": order})
    assert result == {
        "total": 5,
        "who": "ada",
        "literal": {"nested": [1, 2], "text": "steps.not.an.expression"},
        "status": "completed",
    }


async def test_independent_steps_run_concurrently(engine: Engine, tools: ToolRegistry) -> None:
    workflow = _load(
        """
name: parallel
steps:
  - {id: a, type: tool, tool: slow, inputs: {label: {value: a}}}
  - {id: b, type: tool, tool: slow, inputs: {label: {value: b}}}
  - id: joined
    type: tool
    tool: echo
    inputs: {value: "[steps.a.output, steps.b.output]"}
outputs: {joined: steps.joined.output}
""",
        tools,
    )
    started = time.perf_counter()
    result = await _run(engine, workflow)
    elapsed = time.perf_counter() - started
    assert result == {"joined": ["a", "b"]}
    assert elapsed < 0.35, f"two 0.2 s steps took {elapsed:.2f} s: they did not overlap"


async def test_decision_runs_the_chosen_branch_and_records_the_rest_as_skipped(
    engine: Engine, tools: ToolRegistry
) -> None:
    text = """
name: route
steps:
  - id: route
    type: decision
    branches:
      - when: input.amount > 100
        goto: [big]
    default: [small]
  - {id: big, type: tool, tool: echo, inputs: {value: {value: big}}}
  - {id: small, type: tool, tool: echo, inputs: {value: {value: small}}}
  - {id: after_small, type: tool, tool: echo, inputs: {value: steps.small.output}}
  - id: join
    type: tool
    tool: echo
    depends_on: [big, after_small]
    inputs: {value: "[steps.big.output, steps.after_small.output]"}
outputs:
  joined: steps.join.output
  statuses: "[steps.big.status, steps.small.status, steps.after_small.status]"
"""
    workflow = _load(text, tools)
    engine.register(workflow)
    run = await engine.start("route", {"amount": 500})
    assert await engine.result(run.run_id) == {
        "joined": ["big", None],
        "statuses": ["completed", "skipped", "skipped"],
    }
    journal = {e.step_key: e for e in await engine.journal(run.run_id)}
    assert journal["small"].name == "skipped"
    assert journal["small"].value == {"reason": "not chosen by route"}
    assert journal["route"].value["next"] == ["big"]
    small = await engine.run("route", {"amount": 5})
    assert small["joined"] == [None, "small"]


async def test_on_error_skip_branch_retry_and_fail(
    engine: Engine, tools: ToolRegistry, calls: Calls
) -> None:
    text = """
name: errors
steps:
  - {id: tolerated, type: tool, tool: boom, on_error: skip}
  - id: after_tolerated
    type: tool
    tool: echo
    inputs: {value: steps.tolerated.error.message}
  - {id: risky, type: tool, tool: boom, on_error: branch, on_error_goto: handler}
  - {id: after_risky, type: tool, tool: echo, inputs: {value: steps.risky.output}}
  - {id: handler, type: tool, tool: echo, inputs: {value: steps.risky.error.type}}
  - id: retried
    type: tool
    tool: flaky
    inputs: {times: {value: 2}}
    on_error: retry
    retry_config: {max_attempts: 3, backoff: linear, initial_delay: 0.01, max_delay: 0.05}
outputs:
  message: steps.after_tolerated.output
  after_risky: steps.after_risky.status
  handled: steps.handler.output
  retried: steps.retried.output
"""
    result = await _run(engine, _load(text, tools))
    assert result == {
        "message": "card declined",
        "after_risky": "skipped",
        "handled": "ValueError",
        "retried": "ok after 3",
    }
    assert calls.counts["flaky"] == 3
    failing = _load("name: fails\nsteps:\n  - {id: charge, type: tool, tool: boom}\n", tools)
    with pytest.raises(RunFailed, match=r"step 'charge' \(tool: boom\) failed: card declined"):
        await _run(engine, failing)
    assert calls.counts["boom"] == 3  # no retry without retry_config


async def test_child_workflow_step(engine: Engine, tools: ToolRegistry) -> None:
    child = _load(
        "name: child\nsteps:\n  - {id: e, type: tool, tool: echo, inputs: {value: input.x}}\n"
        "outputs: {doubled: '[steps.e.output, steps.e.output]'}\n",
        tools,
    )
    parent = _load(
        "name: parent\nsteps:\n  - id: sub\n    type: workflow\n    workflow: child\n"
        "    inputs: {x: input.x}\noutputs: {sub: steps.sub.output.doubled}\n",
        tools,
    )
    engine.register(child)
    assert await _run(engine, parent, {"x": 7}) == {"sub": [7, 7]}


async def test_event_and_duration_waits(engine: Engine, tools: ToolRegistry) -> None:
    text = """
name: waits
steps:
  - id: shipped
    type: wait
    wait_for: {type: event, event: order.shipped}
  - id: pause
    type: wait
    wait_for: {type: duration, duration: 50ms}
    depends_on: [shipped]
  - {id: done, type: tool, tool: echo, depends_on: [pause], inputs: {value: steps.shipped.output}}
outputs: {tracking: steps.done.output.tracking}
"""
    run_id = await _start_and_drive(engine, _load(text, tools))
    run = await engine.get(run_id)
    assert run.status is RunStatus.WAITING
    assert run.wait is not None
    assert run.wait.detail == "order.shipped"
    await engine.signal(run_id, "order.shipped", {"tracking": "TR1"})
    assert await engine.result(run_id) == {"tracking": "TR1"}


async def test_wait_timeout_can_skip(engine: Engine, tools: ToolRegistry) -> None:
    text = """
name: timeout
steps:
  - id: maybe
    type: wait
    wait_for: {type: event, event: never, timeout: 0.05, on_timeout: skip}
  - {id: after, type: tool, tool: echo, inputs: {value: steps.maybe.status}}
  - {id: other, type: tool, tool: echo, inputs: {value: {value: 1}}}
outputs: {maybe: steps.maybe.status, after: steps.after.status, other: steps.other.output}
"""
    assert await _run(engine, _load(text, tools)) == {
        "maybe": "skipped",
        "after": "skipped",
        "other": 1,
    }


APPROVAL = """
name: approval
steps:
  - id: review
    type: wait
    wait_for: approval
  - id: pay
    type: tool
    tool: pay
    approval: true
    depends_on: [review]
    inputs: {amount: input.amount, to: input.to}
outputs: {paid: steps.pay.output, review: steps.review.output}
"""


async def test_approval_approve_with_edited_arguments(
    engine: Engine, tools: ToolRegistry, calls: Calls
) -> None:
    run_id = await _start_and_drive(engine, _load(APPROVAL, tools), {"amount": 10, "to": "bob"})
    run = await engine.get(run_id)
    assert run.wait is not None
    assert run.wait.reason == "approval"
    assert run.wait.detail == "approval:review"
    await engine.signal(run_id, "approval:review", {"decision": "approve", "by": "ann"})
    await engine.drive()
    run = await engine.get(run_id)
    assert run.wait is not None
    assert run.wait.detail == "approval:pay"
    journal = {e.step_key: e for e in await engine.journal(run_id)}
    assert journal["pay.request"].value["arguments"] == {"amount": 10, "to": "bob"}
    assert "pay" not in calls.counts
    await engine.signal(
        run_id, "approval:pay", {"decision": "approve", "payload": {"amount": 8}, "note": "cap"}
    )
    result = await engine.result(run_id)
    assert result["paid"] == {"paid": 8, "to": "bob"}
    assert result["review"] == {"decision": "approve", "by": "ann", "payload": None, "note": None}
    assert calls.counts["pay"] == 1


async def test_approval_rejection_fails_the_step(
    engine: Engine, tools: ToolRegistry, calls: Calls
) -> None:
    run_id = await _start_and_drive(engine, _load(APPROVAL, tools), {"amount": 10, "to": "bob"})
    await engine.signal(
        run_id, "approval:review", {"decision": "reject", "by": "ann", "note": "not now"}
    )
    with pytest.raises(RunFailed, match=r"step 'review' .* rejected by ann: not now"):
        await engine.result(run_id)
    assert "pay" not in calls.counts


async def test_suspension_lets_other_branches_finish_and_replay_runs_nothing_twice(
    engine: Engine, tools: ToolRegistry, calls: Calls
) -> None:
    text = """
name: replay
steps:
  - {id: gate, type: wait, wait_for: approval}
  - {id: fast, type: tool, tool: slow, inputs: {label: {value: fast}, seconds: {value: 0.01}}}
  - {id: slower, type: tool, tool: slow, inputs: {label: {value: slower}, seconds: {value: 0.05}}}
  - {id: next, type: tool, tool: slow, inputs: {label: steps.fast.output, seconds: {value: 0}}}
  - id: final
    type: tool
    tool: echo
    depends_on: [gate, next, slower]
    inputs: {value: "[steps.next.output, steps.slower.output]"}
outputs: {final: steps.final.output}
"""
    run_id = await _start_and_drive(engine, _load(text, tools))
    assert (await engine.get(run_id)).status is RunStatus.WAITING
    assert calls.counts == {"fast": 2, "slower": 1}  # fast ran twice: step `fast` and `next`
    await engine.signal(run_id, "approval:gate", {"decision": "approve"})
    assert await engine.result(run_id) == {"final": ["fast", "slower"]}
    assert calls.counts == {"fast": 2, "slower": 1, "echo": 1}
    keys = [e.step_key for e in await engine.journal(run_id)]
    assert sorted(keys) == sorted({"gate", "fast", "slower", "next", "final"})


async def test_runs_on_a_sqlite_file_and_resumes_in_a_new_engine(
    tmp_path: Path, tools: ToolRegistry, calls: Calls
) -> None:
    sqlite = pytest.importorskip("fluxio.store.sqlite")
    path = tmp_path / "fluxio.db"
    store = sqlite.SQLiteStore(path)
    first = Engine(store)
    run_id = await _start_and_drive(first, _load(APPROVAL, tools), {"amount": 3, "to": "cy"})
    await first.signal(run_id, "approval:review", {"decision": "approve"})
    await first.drive()
    await store.close()

    reopened = sqlite.SQLiteStore(path)
    second = Engine(reopened)
    second.register(_load(APPROVAL, tools))
    await second.signal(run_id, "approval:pay", {"decision": "approve"})
    result = await second.result(run_id)
    await reopened.close()
    assert result["paid"] == {"paid": 3, "to": "cy"}
    assert calls.counts == {"pay": 1}


async def test_engine_with_memory_store_is_isolated_per_test() -> None:
    registry = ToolRegistry()
    registry.register("one", lambda: 1)
    engine = Engine(MemoryStore())
    workflow = load_workflow(
        "name: w\nsteps:\n  - {id: a, type: tool, tool: one}\n", tools=registry
    )
    assert await _run(engine, workflow) == {"a": 1}


async def test_changed_definition_is_detected_on_replay(
    engine: Engine, tools: ToolRegistry
) -> None:
    first = "name: changing\nsteps:\n  - {id: a, type: tool, tool: echo, inputs: {value: 1}}\n"
    gate = "  - {id: gate, type: wait, wait_for: approval, depends_on: [a]}\n"
    run_id = await _start_and_drive(engine, _load(first + gate, tools))
    changed = first.replace("tool: echo", "tool: slow").replace("{value: 1}", "{label: input}")
    engine.register(_load(changed + gate, tools))
    await engine.signal(run_id, "approval:gate", {"decision": "approve"})
    with pytest.raises(RunFailed, match="not deterministic at step a"):
        await engine.result(run_id)
