"""Execute a ``Plan`` as a DAG with maximal parallelism, inside a run.

A step starts as soon as every step it depends on has finished; independent steps run as
concurrent asyncio tasks of the same run. It then runs if none of those steps failed (without
``on_error: skip``) and at least one completed; skipped steps neither block nor enable, so a
step that joins the branches of a decision runs after whichever branch was taken. A step that
a decision or an ``on_error: branch`` targets runs only if that step chose it.

Keys are step ids, so replay is deterministic in whatever order steps finish. If a step
waits (suspends), the others that can still make progress do, and then the suspension is
re-raised so the run is evicted until woken.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fluxio.definitions.actions import StepResult, execute, record_skip
from fluxio.definitions.graph import ancestors
from fluxio.definitions.plan import Plan, PlanStep
from fluxio.engine import RunContext
from fluxio.errors import RunInterrupt, Suspend

__all__ = ["DagRun"]


class DagRun:
    """One execution (or replay) of a plan within one run."""

    def __init__(self, plan: Plan, ctx: RunContext, run_input: Any) -> None:
        self.plan = plan
        self.ctx = ctx
        self.input = run_input
        self.results: dict[str, StepResult] = {}
        self._tasks: dict[asyncio.Task[StepResult], str] = {}
        self._started: set[str] = set()
        self._suspended: list[Suspend] = []
        self._stops: list[BaseException] = []
        self._ancestors = ancestors(plan.ids, {s.id: s.depends_on for s in plan.steps})

    async def run(self) -> Any:
        """Run every step that can run; return the workflow outputs or raise what stopped it."""
        try:
            self._start_ready()
            while self._tasks:
                done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: self.plan.ids.index(self._tasks[t])):
                    self._collect(self._tasks.pop(task), task)
                if not self._stops:
                    self._start_ready()
        finally:
            await self._cancel_remaining()
        self._raise_stop()
        return self._outputs()

    def _start_ready(self) -> None:
        for step in self.plan.steps:
            if step.id in self._started:
                continue
            if all(dep in self.results for dep in step.depends_on):
                self._started.add(step.id)
                task = asyncio.create_task(self._run_step(step), name=f"step {step.id}")
                self._tasks[task] = step.id

    async def _run_step(self, step: PlanStep) -> StepResult:
        reason = self._skip_reason(step)
        if reason is not None:
            return await record_skip(step, self.ctx, reason)
        return await execute(step, self.ctx, self._data(self._ancestors[step.id]))

    def _skip_reason(self, step: PlanStep) -> str | None:
        if step.guarded_by and not any(step.id in self.results[g].chosen for g in step.guarded_by):
            return f"not chosen by {', '.join(step.guarded_by)}"
        others = [d for d in step.depends_on if d not in step.guarded_by]
        failed = [d for d in others if self.results[d].status == "failed"]
        blocked = [d for d in failed if not self.results[d].passes]
        if blocked:
            return f"{', '.join(blocked)} failed"
        if others and not any(self.results[d].passes for d in others):
            return f"every step it depends on was skipped ({', '.join(others)})"
        return None

    def _collect(self, step_id: str, task: asyncio.Task[StepResult]) -> None:
        error = task.exception()
        if error is None:
            self.results[step_id] = task.result()
        elif isinstance(error, Suspend):
            self._suspended.append(error)
        else:
            self._stops.append(error)

    async def _cancel_remaining(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _raise_stop(self) -> None:
        interrupts = [e for e in self._stops if isinstance(e, RunInterrupt)]
        if interrupts:
            raise interrupts[0]
        if self._stops:
            raise self._stops[0]
        if self._suspended:
            raise self._suspended[0]

    def _data(self, step_ids: frozenset[str] | None = None) -> dict[str, Any]:
        steps = {
            sid: result.as_data()
            for sid, result in self.results.items()
            if step_ids is None or sid in step_ids
        }
        return {"input": self.input, "steps": steps}

    def _outputs(self) -> Any:
        if self.plan.outputs is None:
            return {sid: self.results[sid].output for sid in self.plan.ids}
        return self.plan.outputs.resolve(self._data(), where=f"workflow {self.plan.name!r}")
