"""Agents as tools: a supervisor delegating to two agents, call_agent from a workflow, and
YAML workflow ``agent`` steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext
from fluxio.agents import (
    AgentDefinition,
    AgentRegistry,
    AgentRuntime,
    agent_as_tool,
    call_agent,
)
from fluxio.definitions import load_workflow
from fluxio.errors import DefinitionError, UsageError
from fluxio.models import ModelRequest
from fluxio.store.records import EntryKind, RunQuery
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import ToolRegistry

pytestmark = pytest.mark.anyio

RESEARCHER = AgentDefinition(
    name="researcher", description="Finds facts.", model="small", required_tools=("add",)
)
WRITER = AgentDefinition(name="writer", description="Writes prose.", model="small")


def supervisor_models() -> tuple[FakeModel, FakeModel]:
    def worker(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return f"the sum is {last.content}"
        if (last.content or "").startswith("How much"):
            return FakeModel.tool_call("add", {"a": 40, "b": 2})
        return f"A sentence about: {last.content}"

    boss = FakeModel(
        [
            FakeModel.tool_calls(
                ("researcher", {"task": "How much is 40 + 2?"}),
                ("writer", {"task": "the answer", "context": {"tone": "dry"}}),
            ),
            FakeModel.tool_call("writer", {"topic": "no task given"}),
            "Research says 42; the writer wrote it up.",
        ],
        name="big",
    )
    return boss, FakeModel(default=worker, name="small")


async def test_a_supervisor_delegates_to_two_agents_as_durable_child_runs(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    boss, small = supervisor_models()
    runtime = AgentRuntime(Engine(sqlite), tools=tools, models={"big": boss, "small": small})
    await runtime.deploy(RESEARCHER)
    await runtime.deploy(WRITER)
    await runtime.deploy(
        AgentDefinition(name="supervisor", model="big", delegates=("researcher", "writer"))
    )
    result = await runtime.run("supervisor", "Find 40+2 and write it up.")
    assert result.output == "Research says 42; the writer wrote it up."
    uses = result.tool_calls
    assert [(u.tool, u.ok) for u in uses] == [
        ("researcher", True),
        ("writer", True),
        ("writer", False),
    ]
    assert uses[0].child_run_id == f"{result.run_id}.1.tool.1"
    assert uses[2].error is not None
    assert "ToolInputInvalid" in uses[2].error
    assert "'task' is a required property" in uses[2].error
    tool_results = [m.content for m in boss.requests[1].messages if m.role == "tool"]
    assert tool_results == [
        "the sum is 42",
        'A sentence about: the answer\n\nContext:\n{\n "tone": "dry"\n}',
    ]
    tools_seen = [t.name for t in boss.requests[0].tools]
    assert tools_seen == ["researcher", "writer"]
    assert boss.requests[0].tools[0].description == "Finds facts."
    children = await runtime.engine.list_runs(RunQuery("default", parent_run_id=result.run_id))
    assert sorted(c.workflow for c in children) == ["agent:researcher", "agent:writer"]
    journal = await runtime.engine.journal(result.run_id)
    outcomes = [e.name for e in journal if e.kind is EntryKind.OUTCOME]
    assert [n for n in outcomes if n.startswith("child:")] == [
        "child:agent:researcher",
        "child:agent:writer",
    ]


async def test_a_failing_delegate_is_a_tool_error_for_the_supervisor(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    boss = FakeModel(
        [FakeModel.tool_call("writer", {"task": "x"}), "the writer failed"], name="big"
    )
    broken = FakeModel([FakeModel.error("model is down", retryable=False)], name="small")
    runtime = AgentRuntime(Engine(sqlite), tools=tools, models={"big": boss, "small": broken})
    await runtime.deploy(WRITER)
    await runtime.deploy(AgentDefinition(name="boss", model="big", delegates=("writer",)))
    result = await runtime.run("boss", "delegate")
    assert result.ok
    error = result.tool_calls[0].error or ""
    assert error.startswith("AgentStopped: agent 'writer' stopped (model_error): model is down")


async def test_an_agent_tool_can_be_registered_like_any_tool_and_refuses_direct_calls(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    as_tool = agent_as_tool(WRITER, name="ask_writer")
    assert (as_tool.contract.type, as_tool.name, as_tool.agent) == ("agent", "ask_writer", "writer")
    assert as_tool.contract.input_schema["required"] == ["task"]
    tools.register(as_tool)
    boss = FakeModel([FakeModel.tool_call("ask_writer", {"task": "hi"}), "ok"], name="big")
    runtime = AgentRuntime(
        Engine(sqlite), tools=tools, models={"big": boss, "small": FakeModel(default="hello")}
    )
    await runtime.deploy(WRITER)
    await runtime.deploy(AgentDefinition(name="boss", model="big", required_tools=("ask_writer",)))
    result = await runtime.run("boss", "go")
    assert result.tool_calls[0].child_run_id is not None
    assert boss.requests[1].messages[-1].content == "hello"
    with pytest.raises(UsageError, match="starts a child run"):
        await as_tool.invoke({"task": "direct"})


async def test_call_agent_runs_an_agent_from_workflow_code(sqlite: SQLiteStore) -> None:
    async def pipeline(ctx: RunContext, topic: str) -> str:
        draft = await call_agent(ctx, "writer", f"write about {topic}")
        return f"published: {draft.output}"

    engine = Engine(sqlite, workflows={"pipeline": pipeline})
    runtime = AgentRuntime(engine, model=FakeModel(default="a fine text"))
    await runtime.deploy(WRITER)
    assert await engine.run("pipeline", "otters") == "published: a fine text"


AGENT_FLOW = """\
name: support
steps:
  - id: lookup
    type: tool
    tool: add
    inputs:
      a: input.a
      b: 1
  - id: answer
    type: agent
    agent: writer
    timeout: 30
    inputs:
      task: input.question
      total: steps.lookup.output
outputs:
  reply: steps.answer.output.output
"""


async def test_yaml_workflow_agent_steps_run_the_agent_as_a_child(
    sqlite: SQLiteStore, tools: ToolRegistry
) -> None:
    agents = AgentRegistry()
    model = FakeModel(default=lambda r: f"answer with {r.messages[-1].content}")
    engine = Engine(sqlite)
    runtime = AgentRuntime(engine, agents, tools=tools, model=model)
    await runtime.deploy(WRITER)
    flow = load_workflow(AGENT_FLOW, tools=tools, agents=agents)
    assert flow.plan.step("answer").target == "agent: writer"
    engine.register(flow)
    result = await engine.run("support", {"a": 41, "question": "What is the total?"})
    assert result == {"reply": 'answer with What is the total?\n\nContext:\n{\n "total": 42\n}'}
    child = (await engine.list_runs(RunQuery("default", workflow="agent:writer")))[0]
    assert child.input["constraints"] == {"timeout": 30.0}


def test_yaml_agent_steps_check_the_agent_and_its_inputs_at_load(
    tmp_path: Path, tools: ToolRegistry
) -> None:
    agents = AgentRegistry([WRITER, AgentDefinition(name="auditor", required_context=("account",))])
    path = tmp_path / "flow.yaml"
    path.write_text(AGENT_FLOW.replace("agent: writer", "agent: writter"))
    with pytest.raises(DefinitionError) as unknown:
        load_workflow(path, tools=tools, agents=agents)
    assert unknown.value.line == 11
    assert "runs unknown agent 'writter'" in unknown.value.message
    assert unknown.value.suggestion is not None
    assert "Did you mean 'writer'?" in unknown.value.suggestion
    path.write_text(AGENT_FLOW.replace("agent: writer", "agent: auditor"))
    with pytest.raises(DefinitionError, match="does not give 'account'"):
        load_workflow(path, tools=tools, agents=agents)
    path.write_text(AGENT_FLOW.replace("      task: input.question\n", ""))
    with pytest.raises(DefinitionError, match="does not give 'task'"):
        load_workflow(path, tools=tools, agents=agents)
    path.write_text(
        AGENT_FLOW.replace("    timeout: 30\n", "    retry_config: {max_attempts: 2}\n")
    )
    with pytest.raises(DefinitionError, match="`retry_config` does not apply to agent steps"):
        load_workflow(path, tools=tools, agents=agents)
