"""The checked, compiled form of a workflow definition that the scheduler executes.

A ``Plan`` is what is left after parsing and validation: every reference resolved, every
expression compiled, every dependency (explicit ``depends_on`` and implied by data references
and branches) spelled out. Nothing in here can fail for a reason the file could have caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fluxio.definitions.mapping import DataMapping
from fluxio.definitions.schema import TriggerSpec
from fluxio.definitions.tools import RegisteredTool
from fluxio.engine.options import StepOptions
from fluxio.errors import NotFound
from fluxio.expressions import CelExpression

__all__ = ["Branch", "Plan", "PlanStep", "StepKind", "WaitPlan"]

StepKind = Literal["tool", "agent", "workflow", "decision", "wait"]
OnError = Literal["fail", "retry", "skip", "branch"]


@dataclass(frozen=True)
class Branch:
    """A decision branch: when ``when`` holds, the steps in ``goto`` run."""

    when: CelExpression
    goto: tuple[str, ...]


@dataclass(frozen=True)
class WaitPlan:
    """What a ``wait`` step waits for, and what happens when the wait times out."""

    type: Literal["approval", "event", "duration"]
    event: str | None = None
    duration: float | None = None
    timeout: float | None = None
    on_timeout: Literal["fail", "skip", "approve"] = "fail"


@dataclass(frozen=True)
class PlanStep:
    """One step, ready to execute.

    Attributes:
        depends_on: every step that must finish first (explicit and implied), in file order.
        guarded_by: decisions or failing steps that must choose this step for it to run.
    """

    id: str
    kind: StepKind
    label: str
    line: int | None = None
    depends_on: tuple[str, ...] = ()
    guarded_by: tuple[str, ...] = ()
    inputs: DataMapping = field(default_factory=DataMapping)
    outputs: DataMapping | None = None
    tool: RegisteredTool | None = None
    options: StepOptions | None = None
    workflow: str | None = None
    agent: str | None = None
    branches: tuple[Branch, ...] = ()
    default: tuple[str, ...] = ()
    wait: WaitPlan | None = None
    on_error: OnError = "fail"
    on_error_goto: str | None = None
    approval: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        """Steps this step chooses between (branch targets, default, error branch)."""
        chosen = [s for b in self.branches for s in b.goto] + list(self.default)
        if self.on_error_goto:
            chosen.append(self.on_error_goto)
        return tuple(dict.fromkeys(chosen))

    @property
    def target(self) -> str:
        """What the step runs, in words: ``tool: x``, ``workflow: y``, ``wait: approval``."""
        if self.tool is not None:
            return f"tool: {self.tool.name}"
        if self.agent is not None:
            return f"agent: {self.agent}"
        if self.workflow is not None:
            return f"workflow: {self.workflow}"
        if self.wait is not None:
            detail = self.wait.event or (
                f"{self.wait.duration:g}s" if self.wait.duration is not None else ""
            )
            return f"wait: {self.wait.type}" + (f" {detail}" if detail else "")
        return f"decision: {len(self.branches)} branch(es)"


@dataclass(frozen=True)
class Plan:
    """A whole workflow, checked and compiled."""

    name: str
    description: str
    file: str
    steps: tuple[PlanStep, ...]
    outputs: DataMapping | None
    trigger: TriggerSpec
    version: str | None = None

    def step(self, step_id: str) -> PlanStep:
        """The step with id ``step_id``."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise NotFound(f"workflow {self.name!r} has no step {step_id!r}")

    @property
    def ids(self) -> tuple[str, ...]:
        """Step ids in file order."""
        return tuple(s.id for s in self.steps)
