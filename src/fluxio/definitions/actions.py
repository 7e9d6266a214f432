"""What each kind of YAML step does when it runs: tool, workflow, decision and wait.

Every durable call uses the step id as its key (``ctx.step(..., key=step.id)``), so a replay
finds each step's journal entry whatever order parallel steps finished in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fluxio.definitions.plan import PlanStep
from fluxio.engine import Engine, RunContext, StepOptions
from fluxio.engine.context import error_value
from fluxio.engine.options import RetryPolicy
from fluxio.errors import StepFailed, StepTimeout

__all__ = ["StepResult", "approval_signal", "execute", "record_skip"]

_ONCE = StepOptions(retry=RetryPolicy(max_attempts=1))
Status = Literal["completed", "skipped", "failed"]


@dataclass(frozen=True)
class StepResult:
    """How a step ended, as later steps see it in ``steps.<id>``.

    Attributes:
        passes: whether steps that depend on this one may run.
        chosen: the guarded steps this one chose (decision branches, error branch).
    """

    status: Status
    output: Any = None
    error: dict[str, Any] | None = None
    passes: bool = True
    chosen: tuple[str, ...] = ()

    def as_data(self) -> dict[str, Any]:
        """The step as expressions read it: ``{output, status, error}``."""
        return {"output": self.output, "status": self.status, "error": self.error}


def approval_signal(step_id: str) -> str:
    """The signal name that approves or rejects step ``step_id``."""
    return f"approval:{step_id}"


async def execute(step: PlanStep, ctx: RunContext, data: Mapping[str, Any]) -> StepResult:
    """Run ``step`` and apply its ``on_error`` rule; failures that fail the run are raised."""
    try:
        if step.kind == "decision":
            return await _decide(step, ctx, data)
        if step.kind == "tool":
            result = await _call_tool(step, ctx, data)
        elif step.kind == "agent":
            result = await ctx.child(str(step.workflow), _agent_task(step, data), key=step.id)
        elif step.kind == "workflow":
            arguments = step.inputs.resolve(data, where=f"step {step.id!r}")
            result = await ctx.child(str(step.workflow), arguments, key=step.id)
        else:
            result = await _wait(step, ctx)
    except _Skipped:
        return StepResult("skipped", passes=False)
    except StepFailed as exc:
        return _failed(step, exc)
    if step.outputs is not None:
        result = step.outputs.resolve({**data, "result": result}, where=f"step {step.id!r}")
    return StepResult("completed", result)


def _agent_task(step: PlanStep, data: Mapping[str, Any]) -> dict[str, Any]:
    """An agent step's child-run input: ``task``, the other inputs as context, the timeout."""
    inputs = step.inputs.resolve(data, where=f"step {step.id!r}")
    task: dict[str, Any] = {"task": inputs.pop("task"), "context": inputs}
    timeout = step.options.timeout if step.options is not None else None
    if timeout is not None:
        task["constraints"] = {"timeout": timeout}
    return task


async def record_skip(step: PlanStep, ctx: RunContext, reason: str) -> StepResult:
    """Journal that ``step`` did not run, and why."""
    await ctx.step(_identity, {"reason": reason}, name="skipped", key=step.id, options=_ONCE)
    return StepResult("skipped", error=None, passes=False)


class _Skipped(Exception):
    """A wait timed out and its step says ``on_timeout: skip``."""


def _failed(step: PlanStep, exc: StepFailed) -> StepResult:
    if step.on_error in ("fail", "retry"):
        what = step.target
        raise StepFailed(
            f"step {step.id!r} ({what}) failed: {exc.message}",
            retryable=False,
            error_type=exc.error_type,
        ) from exc
    if step.on_error == "branch":
        return StepResult(
            "failed", error=error_value(exc), passes=False, chosen=(str(step.on_error_goto),)
        )
    return StepResult("failed", error=error_value(exc))


async def _call_tool(step: PlanStep, ctx: RunContext, data: Mapping[str, Any]) -> Any:
    tool = step.tool
    assert tool is not None
    arguments = step.inputs.resolve(data, where=f"step {step.id!r}")
    if step.approval:
        arguments = await _approved_arguments(step, ctx, tool.name, arguments)
    # Through the contract: arguments and result checked against the tool's schemas, retired
    # tools refused, and governance sees (and may rewrite) the arguments as one payload.
    result = await ctx.step(
        tool.invoke, arguments, name=tool.name, key=step.id, options=step.options
    )
    return Engine.to_json(result)


async def _approved_arguments(
    step: PlanStep, ctx: RunContext, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    request = {"step": step.id, "tool": tool, "arguments": arguments}
    await ctx.step(
        _identity, request, name="approval-request", key=f"{step.id}.request", options=_ONCE
    )
    payload = await ctx.wait_for(
        approval_signal(step.id), key=f"{step.id}.approval", reason="approval"
    )
    edited = _approval(step, payload).get("payload")
    return {**arguments, **edited} if isinstance(edited, dict) else arguments


async def _decide(step: PlanStep, ctx: RunContext, data: Mapping[str, Any]) -> StepResult:
    async def choose() -> dict[str, Any]:
        for index, branch in enumerate(step.branches):
            if branch.when.test(data):
                return {"branch": index, "when": branch.when.source, "next": list(branch.goto)}
        return {"branch": "default", "when": None, "next": list(step.default)}

    try:
        choice: dict[str, Any] = await ctx.step(choose, name="decision", key=step.id, options=_ONCE)
    except StepFailed as exc:
        return _failed(step, exc)
    return StepResult("completed", choice, chosen=tuple(choice["next"]))


async def _wait(step: PlanStep, ctx: RunContext) -> Any:
    wait = step.wait
    assert wait is not None
    if wait.type == "duration":
        await ctx.sleep(float(wait.duration or 0), key=step.id)
        return {"slept": wait.duration}
    signal = approval_signal(step.id) if wait.type == "approval" else str(wait.event)
    reason = "approval" if wait.type == "approval" else "signal"
    try:
        payload = await ctx.wait_for(signal, timeout=wait.timeout, key=step.id, reason=reason)
    except StepTimeout:
        if wait.on_timeout == "skip":
            raise _Skipped from None
        if wait.on_timeout == "approve":
            return {
                "decision": "approve",
                "payload": None,
                "note": "approved on timeout",
                "by": "timeout",
            }
        raise
    return _approval(step, payload) if wait.type == "approval" else payload


def _approval(step: PlanStep, payload: Any) -> dict[str, Any]:
    """Check an approval signal's payload; a rejection fails the step."""
    answer = dict(payload) if isinstance(payload, dict) else {"decision": payload}
    decision = str(answer.get("decision", "")).lower()
    answer.setdefault("payload", None)
    answer.setdefault("note", None)
    answer.setdefault("by", None)
    if decision in ("approve", "approved"):
        return {**answer, "decision": "approve"}
    who = answer["by"] or "an approver"
    if decision in ("reject", "rejected"):
        note = f": {answer['note']}" if answer["note"] else ""
        raise StepFailed(f"rejected by {who}{note}", retryable=False, error_type="Rejected")
    raise StepFailed(
        f"the approval signal from {who} has decision {decision!r}; expected 'approve' or 'reject'",
        retryable=False,
        error_type="InvalidApproval",
    )


async def _identity(value: Any) -> Any:
    return value
