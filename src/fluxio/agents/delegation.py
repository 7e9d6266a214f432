"""Agents as tools: delegation to another agent runs it as a durable child run.

``agent_as_tool(agent)`` is a ``Tool`` of type ``agent``. When an agent's loop (or a workflow,
through ``call_agent``) calls it, the other agent's task starts as a child run of the caller
(``ctx.child``): it is journaled once, survives crashes on either side, and its result (or
its failure) comes back as the tool's result. A supervisor is an agent whose tools are other
agents (``delegates: [researcher, writer]`` in its definition does this for you).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluxio.agents.definition import AgentDefinition, workflow_name
from fluxio.agents.records import AgentResult
from fluxio.engine import RunContext
from fluxio.errors import UsageError
from fluxio.tools import Tool, ToolContract
from fluxio.tools.runtime import check_value

__all__ = ["AgentTool", "agent_as_tool", "call_agent", "delegate"]


@dataclass(frozen=True, eq=False)
class AgentTool(Tool):
    """A tool that hands its task to another agent (``contract.type == "agent"``).

    Args:
        agent: the name of the agent that does the work.
    """

    agent: str = ""

    @property
    def workflow(self) -> str:
        """The workflow its calls start as child runs: ``agent:<name>``."""
        return workflow_name(self.agent)


def agent_as_tool(
    agent: AgentDefinition, *, name: str | None = None, description: str | None = None
) -> AgentTool:
    """The tool another agent (or a workflow) calls to delegate a task to ``agent``.

    The tool takes ``task`` (text, or data matching the agent's ``input_schema``) and an
    optional ``context`` object, and returns the agent's final output.

    Args:
        agent: the agent to delegate to.
        name: the tool's name (default: the agent's name).
        description: what the caller's model is told (default: the agent's description/role).
    """
    task_schema = agent.input_schema or {
        "type": "string",
        "description": "What the agent should do, in plain words.",
    }
    properties: dict[str, Any] = {"task": task_schema}
    properties["context"] = {"type": "object", "description": "Facts the agent needs."}
    contract = ToolContract(
        name=name or agent.name,
        description=description or agent.description or agent.role or f"Ask agent {agent.name}.",
        version=agent.version,
        type="agent",
        category=agent.category,
        tags=agent.tags,
        capabilities=agent.capabilities,
        input_schema={"type": "object", "properties": properties, "required": ["task"]},
        timeout=agent.timeout,
        expected_latency_ms=agent.expected_latency_ms,
    )
    return AgentTool(contract=contract, fn=_only_in_runs(agent.name), agent=agent.name)


async def delegate(
    ctx: RunContext, tool: AgentTool, arguments: Mapping[str, Any], key: str | None = None
) -> AgentResult:
    """Run ``tool``'s agent on ``arguments`` as a child run of ``ctx``'s run; its result.

    Raises:
        ToolInputInvalid: the arguments do not match the tool's schema.
        StepFailed: the child run failed (for a stopped agent: ``AgentStopped``'s message).
    """
    check_value(tool.contract.input_schema, dict(arguments), f"tool {tool.name!r}", "argument")
    task = {"task": arguments["task"], "context": dict(arguments.get("context") or {})}
    # The child runs in its agent's queue, so the agent's concurrency limit and pause hold.
    child = await ctx.child(tool.workflow, task, key=key, queue=tool.workflow)
    return AgentResult.model_validate(child)


async def call_agent(
    ctx: RunContext,
    agent: str,
    task: str | dict[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> AgentResult:
    """Run agent ``agent`` on ``task`` as a durable child run of a workflow; its result.

    The agent must be deployed in an ``AgentRuntime`` on the engine running the workflow.

    Raises:
        StepFailed: the agent's run failed or stopped without a final answer.
    """
    payload = {"task": task, "context": dict(context or {})}
    name = workflow_name(agent)
    return AgentResult.model_validate(await ctx.child(name, payload, key=key, queue=name))


def _only_in_runs(agent: str) -> Any:
    async def call(**arguments: Any) -> Any:
        raise UsageError(
            f"agent tool {agent!r} starts a child run, so it runs inside an agent's loop or a "
            "workflow (call_agent); to run the agent directly use AgentRuntime.run"
        )

    return call
