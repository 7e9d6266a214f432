"""``Context``: the part of the engine's ``RunContext`` that DSL steps use.

The DSL is pure and may not import the engine, so it names what it needs as a protocol.
``fluxio.engine.RunContext`` satisfies it structurally; tests can pass any object that does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar, overload

from fluxio.dsl.options import StepOptions

__all__ = ["Context", "FailurePolicy"]

T = TypeVar("T")
FailurePolicy = Literal["all_or_nothing", "best_effort", "fail_fast"]
"""How a parallel block treats failed branches (see ``RunContext.parallel``)."""


class Context(Protocol):
    """What a step's ``run`` may do durably: steps, waits, child runs, branches and scopes."""

    @property
    def run_id(self) -> str:
        """The id of the run being executed."""
        ...

    @property
    def input(self) -> Any:
        """The run's input as given at start."""
        ...

    def reserve_key(self, key: str | None = None) -> str:
        """Take the next step key (or the explicit ``key``) in this scope."""
        ...

    def scoped(self, key: str) -> Context:
        """A context whose step keys live under ``key`` (loop iterations, branch arms)."""
        ...

    @overload
    async def step(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: Callable[..., T],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T: ...

    async def step(
        self,
        fn: Callable[..., Awaitable[T]] | Callable[..., T],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``fn(*args, **kwargs)`` as a durable, journaled step and return its result."""
        ...

    async def sleep(self, seconds: float, *, key: str | None = None) -> None:
        """A durable timer."""
        ...

    async def wait_for(
        self,
        signal: str,
        *,
        timeout: float | None = None,
        key: str | None = None,
        reason: str = "signal",
    ) -> Any:
        """Wait durably for the named signal and return its payload."""
        ...

    async def child(
        self,
        workflow: str,
        input: Any = None,
        *,
        key: str | None = None,
        queue: str = "default",
        priority: int = 0,
    ) -> Any:
        """Run ``workflow`` as a child run (in ``queue``) and return its result."""
        ...

    async def parallel(
        self,
        branches: Sequence[Callable[[Context], Awaitable[Any]]],
        *,
        policy: FailurePolicy = "all_or_nothing",
        concurrency: int | None = None,
        key: str | None = None,
        name: str = "parallel",
    ) -> list[Any]:
        """Run branches concurrently, each in its own key scope, and join their results."""
        ...
