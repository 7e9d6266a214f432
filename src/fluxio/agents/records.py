"""What an agent task receives and what its execution record says (seed 000 "Agent Execution
Flow": receive, validate, assemble context, execute, capture results, report).

``AgentTask`` is a task run's input; ``AgentResult`` its result, journaled by the run's last
step (``agent:report``) whether the task succeeded or stopped early. A task that stopped early
(limits, timeout, a failing model, a rejected approval) fails its run with ``AgentStopped``,
whose ``details["result"]`` holds the same record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fluxio.errors import StepFailed, UsageError
from fluxio.models import Usage
from fluxio.tools.contract import describe_errors

__all__ = [
    "AgentInputInvalid",
    "AgentResult",
    "AgentStopped",
    "AgentTask",
    "Constraints",
    "StopReason",
    "ToolUse",
    "parse_task",
]

StopReason = Literal[
    "final_answer", "max_iterations", "max_tool_calls", "timeout", "model_error", "rejected"
]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AgentInputInvalid(UsageError):
    """A task does not match its agent: input schema, required context, constraints."""


class AgentStopped(StepFailed):
    """A task ended without a final answer; ``details["result"]`` is its ``AgentResult``."""

    def __init__(self, message: str, result: AgentResult) -> None:
        super().__init__(
            message,
            retryable=False,
            error_type="AgentStopped",
            details={"result": result.model_dump(mode="json")},
        )
        self.result = result


class Constraints(BaseModel):
    """Per-task limits; each can only tighten the agent's own."""

    model_config = _FROZEN

    timeout: float | None = Field(default=None, gt=0)
    max_iterations: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=0)


class AgentTask(BaseModel):
    """One task for an agent (seed 000 "Execute Agent": task, context, constraints).

    Args:
        task: what to do: text, or data matching the agent's ``input_schema``.
        context: facts the agent needs; keys in ``required_context`` must be present.
        constraints: per-task limits (they only tighten the agent's).
        version: the agent version to run (default: the deployed one, fixed at start).
    """

    model_config = _FROZEN

    task: str | dict[str, Any] | list[Any]
    context: dict[str, Any] = Field(default_factory=dict)
    constraints: Constraints = Constraints()
    version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _text_is_a_task(cls, data: Any) -> Any:
        return {"task": data} if isinstance(data, str) else data


def parse_task(value: Any, agent: str) -> AgentTask:
    """A run input as an ``AgentTask``: a string, or a mapping with ``task`` (and ``context``).

    Raises:
        AgentInputInvalid: the value has another shape (the message shows the expected one).
    """
    if isinstance(value, AgentTask):
        return value
    try:
        return AgentTask.model_validate(value)
    except ValidationError as exc:
        raise AgentInputInvalid(
            f"agent {agent!r} got an invalid task ({describe_errors(exc)}); give a string, or "
            """{"task": ..., "context": {...}, "constraints": {"timeout": 60}}"""
        ) from None


class ToolUse(BaseModel):
    """One tool call the agent made (or tried to make), in its execution record."""

    model_config = _FROZEN

    iteration: int
    tool: str
    call_id: str
    step_key: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: str | None = None
    child_run_id: str | None = None


class AgentResult(BaseModel):
    """An agent task's execution record and outcome.

    Attributes:
        status: ``completed`` with a final answer, else ``failed``.
        stop_reason: why the loop ended.
        output: the final answer: parsed JSON with an ``output_schema``, else the text.
        text: the final answer's text as the model wrote it.
        iterations: model calls made.
        tool_calls: every tool call, in order, with its error if it failed.
        errors: tool errors and anomalies the agent met on the way, and the stop reason.
        usage: tokens, cost and model latency over every model call.
        started_at: when the task was received (engine clock, journaled).
        finished_at: when it was reported (engine clock, journaled).
    """

    model_config = _FROZEN

    agent: str
    version: str
    run_id: str
    status: Literal["completed", "failed"]
    stop_reason: StopReason
    output: Any = None
    text: str | None = None
    iterations: int = 0
    tool_calls: tuple[ToolUse, ...] = ()
    errors: tuple[str, ...] = ()
    usage: Usage = Usage()
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the agent gave a final answer."""
        return self.status == "completed"
