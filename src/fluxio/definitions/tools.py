"""The seam between YAML ``tool`` steps and ``fluxio.tools``: steps resolve through a ToolRegistry.

A workflow's ``tool: <name>`` names a tool in a ``fluxio.tools.ToolRegistry`` (re-exported here),
whose newest active version the step calls. The step gets the tool's step options: its
contract's timeout, side effects and idempotency, and ``{"kind": "tool", "tool_contract": ...}``
metadata for governance. The loader only needs ``ToolResolver``: look a tool up, list names.
"""

from __future__ import annotations

import difflib
from typing import Protocol

from fluxio.tools import Tool, ToolRegistry

__all__ = ["RegisteredTool", "ToolRegistry", "ToolResolver", "closest"]

RegisteredTool = Tool
"""What a resolved ``tool`` step calls: a ``fluxio.tools.Tool`` (``name``, ``fn``, ``options``)."""


class ToolResolver(Protocol):
    """What the workflow loader needs from any tool registry (``ToolRegistry`` is one)."""

    def get(self, name: str) -> RegisteredTool | None:
        """The tool registered as ``name``, or ``None``."""
        ...

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        ...


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice most like ``word`` (for "did you mean" suggestions), if any is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
