"""``Branch``: choose between two steps by a CEL condition or a predicate."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from fluxio.dsl.base import In, Step
from fluxio.dsl.conditions import Condition, ConditionLike
from fluxio.dsl.context import Context
from fluxio.dsl.typeinfo import Codec, is_assignable, type_name
from fluxio.errors import DefinitionError

__all__ = ["Branch"]


class Branch(Step[In, Any]):
    """Run ``then`` when ``condition`` holds for the input, else ``otherwise``.

    Without ``otherwise`` the input passes through unchanged when the condition is false.
    A CEL condition is compiled here, at definition time, and sees the value as ``input``.
    Each arm runs in its own key scope (``<key>.then`` / ``<key>.else``).

    Args:
        condition: CEL over ``input``, or a predicate of the value.
        then: the step run when the condition holds.
        otherwise: the step run when it does not (default: pass the input through).
        name: the branch's name in diagrams and messages.
    """

    def __init__(
        self,
        condition: ConditionLike,
        then: Step[In, Any],
        otherwise: Step[In, Any] | None = None,
        *,
        name: str = "branch",
    ) -> None:
        for arm in (then, otherwise):
            if arm is not None and not isinstance(arm, Step):
                raise DefinitionError(f"Branch arms must be steps, got {type(arm).__name__}.")
        self.condition = Condition(condition, where="Branch")
        self.then = then
        self.otherwise = otherwise
        self.name = name

    @classmethod
    def cases(
        cls,
        *cases: tuple[ConditionLike, Step[Any, Any]],
        otherwise: Step[Any, Any] | None = None,
        name: str = "cases",
    ) -> Branch[Any]:
        """The first case whose condition holds runs; ``otherwise`` (or pass-through) if none.

        Built as nested branches, so it is an ordinary step.
        """
        if not cases:
            raise DefinitionError("Branch.cases needs at least one (condition, step) pair.")
        rest: Step[Any, Any] | None = otherwise
        for i, (condition, then) in reversed(list(enumerate(cases))):
            rest = cls(condition, then, rest, name=f"{name}[{i}]")
        assert isinstance(rest, Branch)
        return rest

    @property
    def input_type(self) -> Any:
        """The ``then`` arm's input type."""
        return self.then.input_type

    @property
    def output_type(self) -> Any:
        """The arms' common output type, or ``Any`` when they differ."""
        other = self.otherwise.output_type if self.otherwise else self.input_type
        return self.then.output_type if self.then.output_type == other else Any

    async def run(self, ctx: Context, input: In) -> Any:
        """Test the condition on the input and run the chosen arm in its own scope."""
        key = ctx.reserve_key()
        input = self._codec.coerce_input(input, self.name)  # predicates see typed values
        if self.condition.holds(input):
            return await self.then.run(ctx.scoped(f"{key}.then"), input)
        if self.otherwise is None:
            return input
        return await self.otherwise.run(ctx.scoped(f"{key}.else"), input)

    @cached_property
    def _codec(self) -> Codec:
        return Codec(self.input_type)

    def children(self) -> tuple[Step[Any, Any], ...]:
        """The arms: ``then``, and ``otherwise`` if given."""
        return (self.then,) if self.otherwise is None else (self.then, self.otherwise)

    def check(self, known_workflows: frozenset[str]) -> list[str]:
        """Both ways out of the branch must give the same type."""
        then_out = self.then.output_type
        if self.otherwise is None:
            if is_assignable(self.input_type, then_out):
                return []
            return [
                f"when {self.condition.describe()!r} is false the input "
                f"({type_name(self.input_type)}) passes through, but {self.then.name!r} returns "
                f"{type_name(then_out)}; add an otherwise= step returning {type_name(then_out)}"
            ]
        other_out = self.otherwise.output_type
        if is_assignable(then_out, other_out) or is_assignable(other_out, then_out):
            return []
        return [
            f"arm {self.then.name!r} returns {type_name(then_out)} but arm "
            f"{self.otherwise.name!r} returns {type_name(other_out)}; make them return the "
            "same type"
        ]
