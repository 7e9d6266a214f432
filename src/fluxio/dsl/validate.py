"""``validate``: find every problem in a DSL definition before anything runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fluxio.dsl.base import Step
from fluxio.errors import DefinitionError

__all__ = ["InvalidDefinition", "validate"]


class InvalidDefinition(DefinitionError):
    """``validate`` found problems; ``problems`` lists each, with where it is.

    Attributes:
        problems: one sentence per problem, prefixed with the path of the step.
    """

    def __init__(self, root: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        listing = " ".join(f"({i}) {p}." for i, p in enumerate(problems, 1))
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(
            f"workflow definition {root!r} has {count}: {listing}",
            suggestion="Fix them and validate again; nothing was run.",
        )


def validate(step: Step[Any, Any], *, known_workflows: Iterable[str] = ()) -> None:
    """Check a step and everything inside it; raise ``InvalidDefinition`` listing all problems.

    Checks, among others: that each step's output type fits the next step's input type
    (``Any`` and missing annotations fit everything), that ``SubWorkflow`` names a known
    workflow, that every ``Loop`` has ``max_iterations``, that branch arms agree on a type.

    Args:
        step: the definition (a ``Workflow`` or any step).
        known_workflows: workflow names a ``SubWorkflow`` may start (e.g. ``engine.workflows``).

    Raises:
        InvalidDefinition: a ``DefinitionError`` whose ``problems`` lists every problem.
    """
    if not isinstance(step, Step):
        raise DefinitionError(f"validate() takes a DSL step, got {type(step).__name__}.")
    known = frozenset(known_workflows)
    problems: list[str] = []
    _walk(step, step.name, known, problems, set())
    if problems:
        raise InvalidDefinition(step.name, problems)


def _walk(
    step: Step[Any, Any],
    path: str,
    known: frozenset[str],
    problems: list[str],
    seen: set[int],
) -> None:
    if id(step) in seen and step.children():
        problems.append(f"{path}: contains itself; a definition must be a tree")
        return
    seen = seen | {id(step)}
    problems.extend(f"{path}: {problem}" for problem in step.check(known))
    for i, child in enumerate(step.children(), 1):
        _walk(child, f"{path} > {i}:{child.name}", known, problems, seen)
