"""The agent loop, written as run code: every model call and tool call is a journaled step.

A task runs as the workflow ``agent:<name>``:

```
receive      step "agent:receive"   lifecycle check, version, start time and deadline (clock)
validate     required context, input schema                 (pure: replays identically)
approve      wait "approval:agent"  only with approval_required
assemble     system prompt, role, task, context, tools      (pure)
execute      i.model     call_model(...)     the model's turn (replayed, never re-asked)
             i.tool.j    call_tool(...)      each tool call it asked for (or a child run)
report       step "agent:report"    the AgentResult, with the finish time
```

Tool failures of any kind (``StepFailed``: invalid arguments, unavailable tool, a policy
denial, the tool's own errors) and unknown tool names go back to the model as tool messages;
the model decides what to do next. The deadline is checked inside each model step against the
engine's clock, so a replay takes the journaled outcome instead of re-deciding.
"""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fluxio.agents.assembly import assemble, read_answer, tool_text, validate_task
from fluxio.agents.definition import AgentDefinition
from fluxio.agents.delegation import AgentTool, delegate
from fluxio.agents.records import (
    AgentResult,
    AgentStopped,
    AgentTask,
    StopReason,
    ToolUse,
    parse_task,
)
from fluxio.agents.registry import Lifecycle
from fluxio.engine import Clock, RetryPolicy, RunContext, StepOptions
from fluxio.errors import StepFailed
from fluxio.models import Message, Model, ModelRequest, ModelResponse, ToolCall, Usage, call_model
from fluxio.tools import call_tool

if TYPE_CHECKING:
    from fluxio.agents.runtime import AgentRuntime, Binding

__all__ = ["APPROVAL_SIGNAL", "AgentLoop"]

APPROVAL_SIGNAL = "approval:agent"
"""The signal an ``approval_required`` task waits for: ``{"decision": "approve"}`` or reject."""

TIMEOUT = "AgentTimeout"
_ONCE = StepOptions(retry=RetryPolicy(max_attempts=1))


class AgentLoop:
    """The workflow that runs one agent's tasks (registered as ``agent:<name>``)."""

    def __init__(self, runtime: AgentRuntime, name: str) -> None:
        self.runtime = runtime
        self.name = name

    async def run(self, ctx: RunContext, input: Any) -> dict[str, Any]:
        """Execute one task (the run's input is an ``AgentTask``); return its ``AgentResult``."""
        task = parse_task(input, self.name)
        agent, record, deadline = await self._accept(ctx, task)
        if agent.approval_required and not await _approved(ctx):
            return await self._report(ctx, record, _Stop("rejected", "the task was not approved"))
        binding = self.runtime.bind(agent)
        turn = _Turn(
            binding,
            _deadline(binding.model, deadline, self.runtime.clock, agent),
            assemble(agent, task, binding.definitions),
        )
        iterations, calls = _limits(agent, task)
        for i in range(1, iterations + 1):
            stop = await self._turn(ctx, turn, record, i, calls)
            if stop is not None:
                return await self._report(ctx, record, stop)
        problem = f"no final answer after {iterations} model calls"
        return await self._report(ctx, record, _Stop("max_iterations", problem))

    async def _accept(
        self, ctx: RunContext, task: AgentTask
    ) -> tuple[AgentDefinition, _Record, float | None]:
        """Steps 1 and 2: receive (journaled) and validate the task."""
        received = await ctx.step(
            self._receive, task, name="agent:receive", key="receive", options=_ONCE
        )
        agent = self.runtime.registry.require(self.name, str(received["version"]))
        validate_task(agent, task)
        deadline = received.get("deadline")
        record = _Record(agent, ctx.run_id, float(received["started_at"]))
        return agent, record, None if deadline is None else float(deadline)

    async def _turn(
        self, ctx: RunContext, turn: _Turn, record: _Record, i: int, calls: int
    ) -> _Stop | None:
        """One iteration: ask the model, then run the tools it asked for; a stop, or None."""
        record.iterations = i
        agent = record.agent
        try:
            response = await call_model(
                ctx, turn.model, turn.request, key=f"{i}.model", retry=agent.retry_policy()
            )
        except StepFailed as exc:
            return _Stop("timeout" if exc.error_type == TIMEOUT else "model_error", exc.message)
        record.usage += response.usage
        turn.request = turn.request.followed_by(response.as_message())
        if not response.tool_calls:
            answer = read_answer(agent, response)
            if answer.problem is None:
                return _Stop("final_answer", None, answer.output)
            record.errors.append(f"iteration {i}: {answer.problem}")
            turn.request = turn.request.followed_by(Message.user(answer.problem))
            return None
        if len(record.tool_calls) + len(response.tool_calls) > calls:
            return _Stop("max_tool_calls", f"it asked for more than {calls} tool calls")
        results = []
        for j, call in enumerate(response.tool_calls, 1):
            results.append(await self._call(ctx, turn.binding, call, f"{i}.tool.{j}", record))
        turn.request = turn.request.followed_by(*results)
        return None

    async def _receive(self, task: AgentTask) -> dict[str, Any]:
        """Step 1: accept the task (or refuse it), fix its version, start time and deadline."""
        registry = self.runtime.registry
        record = registry.check_accepting(self.name)
        if record.state is Lifecycle.DEPLOYED:
            registry.activate(self.name)
        agent = registry.require(self.name, task.version)
        now = self.runtime.clock.now()
        timeouts = [t for t in (agent.timeout, task.constraints.timeout) if t is not None]
        deadline = now + min(timeouts) if timeouts else None
        return {"version": agent.version, "started_at": now, "deadline": deadline}

    async def _call(
        self, ctx: RunContext, binding: Binding, call: ToolCall, key: str, record: _Record
    ) -> Message:
        """One tool call: its result, or its error, as the tool message the model reads next."""
        call_id = call.id or key
        use = ToolUse(
            iteration=record.iterations,
            tool=call.name,
            call_id=call_id,
            step_key=key,
            arguments=call.arguments,
        )
        tool = binding.tools.get(call.name)
        if tool is None:
            error = f"ToolUnavailable: {_unknown(call.name, sorted(binding.tools))}"
            record.add(use.model_copy(update={"ok": False, "error": error, "step_key": None}))
            return Message.tool(call_id, f"ERROR {error}", name=call.name)
        try:
            if isinstance(tool, AgentTool):
                child = await delegate(ctx, tool, call.arguments, key=key)
                use = use.model_copy(update={"child_run_id": child.run_id})
                result: Any = child.output
            else:
                result = await call_tool(ctx, tool, call.arguments, key=key)
        except StepFailed as exc:
            error = f"{exc.error_type}: {exc.message}"
            record.add(use.model_copy(update={"ok": False, "error": error}))
            return Message.tool(call_id, f"ERROR {error}", name=call.name)
        record.add(use)
        return Message.tool(call_id, tool_text(result), name=call.name)

    async def _report(self, ctx: RunContext, record: _Record, stop: _Stop) -> dict[str, Any]:
        """Steps 6 and 8: capture the execution record, journal it, and return (or fail)."""
        result = record.result(stop)
        data: dict[str, Any] = await ctx.step(
            self._finish,
            result.model_dump(mode="json"),
            name="agent:report",
            key="report",
            options=_ONCE,
        )
        if stop.reason != "final_answer":
            final = AgentResult.model_validate(data)
            raise AgentStopped(
                f"agent {self.name!r} stopped ({stop.reason}): {stop.problem}", final
            )
        return data

    async def _finish(self, result: dict[str, Any]) -> dict[str, Any]:
        return {**result, "finished_at": self.runtime.clock.now()}


@dataclass(frozen=True, slots=True)
class _Stop:
    """Why the loop ends, and the final output when it ends with an answer."""

    reason: StopReason
    problem: str | None
    output: Any = None


@dataclass(slots=True)
class _Turn:
    """The conversation so far, with the model and tools it runs on."""

    binding: Binding
    model: Model
    request: ModelRequest


@dataclass
class _Record:
    """What the loop has seen so far, for the execution record."""

    agent: AgentDefinition
    run_id: str
    started_at: float
    iterations: int = 0
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolUse] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, use: ToolUse) -> None:
        self.tool_calls.append(use)
        if use.error is not None:
            self.errors.append(f"iteration {use.iteration}: tool {use.tool!r}: {use.error}")

    def result(self, stop: _Stop) -> AgentResult:
        reason, output = stop.reason, stop.output
        errors = (
            [*self.errors, f"stopped: {reason}: {stop.problem}"] if stop.problem else self.errors
        )
        return AgentResult(
            agent=self.agent.name,
            version=self.agent.version,
            run_id=self.run_id,
            status="completed" if reason == "final_answer" else "failed",
            stop_reason=reason,
            output=output,
            text=output if isinstance(output, str) else None,
            iterations=self.iterations,
            tool_calls=tuple(self.tool_calls),
            errors=tuple(errors),
            usage=self.usage,
            started_at=self.started_at,
        )


async def _approved(ctx: RunContext) -> bool:
    decision = await ctx.wait_for(APPROVAL_SIGNAL, key="approval", reason="approval")
    if isinstance(decision, dict):
        decision = decision.get("decision")
    return decision is True or str(decision).lower() in ("approve", "approved")


def _limits(agent: AgentDefinition, task: AgentTask) -> tuple[int, int]:
    limits = task.constraints
    iterations = min(agent.max_iterations, limits.max_iterations or agent.max_iterations)
    calls = min(
        agent.max_tool_calls,
        agent.max_tool_calls if limits.max_tool_calls is None else limits.max_tool_calls,
    )
    return iterations, calls


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    listing = f"Available tools: {', '.join(known)}." if known else "This agent has no tools."
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"there is no tool named {name!r}.{hint} {listing}"


def _deadline(model: Model, deadline: float | None, clock: Clock, agent: AgentDefinition) -> Model:
    return model if deadline is None else _Deadline(model, deadline, clock, agent.name)


class _Deadline:
    """A model that refuses (and cuts) calls past the task's journaled deadline."""

    def __init__(self, model: Model, deadline: float, clock: Clock, agent: str) -> None:
        self.model = model
        self.deadline = deadline
        self.clock = clock
        self.agent = agent

    @property
    def name(self) -> str:
        return self.model.name

    async def request(self, request: ModelRequest) -> ModelResponse:
        remaining = self.deadline - self.clock.now()
        if remaining <= 0:
            raise self._late()
        try:
            async with asyncio.timeout(remaining):
                return await self.model.request(request)
        except TimeoutError:
            raise self._late() from None

    def _late(self) -> StepFailed:
        return StepFailed(
            f"agent {self.agent!r} reached its deadline; raise its `timeout` (or the task's "
            "constraints.timeout) if the task needs longer",
            retryable=False,
            error_type=TIMEOUT,
        )
