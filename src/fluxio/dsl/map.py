"""``Map``: run one step on every item of a list input, with a concurrency limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fluxio.dsl.base import In, Out, Step
from fluxio.dsl.context import Context, FailurePolicy
from fluxio.dsl.parallel import decode_results, validate_concurrency, validate_policy
from fluxio.dsl.typeinfo import Codec, type_name
from fluxio.errors import StepFailed

__all__ = ["Map"]


class Map(Step[Sequence[In], list[Out]]):
    """Fan out over a list: item ``i`` runs through ``step`` in branch scope ``i + 1``.

    Args:
        step: applied to each item.
        concurrency: at most this many items in flight (default: all).
        policy: the failure policy, as for ``Parallel``.
        name: the map's name in the journal.
    """

    def __init__(
        self,
        step: Step[In, Out],
        *,
        concurrency: int | None = None,
        policy: FailurePolicy = "all_or_nothing",
        name: str | None = None,
    ) -> None:
        validate_concurrency(concurrency, "Map")
        validate_policy(policy, "Map")
        self.step = step
        self.concurrency = concurrency
        self.policy: FailurePolicy = policy
        self.name = name or f"map:{step.name}"
        self._codec = Codec(step.output_type)

    @property
    def input_type(self) -> Any:
        """``list[T]`` where ``T`` is the step's input type."""
        return list[self.step.input_type]  # type: ignore[name-defined]

    @property
    def output_type(self) -> Any:
        """``list[U]`` where ``U`` is the step's output type."""
        return list[self.step.output_type]  # type: ignore[name-defined]

    async def run(self, ctx: Context, input: Sequence[In]) -> list[Out]:
        """Run the step on each item through ``ctx.parallel`` with the concurrency limit."""
        if isinstance(input, str | bytes | dict) or not isinstance(input, Sequence):
            raise StepFailed(
                f"map {self.name!r} needs a list input, got {type(input).__name__}; the step "
                f"before it should return a list (Map expects {type_name(self.input_type)}).",
                retryable=False,
                error_type="InvalidInput",
            )
        if not input:
            return []  # nothing to fan out; the same input replays the same way
        branches = [_item(self.step, item) for item in input]
        results = await ctx.parallel(
            branches, policy=self.policy, concurrency=self.concurrency, name=self.name
        )
        return decode_results(results, [self._codec])

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The mapped step."""
        return (self.step,)


def _item(s: Step[Any, Any], value: Any) -> Callable[[Context], Awaitable[Any]]:
    async def branch(sub: Context) -> Any:
        return await s.run(sub, value)

    return branch
