"""The seam between YAML ``agent`` steps and ``fluxio.agents``: steps resolve through a registry.

A workflow's ``agent: <name>`` names an agent in a ``fluxio.agents.AgentRegistry`` (any object
with ``get`` and ``names`` will do). The step runs the agent's task as a child run of the
workflow (``agent:<name>``): its ``task`` input is the task, every other input becomes a key of
the task's context, and the step's ``timeout`` becomes the task's ``constraints.timeout``.
"""

from __future__ import annotations

from typing import Protocol

from fluxio.agents import AgentDefinition, AgentRegistry

__all__ = ["AgentRegistry", "AgentResolver"]


class AgentResolver(Protocol):
    """What the workflow loader needs from an agent registry (``AgentRegistry`` is one)."""

    def get(self, name: str, version: str | None = None) -> AgentDefinition | None:
        """The agent registered as ``name``, or ``None``."""
        ...

    def names(self) -> list[str]:
        """Every registered agent name, sorted."""
        ...
