"""The seam between YAML ``tool`` steps and Python callables: a small name -> callable registry.

The full tool contract (seed ``000`` Tool schema, governance, OpenAPI/MCP import) arrives with
``fluxio.tools``; definitions only need ``ToolResolver``: look a tool up by name, list names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fluxio.engine.options import StepOptions
from fluxio.errors import UsageError

__all__ = ["RegisteredTool", "ToolRegistry", "ToolResolver", "closest"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True, slots=True)
class RegisteredTool:
    """A callable that workflow steps may call by ``name``, with how it must be run.

    Args:
        name: the name YAML ``tool:`` fields use.
        fn: a sync or async callable; a step's ``inputs`` become its keyword arguments.
        options: side effects, idempotency and timeout; decide retries and recovery.
        description: one line for listings and error messages.
    """

    name: str
    fn: Callable[..., Any]
    options: StepOptions
    description: str = ""


class ToolResolver(Protocol):
    """What the workflow loader needs from any tool registry."""

    def get(self, name: str) -> RegisteredTool | None:
        """The tool registered as ``name``, or ``None``."""
        ...

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        ...


class ToolRegistry:
    """Maps tool names to callables for YAML ``tool`` steps; one per engine or test.

    Example:
        >>> registry = ToolRegistry()
        >>> registry.register("shout", lambda text: text.upper())
        >>> registry.names()
        ['shout']
    """

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    def register(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        side_effects: bool = False,
        idempotent: bool = True,
        timeout: float | None = None,
        description: str = "",
    ) -> None:
        """Make ``fn`` callable from workflow steps as ``tool: <name>``.

        Args:
            name: letters, digits, ``_``, ``-`` and ``.``; unique in this registry.
            fn: the callable; sync callables run in a worker thread.
            side_effects: it changes the world outside fluxio (sends, writes, pays).
            idempotent: calling it twice has the effect of calling it once.
            timeout: seconds each attempt may take; ``None`` means no limit.
            description: one line saying what it does.

        Raises:
            UsageError: the name is invalid or already taken, or ``fn`` is not callable.
        """
        if not _NAME.match(name):
            raise UsageError(
                f"tool name {name!r} is invalid: use letters, digits, '_', '-' and '.', "
                "starting with a letter or '_'"
            )
        if name in self._tools:
            raise UsageError(f"a tool named {name!r} is already registered; pick another name")
        if not callable(fn):
            raise UsageError(f"tool {name!r}: {fn!r} is not callable")
        options = StepOptions(
            timeout=timeout,
            side_effects=side_effects,
            idempotent=idempotent,
            metadata={"tool": name},
        )
        self._tools[name] = RegisteredTool(name, fn, options, description)

    def get(self, name: str) -> RegisteredTool | None:
        """The tool registered as ``name``, or ``None``."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice most like ``word`` (for "did you mean" suggestions), if any is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
