"""Validating a task, assembling what the model is asked, and reading the final answer.

Steps 2 and 4 of seed 000's "Agent Execution Flow" (validate the request, assemble context),
and the check of the final answer against the agent's ``output_schema``. Pure functions: the
loop calls them on every replay and they must answer the same each time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fluxio.agents.definition import AgentDefinition
from fluxio.agents.records import AgentInputInvalid, AgentTask
from fluxio.errors import ToolInputInvalid
from fluxio.models import Message, ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from fluxio.models.repair import repair_json
from fluxio.tools.runtime import check_value

__all__ = ["Answer", "assemble", "read_answer", "validate_task"]


def validate_task(agent: AgentDefinition, task: AgentTask) -> None:
    """Check a task against its agent: required context present, task matching the schema.

    Raises:
        AgentInputInvalid: what is missing or wrong, and how to pass it.
    """
    missing = [key for key in agent.required_context if key not in task.context]
    if missing:
        raise AgentInputInvalid(
            f"agent {agent.name!r} needs context {', '.join(map(repr, missing))}, which the task "
            """does not give; pass it as {"task": ..., "context": {"""
            + ", ".join(f'"{k}": ...' for k in missing)
            + "}}"
        )
    if agent.input_schema is not None:
        try:
            check_value(agent.input_schema, task.task, f"agent {agent.name!r}", "input")
        except ToolInputInvalid as exc:
            raise AgentInputInvalid(
                f"{exc.message}; the task must match the agent's input_schema"
            ) from None


def assemble(
    agent: AgentDefinition, task: AgentTask, tools: tuple[ToolDefinition, ...]
) -> ModelRequest:
    """The first request of a task: system prompt (with role and output format), the task and
    its context, the tools, and the agent's sampling settings."""
    system = [agent.system_prompt.strip()] if agent.system_prompt.strip() else []
    if agent.role:
        system.append(f"Your role: {agent.role}")
    if agent.output_schema is not None:
        system.append(
            "When you give your final answer, reply with only a JSON object that matches this "
            f"JSON Schema, with no prose and no code fences:\n{json.dumps(agent.output_schema)}"
        )
    text = task.task if isinstance(task.task, str) else json.dumps(task.task)
    if task.context:
        text += f"\n\nContext:\n{json.dumps(task.context, indent=1, default=str)}"
    head = (Message.system("\n\n".join(system)),) if system else ()
    return ModelRequest(
        messages=(*head, Message.user(text)),
        tools=tools,
        settings=ModelSettings(temperature=agent.temperature, max_tokens=agent.max_tokens),
        output_schema=agent.output_schema,
        task=agent.name,
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply without tool calls: the final ``output``, or the ``problem`` to tell the model."""

    output: Any = None
    problem: str | None = None


def read_answer(agent: AgentDefinition, response: ModelResponse) -> Answer:
    """Read a final reply: its text, or with an ``output_schema`` the JSON it must hold."""
    text = response.content or ""
    if not text.strip():
        return Answer(problem="Your reply was empty. Answer the task, or call one of the tools.")
    if agent.output_schema is None:
        return Answer(output=text)
    try:
        data = repair_json(text)
        check_value(agent.output_schema, data, "your answer", "field")
    except (ValueError, ToolInputInvalid) as exc:
        return Answer(
            problem=f"Your answer is not valid: {exc}. Reply again with only the JSON object "
            "that matches the schema, with no prose and no code fences."
        )
    return Answer(output=data)


def tool_text(value: Any) -> str:
    """A tool's JSON result as the text of a tool message."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
