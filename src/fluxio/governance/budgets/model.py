"""Budget definitions: what may be spent, over what scope, and what happens past the limit.

A budget limits dollars and/or tokens spent over one *scope*:

- ``run``: each run separately;
- ``agent``: each agent (the step's ``options.metadata["agent"]``; see ``agent_of``);
- ``workflow``: each workflow, over all its runs;
- ``tenant``: the tenant's whole spend;
- ``day``: the tenant's spend per UTC day (the same as ``tenant`` with ``per: day``).

``per: day`` makes any scope reset every UTC day (e.g. an agent's daily budget). The filters
``tenant``, ``workflow`` and ``agent`` choose which steps a budget applies to (``*``: all).
A ``soft`` budget only warns; a ``hard`` one acts *before* the call that would exceed it, by
its ``on_breach`` action: ``stop`` (the step fails with ``BudgetExceeded``), ``approval`` (a
human may allow the overspend) or ``replan`` (the planner should choose a cheaper plan).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from fluxio.engine.interceptors import ExecuteStepInput

__all__ = [
    "ANY",
    "Breach",
    "Budget",
    "Mode",
    "Period",
    "Scope",
    "ScopeKind",
    "StepScope",
    "agent_of",
    "day_of",
]

ScopeKind = Literal["run", "agent", "workflow", "tenant", "day"]
Mode = Literal["soft", "hard"]
Breach = Literal["approval", "stop", "replan"]
Period = Literal["total", "day"]
ANY = "*"


@dataclass(frozen=True, slots=True)
class Budget:
    """A limit on dollars and/or tokens over one scope.

    Args:
        name: unique name, shown in warnings and errors.
        scope: what the spend is counted over (see the module docstring).
        limit_usd: dollars allowed, or ``None`` for no dollar limit.
        limit_tokens: tokens (input + output) allowed, or ``None`` for no token limit.
        mode: ``soft`` warns, ``hard`` acts before the call that would exceed.
        on_breach: a hard budget's action: ``stop``, ``approval`` or ``replan``.
        per: ``total`` (never resets) or ``day`` (resets every UTC day).
        tenant: the tenant it applies to; ``*`` gives every tenant its own.
        workflow: only steps of this workflow (``*``: any).
        agent: only steps of this agent (``*``: any, each agent counted separately).
    """

    name: str
    scope: ScopeKind
    limit_usd: float | None = None
    limit_tokens: int | None = None
    mode: Mode = "hard"
    on_breach: Breach = "stop"
    per: Period = "total"
    tenant: str = ANY
    workflow: str = ANY
    agent: str = ANY

    def applies_to(self, step: StepScope) -> bool:
        """Whether this budget covers ``step`` (its filters match and its scope is known)."""
        return (
            self.scope_of(step) is not None
            and self.tenant in (ANY, step.tenant)
            and self.workflow in (ANY, step.workflow)
            and self.agent in (ANY, step.agent)
        )

    def scope_of(self, step: StepScope) -> Scope | None:
        """The scope whose spend this budget counts for ``step``; ``None`` if it has none."""
        day = step.day if self.per == "day" or self.scope == "day" else None
        if self.scope == "run":
            return Scope("run", step.run_id, day)
        if self.scope == "agent":
            return Scope("agent", step.agent, day) if step.agent else None
        if self.scope == "workflow":
            return Scope("workflow", step.workflow, day)
        return Scope("tenant", "", day)

    def describe(self) -> str:
        """The budget as one line: ``'daily' (hard, stop): $5.00 and 10000 tokens per day``."""
        limits = []
        if self.limit_usd is not None:
            usd = self.limit_usd
            limits.append(f"${usd:,.2f}" if usd >= 1 or usd == 0 else f"${usd:.6g}")
        if self.limit_tokens is not None:
            limits.append(f"{self.limit_tokens} tokens")
        per = "per day" if self.scope == "day" else f"per {self.scope}"
        if self.per == "day" and self.scope != "day":
            per += " per day"
        action = f", {self.on_breach}" if self.mode == "hard" else ""
        return f"{self.name!r} ({self.mode}{action}): {' and '.join(limits)} {per}"


@dataclass(frozen=True, slots=True)
class Scope:
    """What spend is counted over: a run, an agent, a workflow or the tenant, maybe per day.

    ``key`` names its counter in the ledger (within a tenant), e.g. ``agent:support@2025-01-31``.
    """

    kind: Literal["run", "agent", "workflow", "tenant"]
    subject: str = ""
    day: str | None = None

    @property
    def key(self) -> str:
        """The counter's name within the tenant."""
        base = self.kind if self.kind == "tenant" else f"{self.kind}:{self.subject}"
        return f"{base}@{self.day}" if self.day else base


@dataclass(frozen=True, slots=True)
class StepScope:
    """Who a step's spend belongs to: tenant, run, workflow, agent and the UTC day."""

    tenant: str
    run_id: str
    workflow: str
    agent: str
    day: str
    step_name: str = ""

    @classmethod
    def of(cls, step: ExecuteStepInput, *, agent: str | None, now: float) -> StepScope:
        """The scope of ``step`` at time ``now`` (epoch seconds)."""
        return cls(step.tenant_id, step.run_id, step.workflow, agent or "", day_of(now), step.name)


def agent_of(step: ExecuteStepInput) -> str | None:
    """The agent a step acts for: ``metadata["agent"]``, or ``X`` for a run of ``agent:X``."""
    agent = (step.options.metadata or {}).get("agent")
    if isinstance(agent, str) and agent:
        return agent
    if step.workflow.startswith("agent:"):
        return step.workflow.removeprefix("agent:") or None
    return None


def day_of(timestamp: float) -> str:
    """The UTC date of ``timestamp`` as ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()
