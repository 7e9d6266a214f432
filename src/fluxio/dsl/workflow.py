"""``Workflow``: a named, top-level definition the engine can register and run.

```python
pipeline = Workflow("triage", parse >> classify >> Approval("send") >> send)
engine = Engine(store, workflows={pipeline.name: pipeline})   # or engine.register(pipeline)

@workflow
async def onboarding(ctx: Context, user: User) -> str: ...   # plain orchestration code
```
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any, Generic, overload

from fluxio.dsl.base import In, Out, Step
from fluxio.dsl.context import Context
from fluxio.dsl.typeinfo import Codec, parameter_types
from fluxio.errors import DefinitionError

__all__ = ["CodeStep", "Workflow", "workflow"]


class Workflow(Step[In, Out]):
    """A named workflow: a step (often a pipeline) the engine runs as a run.

    It is a step too, so it can be nested inline; use ``SubWorkflow`` to run it as a
    separate child run instead.

    Args:
        name: the name it is registered and started under.
        step: what the workflow does.
        description: one line for listings and docs.
    """

    def __init__(self, name: str, step: Step[In, Out], *, description: str = "") -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError("a Workflow needs a non-empty name; runs are started by it.")
        if not isinstance(step, Step):
            raise DefinitionError(
                f"Workflow {name!r} needs a step, got {type(step).__name__}.",
                suggestion="Decorate functions with @step, or use @workflow for plain code.",
            )
        self.name = name
        self.step = step
        self.description = description

    @property
    def input_type(self) -> Any:
        """The input type of the workflow's step."""
        return self.step.input_type

    @property
    def output_type(self) -> Any:
        """The output type of the workflow's step."""
        return self.step.output_type

    async def run(self, ctx: Context, input: In) -> Out:
        """Run the workflow's step on the run input (what ``Engine`` calls)."""
        return await self.step.run(ctx, input)

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The workflow's step."""
        return (self.step,)


class CodeStep(Step[In, Out], Generic[In, Out]):
    """Hand-written orchestration code ``async def (ctx, input)`` as a step.

    The code must be deterministic (see docs/concepts.md): do I/O in ``ctx.step``.
    """

    def __init__(self, fn: Callable[[Any, In], Awaitable[Out]], *, name: str | None = None):
        if not inspect.iscoroutinefunction(fn):
            raise DefinitionError(
                f"{getattr(fn, '__qualname__', fn)!r} must be an `async def (ctx, input)` "
                "function to be a workflow."
            )
        self.fn = fn
        self.name = name or fn.__name__

    @cached_property
    def _types(self) -> tuple[Codec, Any]:
        input_type, output_type = parameter_types(self.fn, skip=1)
        return Codec(input_type), output_type

    @property
    def input_type(self) -> Any:
        """The annotation of the function's second parameter."""
        return self._types[0].type

    @property
    def output_type(self) -> Any:
        """The function's return annotation."""
        return self._types[1]

    async def run(self, ctx: Context, input: In) -> Out:
        """Call the code with the input coerced to its annotated model or dataclass."""
        return await self.fn(ctx, self._types[0].coerce_input(input, self.name))


@overload
def workflow(fn: Callable[[Any, In], Awaitable[Out]], /) -> Workflow[In, Out]: ...


@overload
def workflow(
    *, name: str | None = None, description: str = ""
) -> Callable[[Callable[[Any, In], Awaitable[Out]]], Workflow[In, Out]]: ...


def workflow(
    fn: Callable[[Any, Any], Awaitable[Any]] | None = None,
    /,
    *,
    name: str | None = None,
    description: str = "",
) -> Any:
    """Make a ``Workflow`` of an ``async def (ctx, input)`` function; bare or with options.

    Args:
        fn: the orchestration code (when used bare, as ``@workflow``).
        name: the workflow's name (default: the function's name).
        description: one line for listings (default: the docstring's first line).
    """

    def make(code: Callable[[Any, Any], Awaitable[Any]]) -> Workflow[Any, Any]:
        doc = (inspect.getdoc(code) or "").split("\n", 1)[0]
        body = CodeStep(code, name=name)
        return Workflow(body.name, body, description=description or doc)

    return make if fn is None else make(fn)
