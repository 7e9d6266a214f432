"""``@step``: turn a typed function of one input into a durable ``FunctionStep``.

```python
@step
async def classify(ticket: Ticket) -> Label: ...

@step(retry=5, timeout=10, side_effects=True, idempotent=False)
def send(reply: Reply) -> Receipt: ...
```

Running a ``FunctionStep`` is one journaled ``ctx.step`` call. Its result is recorded as JSON
and, on replay, rehydrated into the function's return annotation (pydantic model, dataclass,
``list[int]``…), so replayed and live executions see the same Python types.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any, Protocol, overload

from fluxio.dsl.base import In, Out, Step
from fluxio.dsl.context import Context
from fluxio.dsl.options import RetryPolicy, StepOptions
from fluxio.dsl.typeinfo import Codec, parameter_types
from fluxio.errors import DefinitionError

__all__ = ["FunctionStep", "step"]


class FunctionStep(Step[In, Out]):
    """A step whose body is one Python function (async, or sync run in a thread).

    Args:
        fn: the body; called with the step's input as its only argument.
        name: the step's name in the journal (default: the function's name). Keep it stable:
            replay matches journal records by key and name.
        options: retries, timeout and side effects; ``None`` uses the engine's defaults.
    """

    def __init__(
        self,
        fn: Callable[[In], Awaitable[Out]] | Callable[[In], Out],
        *,
        name: str | None = None,
        options: StepOptions | None = None,
    ) -> None:
        _require_one_input(fn)
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "step"))
        self.options = options

    @cached_property
    def _types(self) -> tuple[Codec, Codec]:
        input_type, output_type = parameter_types(self.fn)
        return Codec(input_type), Codec(output_type)

    @property
    def input_type(self) -> Any:
        """The annotation of the function's parameter."""
        return self._types[0].type

    @property
    def output_type(self) -> Any:
        """The function's return annotation."""
        return self._types[1].type

    async def run(self, ctx: Context, input: In) -> Out:
        """Call the function as one durable step (answered from the journal on replay)."""
        in_codec, out_codec = self._types
        value = in_codec.coerce_input(input, self.name)
        result: Out = await ctx.step(
            self.fn, value, name=self.name, options=self.options, decode=out_codec.decoder()
        )
        return result


class StepDecorator(Protocol):
    """What ``@step(...)`` with options returns: a decorator making a ``FunctionStep``."""

    @overload
    def __call__(self, fn: Callable[[In], Awaitable[Out]], /) -> FunctionStep[In, Out]: ...

    @overload
    def __call__(self, fn: Callable[[In], Out], /) -> FunctionStep[In, Out]: ...


@overload
def step(fn: Callable[[In], Awaitable[Out]], /) -> FunctionStep[In, Out]: ...


@overload
def step(fn: Callable[[In], Out], /) -> FunctionStep[In, Out]: ...


@overload
def step(
    *,
    name: str | None = None,
    retry: RetryPolicy | int | None = None,
    timeout: float | None = None,
    side_effects: bool = False,
    idempotent: bool = True,
) -> StepDecorator: ...


def step(
    fn: Callable[[Any], Any] | None = None,
    /,
    *,
    name: str | None = None,
    retry: RetryPolicy | int | None = None,
    timeout: float | None = None,
    side_effects: bool = False,
    idempotent: bool = True,
) -> Any:
    """Make a durable step of a function of one input; use bare or with options.

    Args:
        fn: the function (when used bare, as ``@step``).
        name: the journal name (default: the function's name).
        retry: a ``RetryPolicy``, or the maximum number of attempts.
        timeout: start-to-close seconds for each attempt.
        side_effects: the function changes the world outside fluxio.
        idempotent: running it twice has the effect of running it once. With
            ``side_effects=True`` and ``idempotent=False`` an interrupted attempt is never
            re-run blindly: the run waits for a human in ``needs_attention``.
    """
    options = _options(retry, timeout, side_effects, idempotent)

    def make(body: Callable[[Any], Any]) -> FunctionStep[Any, Any]:
        return FunctionStep(body, name=name, options=options)

    return make if fn is None else make(fn)


def _options(
    retry: RetryPolicy | int | None, timeout: float | None, side_effects: bool, idempotent: bool
) -> StepOptions | None:
    if retry is None and timeout is None and not side_effects and idempotent:
        return None
    policy = RetryPolicy(max_attempts=retry) if isinstance(retry, int) else retry
    if timeout is not None and timeout <= 0:
        raise DefinitionError(f"step timeout must be positive seconds, got {timeout!r}.")
    return StepOptions(
        retry=policy, timeout=timeout, side_effects=side_effects, idempotent=idempotent
    )


def _require_one_input(fn: Callable[..., Any]) -> None:
    if not callable(fn):
        raise DefinitionError(f"@step needs a function, got {type(fn).__name__} {fn!r}.")
    try:
        inspect.signature(fn).bind(None)
    except TypeError:
        raise DefinitionError(
            f"step function {getattr(fn, '__qualname__', fn)!r} must take exactly one input "
            "argument (the value from the previous step).",
            suggestion="Bundle several values into one pydantic model or dataclass.",
        ) from None
    except ValueError:
        return  # builtins without a signature: trust the caller
