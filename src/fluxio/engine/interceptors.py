"""The interceptor chain every step passes through: ``ExecuteStepInput`` → ``next``.

Cross-cutting concerns (metrics, logging, and later policy, budgets, approvals, audit) wrap
step execution instead of patching it. An interceptor may inspect or replace the input, call
``next`` zero or one time, and inspect or replace the result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fluxio.engine.options import StepOptions

__all__ = ["ExecuteStepInput", "Interceptor", "Next", "RunObserver", "StepGuard", "chain"]


@dataclass(frozen=True, slots=True)
class ExecuteStepInput:
    """Everything known about one step execution (not called on replay)."""

    run_id: str
    tenant_id: str
    workflow: str
    step_key: str
    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    options: StepOptions
    idempotency_key: str


Next = Callable[[ExecuteStepInput], Awaitable[Any]]


class Interceptor(Protocol):
    """Wraps the execution of every step."""

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        """Run the step by awaiting ``next(input)``, or decide not to."""
        ...


class StepGuard(Protocol):
    """An interceptor that also decides whether a step may run at all (policy, approval, budget).

    ``admit_step`` is called in run code, before the step's intent is journaled and never for a
    step whose outcome is already recorded. It returns the step (possibly with rewritten
    ``args``), raises a ``StepFailed`` such as ``PolicyDenied`` (recorded as the step's
    outcome), or waits durably through ``ctx`` (``ctx.wait_for`` an approval, ``ctx.step`` to
    journal a decision so replay sees the same one). Its ``ctx`` has its own key scope.
    """

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        """Run the step by awaiting ``next(input)``, or decide not to."""
        ...

    async def admit_step(self, input: ExecuteStepInput, ctx: Any) -> ExecuteStepInput:
        """Admit, rewrite, deny or hold the step before anything about it is journaled."""
        ...


class RunObserver(Protocol):
    """An interceptor that also hears when runs start and end (audit, clean-up).

    ``run_started`` follows the creation of a run (``Engine.start``, or a child run's start
    committed by its parent); ``run_ended`` follows the commit of a terminal status
    (completed, failed, cancelled; also a cancel of an idle run). Both are called after the
    change is committed, once per engine that made it; an observer's error is logged, never
    raised into the run, whose state is already decided. Either method may be left out.
    """

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        """Run the step by awaiting ``next(input)``, or decide not to."""
        ...

    async def run_started(self, run: Any) -> None:
        """``run`` (a ``Run``, status pending) was created."""
        ...

    async def run_ended(self, run: Any) -> None:
        """``run`` reached a terminal status (committed)."""
        ...


def chain(interceptors: Sequence[Interceptor], terminal: Next) -> Next:
    """Compose interceptors so the first one given is the outermost."""
    handler = terminal
    for interceptor in reversed(interceptors):
        handler = _bind(interceptor, handler)
    return handler


def _bind(interceptor: Interceptor, nxt: Next) -> Next:
    async def call(input: ExecuteStepInput) -> Any:
        return await interceptor.execute_step(input, nxt)

    return call
