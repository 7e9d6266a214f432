"""``SubWorkflow``: run another registered workflow as a durable child run."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from fluxio.dsl.base import Step
from fluxio.dsl.context import Context
from fluxio.dsl.typeinfo import Codec, to_plain
from fluxio.errors import DefinitionError

if TYPE_CHECKING:
    from fluxio.dsl.workflow import Workflow

__all__ = ["SubWorkflow"]


class SubWorkflow(Step[Any, Any]):
    """Start a child run of a workflow with this step's input; its result is the output.

    The child is its own run (own journal, own retries, visible in run listings); this run
    waits for it durably. Give the ``Workflow`` object to carry its types, or just its name.

    Args:
        workflow: the registered name, or the ``Workflow`` itself (it must be registered
            with the engine under its name too).
    """

    def __init__(self, workflow: str | Workflow[Any, Any]) -> None:
        if isinstance(workflow, str):
            if not workflow:
                raise DefinitionError("SubWorkflow needs a workflow name.")
            self.workflow_name = workflow
            self.target: Workflow[Any, Any] | None = None
        else:
            self.workflow_name = workflow.name
            self.target = workflow
        self.name = f"child:{self.workflow_name}"

    @property
    def input_type(self) -> Any:
        """The child workflow's input type, when the ``Workflow`` object was given."""
        return self.target.input_type if self.target else Any

    @property
    def output_type(self) -> Any:
        """The child workflow's output type, when the ``Workflow`` object was given."""
        return self.target.output_type if self.target else Any

    async def run(self, ctx: Context, input: Any) -> Any:
        """Run the child and return its result as the child's output type."""
        result = await ctx.child(self.workflow_name, to_plain(input))
        return self._codec.decode(result)

    @cached_property
    def _codec(self) -> Codec:
        return Codec(self.output_type)

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """A named child must be one of ``known_workflows``."""
        if self.target is not None or self.workflow_name in known_workflows:
            return []
        known = ", ".join(sorted(known_workflows)) or "none"
        return [
            f"names workflow {self.workflow_name!r}, which is not known (known: {known}); "
            "register it, fix the name, or pass it in known_workflows"
        ]
