"""``Pipeline``: steps run one after another, each on the previous one's output (``a >> b``)."""

from __future__ import annotations

from typing import Any

from fluxio.dsl.base import In, New, Out, Step
from fluxio.dsl.context import Context
from fluxio.dsl.typeinfo import is_assignable, type_name
from fluxio.errors import DefinitionError

__all__ = ["Pipeline"]


class Pipeline(Step[In, Out]):
    """Run ``steps`` in order; the output of each is the input of the next.

    Nested pipelines are flattened, so ``a >> b >> c`` is one pipeline of three steps.

    Args:
        steps: at least one step.
        name: a name for messages (default ``pipeline``). A named pipeline stays one unit
            when chained further; unnamed ones flatten.
    """

    _anonymous: bool

    def __init__(self, *steps: Step[Any, Any], name: str | None = None) -> None:
        flat: list[Step[Any, Any]] = []
        for s in steps:
            if not isinstance(s, Step):
                raise DefinitionError(
                    f"a pipeline holds steps, got {type(s).__name__} {s!r}.",
                    suggestion="Decorate functions with @step before chaining them with >>.",
                )
            flat.extend(s.steps if isinstance(s, Pipeline) and s._anonymous else (s,))
        if not flat:
            raise DefinitionError("a pipeline needs at least one step.")
        self.steps: tuple[Step[Any, Any], ...] = tuple(flat)
        self._anonymous = name is None
        self.name = name or "pipeline"

    @property
    def input_type(self) -> Any:
        """The first step's input type."""
        return self.steps[0].input_type

    @property
    def output_type(self) -> Any:
        """The last step's output type."""
        return self.steps[-1].output_type

    async def run(self, ctx: Context, input: In) -> Out:
        """Run each step on the previous step's output."""
        value: Any = input
        for s in self.steps:
            value = await s.run(ctx, value)
        result: Out = value
        return result

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The steps in order."""
        return self.steps

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """Each step's output must fit the next step's input."""
        problems = []
        for a, b in zip(self.steps, self.steps[1:], strict=False):
            if not is_assignable(a.output_type, b.input_type):
                problems.append(
                    f"{a.name!r} returns {type_name(a.output_type)} but the next step "
                    f"{b.name!r} expects {type_name(b.input_type)}; change one of the "
                    "annotations or put a converting step between them"
                )
        return problems

    def __rshift__(self, other: Step[Out, New]) -> Pipeline[In, New]:
        """Append ``other`` (flattening) and return a new pipeline."""
        return Pipeline(self, other)
