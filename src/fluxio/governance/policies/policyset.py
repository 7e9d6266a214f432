"""A set of policies compiled for fast evaluation: scope matchers, CEL, and a tool index.

Only the policies that can apply to an action are looked at: active policies are indexed by
the tool names their scope lists, so with hundreds of tool-specific policies a call to one
tool touches only that tool's policies and the ones scoped to every tool.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from fluxio.errors import UsageError
from fluxio.governance.policies.conditions import Condition, compile_condition
from fluxio.governance.policies.context import Action
from fluxio.governance.policies.model import PERIOD_SECONDS, Policy, Rule

__all__ = ["CompiledPolicy", "CompiledRule", "NameMatcher", "PolicySet"]

_GLOB = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class NameMatcher:
    """Matches names against a scope list: exact names, ``fnmatch`` globs, or ``*`` (any)."""

    any: bool
    exact: frozenset[str]
    patterns: tuple[str, ...]

    @classmethod
    def of(cls, names: Literal["*"] | tuple[str, ...]) -> NameMatcher:
        """A matcher for a scope list (``"*"`` matches everything)."""
        if names == "*" or "*" in names:
            return cls(True, frozenset(), ())
        globs = tuple(n for n in names if _GLOB & set(n))
        return cls(False, frozenset(n for n in names if n not in globs), globs)

    def match(self, name: str) -> bool:
        """Whether ``name`` is covered."""
        if self.any or name in self.exact:
            return True
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def describe(self) -> str:
        """The list as written, for explanations."""
        return "*" if self.any else ", ".join(sorted(self.exact) + list(self.patterns))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its CEL compiled and its limit window in seconds."""

    rule: Rule
    when: Condition | None
    condition: Condition | None
    period: int


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy ready to evaluate: scope matchers, compiled conditions, effective window."""

    policy: Policy
    index: int
    agents: NameMatcher
    tools: NameMatcher
    workflows: NameMatcher
    kinds: frozenset[str] | None
    users: NameMatcher
    roles: NameMatcher
    conditions: tuple[Condition, ...]
    rules: tuple[CompiledRule, ...]
    starts: float | None
    ends: float | None

    @classmethod
    def of(cls, policy: Policy, index: int) -> CompiledPolicy:
        """Compile ``policy`` (its position ``index`` orders transforms and explanations)."""
        scope, applies = policy.scope, policy.scope.applies_to
        return cls(
            policy=policy,
            index=index,
            agents=NameMatcher.of(applies.agents),
            tools=NameMatcher.of(applies.tools),
            workflows=NameMatcher.of(applies.workflows),
            kinds=None if applies.kinds == "*" else frozenset(applies.kinds),
            users=NameMatcher.of(scope.users),
            roles=NameMatcher.of(scope.roles),
            conditions=tuple(compile_condition(c) for c in scope.conditions),
            rules=tuple(_compile_rule(rule) for rule in policy.rules),
            starts=_timestamp(policy.effective_from),
            ends=_timestamp(policy.effective_until),
        )

    @property
    def id(self) -> str:
        """The policy id."""
        return self.policy.id

    @functools.cached_property
    def everywhere(self) -> bool:
        """Whether its scope admits every action (only its conditions may narrow it)."""
        matchers = (self.agents, self.tools, self.workflows, self.users, self.roles)
        return self.kinds is None and all(m.any for m in matchers)

    @functools.cached_property
    def names(self) -> frozenset[str]:
        """The context variables its conditions read (the rest need not be built)."""
        conditions = [*self.conditions]
        for rule in self.rules:
            conditions += [c for c in (rule.when, rule.condition) if c is not None]
        return frozenset().union(*(c.names for c in conditions))

    def inactive(self, now: float) -> str | None:
        """Why the policy is not in force at ``now``, or ``None`` if it is."""
        if self.policy.status != "active":
            return f"status is {self.policy.status}"
        if self.starts is not None and now < self.starts:
            return f"not effective until {self.policy.effective_from}"
        if self.ends is not None and now >= self.ends:
            return f"expired at {self.policy.effective_until}"
        return None

    def out_of_scope(self, action: Action) -> str | None:
        """Why ``action`` is outside the policy's scope (``conditions`` aside), or ``None``."""
        if self.kinds is not None and action.kind not in self.kinds:
            return f"applies to {', '.join(sorted(self.kinds))} actions, not {action.kind}"
        if not self.tools.any and (action.kind != "tool" or not self.tools.match(action.name)):
            return f"applies to tools {self.tools.describe()}, not {action.kind} {action.name!r}"
        if not self.agents.any and not _agent_matches(self.agents, action):
            acting = f"agent {action.agent.id!r}" if action.agent else "no agent"
            return f"applies to agents {self.agents.describe()}; {acting} acts"
        if not self.workflows.any and not self.workflows.match(action.workflow):
            return f"applies to workflows {self.workflows.describe()}, not {action.workflow!r}"
        return self._actor_miss(action)

    def _actor_miss(self, action: Action) -> str | None:
        if self.users.any and self.roles.any:
            return None
        actor = action.actor
        if not self.users.any and self.users.match(actor.id):
            return None
        if not self.roles.any and any(self.roles.match(role) for role in actor.roles):
            return None
        return (
            f"applies to users {self.users.describe()} / roles {self.roles.describe()}; "
            f"actor {actor.id!r} has roles {list(actor.roles)}"
        )


def _agent_matches(agents: NameMatcher, action: Action) -> bool:
    agent = action.agent
    return agent is not None and (agents.match(agent.id) or agents.match(agent.name))


def _compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(
        rule=rule,
        when=compile_condition(rule.when) if rule.when else None,
        condition=compile_condition(rule.condition) if rule.condition else None,
        period=PERIOD_SECONDS[rule.limit.period] if rule.limit else 0,
    )


def _timestamp(moment: dt.datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class PolicySet:
    """Policies compiled and indexed for evaluation; build one per configuration change.

    Raises:
        UsageError: two policies share an id.
    """

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = tuple(policies)
        ids = [p.id for p in self.policies]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise UsageError(f"policy ids must be unique; repeated: {', '.join(repeated)}")
        self.compiled = tuple(CompiledPolicy.of(p, i) for i, p in enumerate(self.policies))
        live = [c for c in self.compiled if c.policy.status == "active"]
        self._any_tool = tuple(c for c in live if c.tools.any)
        self._tool_specific = tuple(c for c in live if not c.tools.any)
        self._by_tool: dict[str, tuple[CompiledPolicy, ...]] = {}

    def __len__(self) -> int:
        return len(self.policies)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    @property
    def entity_types(self) -> frozenset[str]:
        """Every entity type a transform rule redacts (a redactor must handle them)."""
        return frozenset(
            entity
            for policy in self.policies
            for rule in policy.rules
            if rule.transform is not None
            for entity in rule.transform.redact_entities
        )

    def candidates(self, action: Action) -> tuple[CompiledPolicy, ...]:
        """The active policies whose tool scope admits ``action``, in file order."""
        if action.kind != "tool":
            return self._any_tool
        found = self._by_tool.get(action.name)
        if found is None:
            specific = [c for c in self._tool_specific if c.tools.match(action.name)]
            found = tuple(sorted((*self._any_tool, *specific), key=lambda c: c.index))
            self._by_tool[action.name] = found
        return found
