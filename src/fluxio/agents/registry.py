"""``AgentRegistry``: agent definitions by name and version, and each agent's lifecycle.

The lifecycle is seed 000's: ``registered → deployed → active ⇄ paused → terminated``.
Deploying picks the version that new tasks run; a task started on a deployed agent activates
it; a paused agent accepts no new tasks; a terminated one accepts none ever (deploy it again to
bring it back). Transitions that the lifecycle does not allow are refused with a ``UsageError``
that says what the agent's state is and what would work.

The registry is an ordinary in-memory object; ``to_json``/``from_json`` let a caller keep it
anywhere (the CLI keeps it in ``.fluxio/agents.json``).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fluxio.agents.definition import AgentDefinition
from fluxio.errors import NotFound, UsageError
from fluxio.tools import ToolRegistry
from fluxio.tools.contract import semver_key

__all__ = ["AgentRecord", "AgentRegistry", "Lifecycle"]

logger = logging.getLogger("fluxio.agents")


class Lifecycle(StrEnum):
    """Where an agent is in its lifecycle (seed 000 "Agent Lifecycle")."""

    REGISTERED = "registered"
    DEPLOYED = "deployed"
    ACTIVE = "active"
    PAUSED = "paused"
    TERMINATED = "terminated"


_ALLOWED: dict[str, frozenset[Lifecycle]] = {
    "deploy": frozenset(Lifecycle),
    "activate": frozenset({Lifecycle.DEPLOYED}),
    "pause": frozenset({Lifecycle.DEPLOYED, Lifecycle.ACTIVE}),
    "resume": frozenset({Lifecycle.PAUSED}),
    "terminate": frozenset(set(Lifecycle) - {Lifecycle.TERMINATED}),
}
_HINTS = {
    Lifecycle.REGISTERED: "deploy it first",
    Lifecycle.DEPLOYED: "it is ready for tasks",
    Lifecycle.ACTIVE: "it is running; pause or terminate it",
    Lifecycle.PAUSED: "resume it first",
    Lifecycle.TERMINATED: "deploy it again to bring it back",
}
ACCEPTING = frozenset({Lifecycle.DEPLOYED, Lifecycle.ACTIVE})
"""The states in which an agent accepts new tasks."""


@dataclass
class AgentRecord:
    """One agent in the registry: its versions, lifecycle state and deployed version."""

    name: str
    versions: dict[str, AgentDefinition] = field(default_factory=dict)
    state: Lifecycle = Lifecycle.REGISTERED
    deployed_version: str | None = None
    source: str | None = None

    @property
    def current(self) -> AgentDefinition:
        """The deployed version, else the newest one."""
        if self.deployed_version is not None:
            return self.versions[self.deployed_version]
        return self.versions[max(self.versions, key=semver_key)]

    @property
    def accepting(self) -> bool:
        """Whether it accepts new tasks now."""
        return self.state in ACCEPTING


class AgentRegistry:
    """Agents by name and version, with their lifecycle; build one per engine or test.

    Args:
        agents: definitions to register at once.
        tools: when given, every definition's tools are checked against it on registration
            (unknown tools, ``requires`` and ``conflicts_with``).
    """

    def __init__(
        self, agents: Iterable[AgentDefinition] = (), *, tools: ToolRegistry | None = None
    ) -> None:
        self.tools = tools
        self._records: dict[str, AgentRecord] = {}
        for agent in agents:
            self.register(agent)

    # -- definitions -------------------------------------------------------------------

    def register(self, agent: AgentDefinition, *, source: str | None = None) -> AgentDefinition:
        """Add a version of an agent (state ``registered`` if the agent is new).

        Raises:
            UsageError: this name and version are registered already, or a tool is unknown
                or incompatible with the others.
        """
        if self.tools is not None:
            check_tools(agent, self.tools)
        record = self._records.setdefault(agent.name, AgentRecord(agent.name))
        if agent.version in record.versions:
            raise UsageError(
                f"agent {agent.name!r} version {agent.version} is already registered; give the "
                "new definition another version"
            )
        record.versions[agent.version] = agent
        record.source = source or record.source
        return agent

    def get(self, name: str, version: str | None = None) -> AgentDefinition | None:
        """The agent (its deployed or newest version, or exactly ``version``), or ``None``."""
        record = self._records.get(name)
        if record is None:
            return None
        return record.versions.get(version) if version is not None else record.current

    def require(self, name: str, version: str | None = None) -> AgentDefinition:
        """Like ``get``, but an unknown name or version raises ``NotFound`` with a hint."""
        record = self.record(name)
        if version is None:
            return record.current
        found = record.versions.get(version)
        if found is None:
            known = ", ".join(sorted(record.versions, key=semver_key))
            raise NotFound(f"agent {name!r} has no version {version}; registered: {known}")
        return found

    def record(self, name: str) -> AgentRecord:
        """The registry entry of ``name``, or ``NotFound`` (with "did you mean")."""
        record = self._records.get(name)
        if record is None:
            raise NotFound(f"unknown agent {name!r}. {self._hint(name)}")
        return record

    def state(self, name: str) -> Lifecycle:
        """Where ``name`` is in its lifecycle."""
        return self.record(name).state

    def names(self) -> list[str]:
        """Every registered agent name, sorted."""
        return sorted(self._records)

    def list(self) -> list[AgentRecord]:
        """Every agent, sorted by name."""
        return [self._records[name] for name in self.names()]

    # -- lifecycle ---------------------------------------------------------------------

    def deploy(self, name: str, version: str | None = None) -> AgentRecord:
        """Make ``version`` (default: the newest) the one new tasks run; state ``deployed``.

        Redeploying a deployed, active or paused agent switches its version and keeps its state.

        Raises:
            UsageError: the version is a draft or retired, or a delegate is not registered.
        """
        record = self.record(name)
        agent = self.require(name, version) if version else _newest(record)
        if agent.status in ("draft", "retired"):
            raise UsageError(
                f"agent {name!r} {agent.version} is {agent.status} and cannot be deployed; set "
                "`status: active` in its definition (or deploy another version)"
            )
        if agent.status == "deprecated":
            logger.warning("agent %r %s is deprecated", name, agent.version)
        for delegate in agent.delegates:
            if delegate not in self._records:
                raise UsageError(
                    f"agent {name!r} delegates to {delegate!r}, which is not registered. "
                    f"{self._hint(delegate)}"
                )
        self._move(record, "deploy")
        if record.state in (Lifecycle.REGISTERED, Lifecycle.TERMINATED):
            record.state = Lifecycle.DEPLOYED
        record.deployed_version = agent.version
        return record

    def activate(self, name: str) -> AgentRecord:
        """``deployed → active`` (the first task does this by itself)."""
        return self._set(name, "activate", Lifecycle.ACTIVE)

    def pause(self, name: str) -> AgentRecord:
        """``active → paused``: new tasks are refused until it is resumed."""
        return self._set(name, "pause", Lifecycle.PAUSED)

    def resume(self, name: str) -> AgentRecord:
        """``paused → active``."""
        return self._set(name, "resume", Lifecycle.ACTIVE)

    def terminate(self, name: str) -> AgentRecord:
        """Stop the agent for good (its runtime cancels its in-flight tasks)."""
        return self._set(name, "terminate", Lifecycle.TERMINATED)

    def check_accepting(self, name: str) -> AgentRecord:
        """Refuse with a ``UsageError`` unless ``name`` accepts new tasks."""
        record = self.record(name)
        if not record.accepting:
            raise UsageError(
                f"agent {name!r} is {record.state.value} and accepts no new tasks; "
                f"{_HINTS[record.state]}"
            )
        return record

    def _set(self, name: str, action: str, target: Lifecycle) -> AgentRecord:
        record = self.record(name)
        self._move(record, action)
        record.state = target
        return record

    def _move(self, record: AgentRecord, action: str) -> None:
        if record.state not in _ALLOWED[action]:
            allowed = ", ".join(sorted(s.value for s in _ALLOWED[action]))
            raise UsageError(
                f"cannot {action} agent {record.name!r}: it is {record.state.value} "
                f"({_HINTS[record.state]}); {action} works on agents that are {allowed}"
            )

    # -- persistence -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole registry as JSON data (definitions, states, deployed versions)."""
        return {
            "version": 1,
            "agents": {
                r.name: {
                    "state": r.state.value,
                    "deployed_version": r.deployed_version,
                    "source": r.source,
                    "versions": {v: d.model_dump(mode="json") for v, d in r.versions.items()},
                }
                for r in self.list()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, tools: ToolRegistry | None = None) -> AgentRegistry:
        """A registry from ``to_json`` data (tools are not re-checked: they may differ now)."""
        registry = cls()
        for name, entry in dict(data.get("agents", {})).items():
            versions = {
                v: AgentDefinition.model_validate(d) for v, d in dict(entry["versions"]).items()
            }
            registry._records[name] = AgentRecord(
                name,
                versions,
                Lifecycle(entry.get("state", "registered")),
                entry.get("deployed_version"),
                entry.get("source"),
            )
        registry.tools = tools
        return registry

    def _hint(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        listing = (
            f"Registered agents: {', '.join(known)}." if known else "No agents are registered."
        )
        return f"Did you mean {close[0]!r}? {listing}" if close else listing

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __iter__(self) -> Iterator[AgentRecord]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._records)


def _newest(record: AgentRecord) -> AgentDefinition:
    ordered = sorted(record.versions.values(), key=lambda a: semver_key(a.version), reverse=True)
    return next((a for a in ordered if a.status in ("active", "deprecated")), ordered[0])


def check_tools(agent: AgentDefinition, tools: ToolRegistry) -> None:
    """Check an agent's tools against a registry: required ones exist, and all that are
    registered satisfy each other's ``requires`` and ``conflicts_with``.

    Raises:
        UsageError: naming the agent and the problem (with "did you mean" for unknown tools).
    """
    present = [t for t in agent.optional_tools if t in tools]
    try:
        tools.check_compatible([*agent.required_tools, *present])
    except UsageError as exc:
        raise UsageError(f"agent {agent.name!r}: {exc}") from None
