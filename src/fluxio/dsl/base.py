"""``Step[In, Out]``: the one contract every part of a DSL workflow composes through.

A step has a name, an input and an output type, and an ``async run(ctx, input)``. Every
combinator (``Pipeline``, ``Parallel``, ``Loop``, ``Branch``, ``Map``, ``Wait``, ``Approval``,
``SubWorkflow``) is itself a step, so they nest freely; ``a >> b`` chains two steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from fluxio.dsl.context import Context
    from fluxio.dsl.pipeline import Pipeline

__all__ = ["In", "New", "Out", "Step"]

In = TypeVar("In")
Out = TypeVar("Out")
New = TypeVar("New")


class Step(ABC, Generic[In, Out]):
    """Something a run does with an input to produce an output, durably.

    Subclasses implement ``run`` using only the ``Context`` (steps, waits, child runs,
    parallel branches), so that replay answers finished work from the journal.
    """

    name: str

    @property
    def input_type(self) -> Any:
        """The type this step accepts (``Any`` when it does not say)."""
        return Any

    @property
    def output_type(self) -> Any:
        """The type this step produces (``Any`` when it does not say)."""
        return Any

    @abstractmethod
    async def run(self, ctx: Context, input: In) -> Out:
        """Execute the step inside a run; must be deterministic given the journal."""

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The steps this one is made of, in order (for ``validate`` and ``to_mermaid``)."""
        return ()

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """Problems with this step alone (children are checked separately); none by default."""
        del known_workflows
        return []

    def __rshift__(self, other: Step[Out, New]) -> Pipeline[In, New]:
        """``a >> b``: run ``a``, then ``b`` on its output. Chains flatten into one pipeline."""
        from fluxio.dsl.pipeline import Pipeline

        return cast("Pipeline[In, New]", Pipeline(self, other))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
