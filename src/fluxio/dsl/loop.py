"""``Loop``: run a body again and again on its own output, while or until a condition holds."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from fluxio.dsl.base import In, Step
from fluxio.dsl.conditions import Condition, ConditionLike
from fluxio.dsl.context import Context
from fluxio.dsl.typeinfo import Codec, is_assignable, type_name
from fluxio.errors import DefinitionError, StepFailed

__all__ = ["Loop", "LoopLimitExceeded"]


class LoopLimitExceeded(StepFailed):
    """A loop still wanted another iteration after ``max_iterations``; never retried."""


class Loop(Step[In, In]):
    """Repeat ``body``, feeding each output into the next iteration.

    Exactly one of ``while_`` and ``until`` is given. ``while_`` is tested before each
    iteration (the body may run zero times); ``until`` after each (at least once). A CEL
    condition sees ``input`` (the current value) and ``iteration`` (iterations finished so
    far); a predicate gets the value, and the iteration too if it takes two arguments.
    Iteration ``i`` runs in its own key scope ``<key>.loop.<i>``.

    Args:
        body: the step repeated; its output type should be its input type.
        while_: keep going while this holds.
        until: stop once this holds.
        max_iterations: fail with ``LoopLimitExceeded`` rather than run more iterations.
            ``validate`` reports loops without one.
        name: the loop's name in diagrams and messages.
    """

    def __init__(
        self,
        body: Step[In, In],
        *,
        while_: ConditionLike | None = None,
        until: ConditionLike | None = None,
        max_iterations: int | None = None,
        name: str = "loop",
    ) -> None:
        if (while_ is None) == (until is None):
            raise DefinitionError(
                "Loop needs exactly one of while_= and until=.",
                suggestion="e.g. Loop(refine, until='input.score >= 0.9', max_iterations=5)",
            )
        if max_iterations is not None and (
            not isinstance(max_iterations, int) or max_iterations < 1
        ):
            raise DefinitionError(
                f"Loop max_iterations must be a positive integer, got {max_iterations!r}."
            )
        if not isinstance(body, Step):
            raise DefinitionError(f"Loop body must be a step, got {type(body).__name__}.")
        self.body = body
        self.is_until = until is not None
        self.condition = Condition(until if until is not None else while_, where="Loop")  # type: ignore[arg-type]
        self.max_iterations = max_iterations
        self.name = name

    @property
    def input_type(self) -> Any:
        """The body's input type."""
        return self.body.input_type

    @property
    def output_type(self) -> Any:
        """The body's output type (the loop's input when the body never runs)."""
        return self.body.output_type if self.is_until else self.body.input_type

    async def run(self, ctx: Context, input: In) -> In:
        """Iterate; each iteration's steps live under ``<key>.loop.<i>``."""
        key = ctx.reserve_key()
        value: In = self._codec.coerce_input(input, self.name)  # predicates see typed values
        done = 0
        while self.is_until or self.condition.holds(value, done):
            if self.max_iterations is not None and done >= self.max_iterations:
                raise self._limit_error(ctx, value)
            value = await self.body.run(ctx.scoped(f"{key}.loop.{done}"), value)
            done += 1
            if self.is_until and self.condition.holds(value, done):
                break
        return value

    @cached_property
    def _codec(self) -> Codec:
        return Codec(self.body.input_type)

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The body."""
        return (self.body,)

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """A loop needs a bound, and its body's output must feed its own input."""
        problems = []
        if self.max_iterations is None:
            problems.append(
                "has no max_iterations, so a condition that never changes runs forever; "
                "add max_iterations=N"
            )
        if not is_assignable(self.body.output_type, self.body.input_type):
            problems.append(
                f"body {self.body.name!r} returns {type_name(self.body.output_type)} but the "
                f"next iteration needs {type_name(self.body.input_type)}"
            )
        return problems

    def _limit_error(self, ctx: Context, value: Any) -> LoopLimitExceeded:
        word = "until" if self.is_until else "while"
        return LoopLimitExceeded(
            f"loop {self.name!r} in run {ctx.run_id} reached max_iterations="
            f"{self.max_iterations} and its {word} condition {self.condition.describe()!r} "
            f"still asks for more (last value: {value!r:.200}). Raise max_iterations or fix "
            "the condition.",
            retryable=False,
        )
