"""``Parallel``: run several steps on the same input at once and collect their outputs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fluxio.dsl.base import In, Step
from fluxio.dsl.context import Context, FailurePolicy
from fluxio.dsl.typeinfo import Codec, is_assignable, type_name
from fluxio.errors import DefinitionError, StepFailed

__all__ = ["Parallel", "decode_results", "validate_concurrency", "validate_policy"]

_POLICIES = ("all_or_nothing", "best_effort", "fail_fast")


class Parallel(Step[In, list[Any]]):
    """Give every branch the same input, run them concurrently, return their outputs in order.

    Each branch runs in its own key scope, so replay is deterministic whatever order the
    branches finished in.

    Args:
        steps: the branches.
        policy: ``all_or_nothing`` (fail if any branch failed), ``fail_fast`` (cancel the
            rest at the first failure) or ``best_effort`` (a ``BranchError`` in place of each
            failed branch's output).
        concurrency: at most this many branches run at once (default: all).
        name: the parallel block's name in the journal.
    """

    def __init__(
        self,
        *steps: Step[In, Any],
        policy: FailurePolicy = "all_or_nothing",
        concurrency: int | None = None,
        name: str = "parallel",
    ) -> None:
        if not steps:
            raise DefinitionError("Parallel needs at least one step.")
        validate_policy(policy, "Parallel")
        validate_concurrency(concurrency, "Parallel")
        self.steps = steps
        self.policy: FailurePolicy = policy
        self.concurrency = concurrency
        self.name = name
        self._codecs = [Codec(s.output_type) for s in steps]

    @property
    def input_type(self) -> Any:
        """The first typed branch's input type (every branch gets the same input)."""
        return next((s.input_type for s in self.steps if s.input_type is not Any), Any)

    @property
    def output_type(self) -> Any:
        """``list[T]`` when every branch returns ``T``, else ``list[Any]``."""
        outs = {s.output_type for s in self.steps}
        return list[outs.pop()] if len(outs) == 1 else list[Any]  # type: ignore[misc]

    async def run(self, ctx: Context, input: In) -> list[Any]:
        """Run the branches through ``ctx.parallel`` and decode their outputs."""
        branches = [_branch(s, input) for s in self.steps]
        results = await ctx.parallel(
            branches, policy=self.policy, concurrency=self.concurrency, name=self.name
        )
        return decode_results(results, self._codecs)

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The branches."""
        return tuple(self.steps)

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """Every branch must accept the same input type."""
        first = self.input_type
        return [
            f"branch {s.name!r} expects {type_name(s.input_type)} but the other branches take "
            f"{type_name(first)}; every branch receives the same input"
            for s in self.steps
            if not is_assignable(first, s.input_type)
        ]


def decode_results(results: list[Any], codecs: list[Codec]) -> list[Any]:
    """Branch outputs as their steps' types (journal JSON on replay); failures stay as-is."""
    decoded = []
    for i, value in enumerate(results):
        codec = codecs[i if i < len(codecs) else -1]
        failed = isinstance(getattr(value, "error", None), StepFailed)  # a BranchError
        decoded.append(value if failed or codec.is_any else codec.decode(value))
    return decoded


def validate_policy(policy: str, where: str) -> None:
    """Raise ``DefinitionError`` unless ``policy`` is a known failure policy."""
    if policy not in _POLICIES:
        raise DefinitionError(
            f"{where} policy {policy!r} is unknown; use one of {', '.join(_POLICIES)}."
        )


def validate_concurrency(concurrency: int | None, where: str) -> None:
    """Raise ``DefinitionError`` unless ``concurrency`` is ``None`` or a positive integer."""
    if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
        raise DefinitionError(
            f"{where} concurrency must be a positive integer or None, got {concurrency!r}."
        )


def _branch(s: Step[Any, Any], value: Any) -> Callable[[Context], Awaitable[Any]]:
    async def branch(sub: Context) -> Any:
        return await s.run(sub, value)

    return branch
