"""``YamlWorkflow``: a loaded definition that the engine can register and run."""

from __future__ import annotations

from typing import Any

from fluxio.definitions.plan import Plan
from fluxio.definitions.render import describe, to_mermaid
from fluxio.definitions.scheduler import DagRun
from fluxio.definitions.schema import WorkflowSpec
from fluxio.engine import RunContext

__all__ = ["YamlWorkflow"]


class YamlWorkflow:
    """A workflow loaded from YAML or JSON, checked and ready to run.

    Register it with ``engine.register(workflow)``; it runs under ``workflow.name``.

    Attributes:
        name: the name the engine registers it under (the file's ``name:``).
        spec: the definition as written (validated).
        plan: the compiled steps and their dependencies.
    """

    def __init__(self, spec: WorkflowSpec, plan: Plan) -> None:
        self.spec = spec
        self.plan = plan
        self.name = plan.name

    @property
    def file(self) -> str:
        """Where the definition was loaded from (``<string>`` for text)."""
        return self.plan.file

    async def run(self, ctx: RunContext, input: Any) -> Any:
        """Run code: execute the steps as a DAG; return the workflow outputs."""
        return await DagRun(self.plan, ctx, input).run()

    def to_mermaid(self) -> str:
        """The workflow as a Mermaid flowchart."""
        return to_mermaid(self.plan)

    def describe(self) -> str:
        """A short plain-text summary of the workflow and its steps."""
        return describe(self.plan)

    def __repr__(self) -> str:
        return f"YamlWorkflow({self.name!r}, steps={len(self.plan.steps)}, file={self.file!r})"
