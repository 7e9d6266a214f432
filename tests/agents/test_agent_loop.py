"""The agent loop is a run: journaled model and tool calls, errors back to the model, limits."""

from __future__ import annotations

from typing import Any

import pytest

from fluxio import Engine, ExecuteStepInput, RunContext
from fluxio.agents import AgentDefinition, AgentInputInvalid, AgentResult, AgentRuntime
from fluxio.engine import Next
from fluxio.errors import PolicyDenied, RunFailed
from fluxio.models import ModelResponse, Usage
from fluxio.store.records import EntryKind, RunStatus
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeClock, FakeModel
from fluxio.tools import ToolError, ToolRegistry, tool

pytestmark = pytest.mark.anyio


def runtime_for(
    store: SQLiteStore, model: FakeModel, tools: ToolRegistry, **engine: Any
) -> AgentRuntime:
    return AgentRuntime(Engine(store, **engine), tools=tools, model=model)


async def test_a_task_journals_every_model_and_tool_call_and_reports_its_record(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    model = FakeModel([FakeModel.tool_call("add", {"a": 2, "b": 3}), "The sum is 5."])
    runtime = runtime_for(sqlite, model, tools)
    await runtime.deploy(AgentDefinition(name="calc", required_tools=("add",), role="Adds."))
    result = await runtime.run("calc", "What is 2 + 3?")
    assert (result.ok, result.stop_reason, result.output) == (True, "final_answer", "The sum is 5.")
    assert result.iterations == 2
    assert [(u.tool, u.step_key, u.ok) for u in result.tool_calls] == [("add", "1.tool.1", True)]
    expected = model.requests[0].messages[-1].content or ""
    assert result.usage.input_tokens > len(expected.split())  # both calls counted
    journal = await runtime.engine.journal(result.run_id)
    assert [(e.step_key, e.name) for e in journal] == [
        ("receive", "agent:receive"),
        ("1.model", "model:fake"),
        ("1.tool.1", "tool:add"),
        ("2.model", "model:fake"),
        ("report", "agent:report"),
    ]
    assert journal[2].value == 5
    reported = AgentResult.model_validate(journal[-1].value)
    assert reported.finished_at >= reported.started_at > 0
    assert reported == result
    second = model.requests[1]
    assert second.messages[0].content is not None
    assert "Your role: Adds." in second.messages[0].content
    assert second.messages[-1].role == "tool"
    assert second.messages[-1].content == "5"


async def test_tool_errors_and_unknown_tools_go_back_to_the_model_as_tool_results(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    @tool(errors=[{"code": "not_found", "recoverable": False}])
    def find(name: str) -> str:
        """Find a thing."""
        raise ToolError("not_found", f"nothing called {name}")

    tools.register(find)
    model = FakeModel(
        [
            FakeModel.tool_calls(("add", {"a": "two", "b": 3}), ("find", {"name": "x"})),
            FakeModel.tool_call("multiply", {"a": 2}),
            "Sorry, I could not do it.",
        ]
    )
    runtime = runtime_for(sqlite, model, tools)
    await runtime.deploy(AgentDefinition(name="calc", required_tools=("add", "find")))
    result = await runtime.run("calc", "go")
    assert result.ok
    assert result.output == "Sorry, I could not do it."
    errors = [u.error for u in result.tool_calls]
    assert errors[0] is not None
    assert errors[0].startswith("ToolInputInvalid: tool 'add' argument 'a'")
    assert errors[1] == "not_found: tool 'find' failed with not_found: nothing called x"
    assert errors[2] is not None
    assert "there is no tool named 'multiply'" in errors[2]
    assert "Available tools: add, find" in errors[2]
    tool_messages = [m for m in model.requests[1].messages if m.role == "tool"]
    assert [m.content for m in tool_messages] == [f"ERROR {errors[0]}", f"ERROR {errors[1]}"]
    last = model.requests[2].messages[-1]
    assert last.role == "tool"
    assert "no tool named 'multiply'" in (last.content or "")
    assert len(result.errors) == 3


class DenyAdd:
    """A governance guard: tool calls of ``add`` are denied by policy."""

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        return await next(input)

    async def admit_step(self, input: ExecuteStepInput, ctx: RunContext) -> ExecuteStepInput:
        if input.options.metadata.get("tool") == "add":
            raise PolicyDenied("adding is not allowed for this agent", policies=("no-math",))
        return input


async def test_a_policy_denial_is_a_tool_result_and_the_tool_never_runs(
    sqlite: SQLiteStore,
) -> None:
    calls: list[int] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        calls.append(a + b)
        return a + b

    model = FakeModel([FakeModel.tool_call("add", {"a": 1, "b": 1}), "I may not add."])
    runtime = AgentRuntime(
        Engine(sqlite, interceptors=[DenyAdd()]), tools=ToolRegistry([add]), model=model
    )
    await runtime.deploy(AgentDefinition(name="calc", required_tools=("add",)))
    result = await runtime.run("calc", "1+1?")
    assert result.ok
    assert calls == []
    assert result.tool_calls[0].error == "PolicyDenied: adding is not allowed for this agent"
    assert model.requests[1].messages[-1].content == (
        "ERROR PolicyDenied: adding is not allowed for this agent"
    )


async def test_an_empty_reply_and_an_answer_breaking_the_output_schema_are_sent_back(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["spam", "ham"]}},
        "required": ["label"],
    }
    model = FakeModel(["", '{"label": "eggs"}', "Sure! ```json\n{'label': 'spam',}\n```"])
    runtime = runtime_for(sqlite, model, tools)
    await runtime.deploy(AgentDefinition(name="labeler", output_schema=schema))
    result = await runtime.run("labeler", "Label: WIN A PRIZE")
    assert result.ok
    assert result.output == {"label": "spam"}
    assert result.iterations == 3
    assert model.requests[1].messages[-1].content == (
        "Your reply was empty. Answer the task, or call one of the tools."
    )
    correction = model.requests[2].messages[-1].content or ""
    assert "Your answer is not valid" in correction
    assert "'eggs' is not one of" in correction
    assert model.requests[0].output_schema == schema
    assert "JSON Schema" in (model.requests[0].messages[0].content or "")


async def test_garbage_from_the_model_is_retried_by_the_model_step(tools: ToolRegistry) -> None:
    from fluxio.store.memory import MemoryStore

    garbage = FakeModel.error("tool call 'add' has arguments that are not a JSON object")
    model = FakeModel([garbage, "fine"])
    runtime = runtime_for(MemoryStore(), model, tools, clock=FakeClock())
    await runtime.deploy(AgentDefinition(name="calc"))
    result = await runtime.run("calc", "go")
    assert result.ok
    assert model.calls == 2
    journal = await runtime.engine.journal(result.run_id)
    assert [e.step_key for e in journal if e.name == "model:fake"] == ["1.model"]  # one step


async def test_a_model_that_keeps_failing_stops_the_task_with_a_recorded_result(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    model = FakeModel([FakeModel.error("401 invalid api key", retryable=False)])
    runtime = runtime_for(sqlite, model, tools)
    await runtime.deploy(AgentDefinition(name="calc"))
    result = await runtime.run("calc", "go")
    assert (result.ok, result.stop_reason) == (False, "model_error")
    assert "401 invalid api key" in result.errors[-1]
    run = await runtime.engine.get(result.run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error["type"] == "AgentStopped"
    assert run.error["details"]["result"]["stop_reason"] == "model_error"


async def test_max_iterations_and_max_tool_calls_stop_the_loop(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    looping = FakeModel(default=FakeModel.tool_call("add", {"a": 1, "b": 1}))
    runtime = runtime_for(sqlite, looping, tools)
    await runtime.deploy(AgentDefinition(name="calc", required_tools=("add",), max_iterations=3))
    result = await runtime.run("calc", "go")
    assert (result.stop_reason, result.iterations, len(result.tool_calls)) == (
        "max_iterations",
        3,
        3,
    )
    assert looping.calls == 3
    greedy = FakeModel([FakeModel.tool_calls(*[("add", {"a": i, "b": 1}) for i in range(4)])])
    runtime = runtime_for(sqlite, greedy, tools)
    await runtime.deploy(AgentDefinition(name="greedy", required_tools=("add",), max_tool_calls=3))
    result = await runtime.run("greedy", "go")
    assert (result.stop_reason, result.tool_calls) == ("max_tool_calls", ())
    await runtime.deploy(AgentDefinition(name="calc2", required_tools=("add",)))
    greedy.default = FakeModel.tool_call("add", {"a": 1, "b": 1})
    tightened = await runtime.run("calc2", "go", constraints={"max_iterations": 1})
    assert (tightened.stop_reason, tightened.iterations) == ("max_iterations", 1)


async def test_the_deadline_comes_from_the_engine_clock_and_is_journaled(
    sqlite: SQLiteStore,
) -> None:
    clock = FakeClock()

    @tool
    def slow(seconds: int) -> str:
        """Take a while."""
        clock.advance(seconds)
        return "done"

    model = FakeModel(default=FakeModel.tool_call("slow", {"seconds": 40}))
    runtime = AgentRuntime(Engine(sqlite, clock=clock), tools=ToolRegistry([slow]), model=model)
    await runtime.deploy(AgentDefinition(name="slowpoke", required_tools=("slow",), timeout=100))
    result = await runtime.run("slowpoke", "go")
    assert (result.stop_reason, model.calls) == ("timeout", 3)  # 0s, 40s, 80s; refused at 120s
    assert "reached its deadline" in result.errors[-1]
    journal = await runtime.engine.journal(result.run_id)
    received = journal[0].value
    assert received["deadline"] == received["started_at"] + 100
    timed_out = next(e for e in journal if e.step_key == "4.model")
    assert not timed_out.ok
    assert timed_out.value["type"] == "AgentTimeout"
    short = await runtime.run("slowpoke", "go", constraints={"timeout": 10})
    assert short.stop_reason == "timeout"
    assert short.iterations == 2


async def test_required_context_and_input_schema_are_validated(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    runtime = runtime_for(sqlite, FakeModel(default="ok"), tools)
    schema = {"type": "object", "properties": {"order": {"type": "integer"}}, "required": ["order"]}
    await runtime.deploy(
        AgentDefinition(name="refunds", required_context=("customer",), input_schema=schema)
    )
    with pytest.raises(AgentInputInvalid, match="needs context 'customer'"):
        await runtime.start("refunds", {"order": 1})
    with pytest.raises(AgentInputInvalid, match="input 'order': 'x' is not of type 'integer'"):
        await runtime.start("refunds", {"order": "x"}, context={"customer": "c"})
    result = await runtime.run("refunds", {"order": 7}, context={"customer": "c"})
    assert result.ok
    run = await runtime.engine.start("agent:refunds", {"task": {"order": 7}})
    with pytest.raises(RunFailed, match="needs context 'customer'") as failed:
        await runtime.engine.result(run.run_id)
    assert failed.value.error["type"] == "AgentInputInvalid"
    bad = await runtime.engine.start("agent:refunds", {"tsk": 1})
    with pytest.raises(RunFailed, match="invalid task"):
        await runtime.engine.result(bad.run_id)


async def test_approval_required_waits_for_a_person_then_runs_or_stops(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    model = FakeModel(default="done")
    runtime = runtime_for(sqlite, model, tools)
    await runtime.deploy(AgentDefinition(name="careful", approval_required=True))
    engine = runtime.engine
    approved = await runtime.start("careful", "go")
    rejected = await runtime.start("careful", "go")
    await engine.drive()
    waiting = await engine.get(approved.run_id)
    assert waiting.status is RunStatus.WAITING
    assert waiting.wait is not None
    assert (waiting.wait.reason, waiting.wait.detail) == ("approval", "approval:agent")
    assert model.calls == 0
    await engine.signal(approved.run_id, "approval:agent", {"decision": "approve", "by": "ann"})
    await engine.signal(rejected.run_id, "approval:agent", {"decision": "reject"})
    assert (await runtime.result(approved.run_id)).output == "done"
    stopped = await runtime.result(rejected.run_id)
    assert (stopped.ok, stopped.stop_reason, model.calls) == (False, "rejected", 1)


async def test_usage_and_cost_are_summed_over_every_model_call(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    def priced(text: str | None = None, call: bool = False) -> ModelResponse:
        base = FakeModel.tool_call("add", {"a": 1, "b": 2}) if call else FakeModel.text(text or "")
        return base.model_copy(
            update={"usage": Usage(input_tokens=10, output_tokens=5, cost_usd=0.01)}
        )

    runtime = runtime_for(sqlite, FakeModel([priced(call=True), priced("3")]), tools)
    await runtime.deploy(AgentDefinition(name="calc", required_tools=("add",)))
    result = await runtime.run("calc", "1+2")
    assert result.usage.input_tokens == 20
    assert result.usage.output_tokens == 10
    assert result.usage.cost_usd == pytest.approx(0.02)
    journal = await runtime.engine.journal(result.run_id)
    assert all(e.kind is EntryKind.OUTCOME for e in journal)
