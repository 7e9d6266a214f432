"""``Condition``: a CEL expression or a Python predicate deciding a branch or a loop.

CEL is compiled when the workflow is defined, so a bad expression fails before anything runs.
It sees the current value as ``input`` (JSON-compatible: models become dicts) and, in loops,
the number of finished iterations as ``iteration``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fluxio.dsl.typeinfo import to_plain
from fluxio.errors import DefinitionError
from fluxio.expressions import CelExpression, compile_cel

__all__ = ["Condition", "ConditionLike"]

ConditionLike = str | Callable[..., bool]
"""A CEL source string, or a predicate taking the value (and, in loops, the iteration)."""


class Condition:
    """A compiled condition.

    Args:
        source: CEL over ``input`` (and ``iteration``), or a predicate ``f(value)`` or
            ``f(value, iteration)``.
        where: names the combinator in error messages, e.g. ``"Branch"``.
    """

    def __init__(self, source: ConditionLike, *, where: str) -> None:
        self.expression: CelExpression | None = None
        self.predicate: Callable[..., bool] | None = None
        self._arity = 1
        if isinstance(source, str):
            self.expression = compile_cel(source)
        elif callable(source):
            self.predicate = source
            self._arity = _arity(source, where)
        else:
            raise DefinitionError(
                f"{where} condition must be a CEL string or a predicate, got "
                f"{type(source).__name__} {source!r}."
            )

    def holds(self, value: Any, iteration: int | None = None) -> bool:
        """Evaluate against the current ``value`` (and loop ``iteration``)."""
        if self.expression is not None:
            variables: dict[str, Any] = {"input": to_plain(value)}
            if iteration is not None:
                variables["iteration"] = iteration
            return self.expression.test(variables)
        assert self.predicate is not None
        if self._arity == 2:
            return bool(self.predicate(value, iteration))
        return bool(self.predicate(value))

    def describe(self) -> str:
        """The CEL source, or the predicate's name, for diagrams and messages."""
        if self.expression is not None:
            return self.expression.source
        return getattr(self.predicate, "__name__", "predicate")


def _arity(fn: Callable[..., Any], where: str) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) not in (1, 2):
        raise DefinitionError(
            f"{where} predicate {getattr(fn, '__name__', fn)!r} takes {len(positional)} "
            "required arguments; give it one (the value) or two (the value and the iteration)."
        )
    return len(positional)
