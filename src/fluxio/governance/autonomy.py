"""The autonomy ladder of seed ``000``: how far an agent may act on its own, level 0 to 5.

| level | name                  | a side-effecting action...                                     |
|-------|-----------------------|----------------------------------------------------------------|
| 0     | observe only          | is refused                                                     |
| 1     | draft                 | becomes a draft for a person to review and execute             |
| 2     | recommend             | is recommended; it runs after a person's one-click approval    |
| 3     | execute with approval | runs after approval; routine actions pre-approved by settings  |
| 4     | narrow autonomy       | runs if allow-listed (within policy limits), else as level 3   |
| 5     | broad autonomy        | runs without per-action approval, under full audit             |

Read-only actions (no side effects: lookups, model calls) are allowed at every level: observing
is what level 0 is for. ``autonomy_decision`` is the pure decision for one level;
``AutonomySettings`` holds levels per tenant, agent and tool (most restrictive wins), the
level-4 allow list and the level-3 routine (pre-approved) actions. Limits on allow-listed
actions are ``limit`` policies (``fluxio.governance.policies``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from fluxio.errors import DefinitionError, UsageError
from fluxio.governance.policies.conditions import compile_condition
from fluxio.governance.policies.context import Action, build_context

__all__ = [
    "AutonomyDecision",
    "AutonomyLevel",
    "AutonomyOutcome",
    "AutonomySettings",
    "autonomy_decision",
]


class AutonomyLevel(IntEnum):
    """The rungs of the ladder; a lower level is more restrictive."""

    OBSERVE_ONLY = 0
    DRAFT = 1
    RECOMMEND = 2
    EXECUTE_WITH_APPROVAL = 3
    NARROW_AUTONOMY = 4
    BROAD_AUTONOMY = 5

    @classmethod
    def parse(cls, value: Any) -> AutonomyLevel:
        """A level from 0-5 or a name (``draft``, ``execute with approval``, ``narrow``...).

        Raises:
            UsageError: not a level.
        """
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5:
            return cls(value)
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace(" ", "_")
            if key.isdigit():
                return cls.parse(int(key))
            for level in cls:
                if key in (level.name, level.name.split("_")[0]):
                    return level
        names = ", ".join(f"{level.value} {level.name.lower()}" for level in cls)
        raise UsageError(f"{value!r} is not an autonomy level; use one of {names}")


class AutonomyOutcome(StrEnum):
    """What the ladder lets happen to one action."""

    ALLOW = "allow"
    REFUSE = "refuse"
    DRAFT = "draft"
    RECOMMEND_AND_WAIT = "recommend_and_wait"
    REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True, slots=True)
class AutonomyDecision:
    """The ladder's answer: the outcome, the level that decided it, and why."""

    outcome: AutonomyOutcome
    level: AutonomyLevel
    reason: str
    source: str = ""

    @property
    def executes(self) -> bool:
        """Whether the action runs now."""
        return self.outcome is AutonomyOutcome.ALLOW

    @property
    def waits_for_a_person(self) -> bool:
        """Whether a person must approve (one click or explicit) before it runs."""
        return self.outcome in (
            AutonomyOutcome.RECOMMEND_AND_WAIT,
            AutonomyOutcome.REQUIRE_APPROVAL,
        )


def autonomy_decision(
    level: AutonomyLevel,
    action: Action,
    *,
    allow_listed: bool = False,
    pre_approved: bool = False,
) -> AutonomyDecision:
    """What ``level`` lets ``action`` do (a pure function of its arguments).

    Args:
        level: the effective autonomy level.
        action: the action; only whether it has side effects matters here.
        allow_listed: the action is on the level-4 allow list.
        pre_approved: the action is routine and pre-approved (levels 3 and 4).
    """
    level = AutonomyLevel(level)
    what = f"{action.kind} {action.name!r}"
    if not action.changes_world:
        return _decided("allow", level, f"{what} is read-only; every level may observe")
    if level is AutonomyLevel.OBSERVE_ONLY:
        return _decided("refuse", level, f"observe only: {what} has side effects")
    if level is AutonomyLevel.DRAFT:
        return _decided("draft", level, f"draft: {what} is prepared for a person to execute")
    if level is AutonomyLevel.RECOMMEND:
        return _decided(
            "recommend_and_wait", level, f"recommend: {what} runs after one-click approval"
        )
    if level is AutonomyLevel.BROAD_AUTONOMY:
        return _decided("allow", level, f"broad autonomy: {what} runs under full audit")
    if level is AutonomyLevel.NARROW_AUTONOMY and allow_listed:
        return _decided("allow", level, f"narrow autonomy: {what} is allow-listed")
    if pre_approved:
        return _decided("allow", level, f"{what} is a routine action, pre-approved")
    if level is AutonomyLevel.NARROW_AUTONOMY:
        reason = f"narrow autonomy: {what} is not allow-listed, so it needs approval"
        return _decided("require_approval", level, reason)
    return _decided("require_approval", level, f"execute with approval: {what} needs approval")


def _decided(outcome: str, level: AutonomyLevel, reason: str) -> AutonomyDecision:
    return AutonomyDecision(AutonomyOutcome(outcome), level, reason)


def _level(value: Any) -> Any:
    if isinstance(value, AutonomyLevel):
        return value
    try:
        return AutonomyLevel.parse(value)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


Level = Annotated[AutonomyLevel, BeforeValidator(_level)]


class AutonomySettings(BaseModel):
    """Autonomy levels per tenant, agent and tool; the most restrictive one applies.

    Attributes:
        default: a tenant's level when ``tenants`` does not name it.
        tenants: level per tenant id.
        agents: level per agent id or name (an ``AgentRef.autonomy`` below 5 counts too).
        tools: level per tool name (``fnmatch`` globs allowed, e.g. ``delete_*``).
        allow_list: tools (names or globs) that level 4 runs without approval.
        pre_approved: CEL conditions (the policy context) describing routine actions that
            levels 3 and 4 run without approval, e.g. ``tool.name == "create_ticket"``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Level = AutonomyLevel.EXECUTE_WITH_APPROVAL
    tenants: dict[str, Level] = {}
    agents: dict[str, Level] = {}
    tools: dict[str, Level] = {}
    allow_list: tuple[str, ...] = ()
    pre_approved: tuple[str, ...] = ()

    @field_validator("pre_approved")
    @classmethod
    def _compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for source in value:
            try:
                compile_condition(source)
            except DefinitionError as exc:
                raise ValueError(exc.message) from None
        return value

    @classmethod
    def parse(cls, data: Any) -> AutonomySettings:
        """Settings from plain data (YAML/JSON); ``UsageError`` names the bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise UsageError(f"autonomy settings, {where}: {message}") from None

    def level_for(self, action: Action) -> tuple[AutonomyLevel, str]:
        """The effective level for ``action`` and which setting imposed it."""
        found = [(self.tenants.get(action.tenant, self.default), f"tenant {action.tenant!r}")]
        agent = action.agent
        if agent is not None:
            for name in dict.fromkeys((agent.id, agent.name)):
                if name in self.agents:
                    found.append((self.agents[name], f"agent {name!r}"))
            found.append((AutonomyLevel.parse(agent.autonomy), f"agent {agent.id!r} definition"))
        if action.kind == "tool":
            found += [
                (level, f"tool {pattern!r}")
                for pattern, level in self.tools.items()
                if fnmatch.fnmatchcase(action.name, pattern)
            ]
        return min(found, key=lambda item: item[0])

    def decide(self, action: Action, *, now: dt.datetime | None = None) -> AutonomyDecision:
        """The ladder's decision for ``action`` under these settings."""
        level, source = self.level_for(action)
        allow_listed = action.kind == "tool" and any(
            fnmatch.fnmatchcase(action.name, pattern) for pattern in self.allow_list
        )
        decision = autonomy_decision(
            level,
            action,
            allow_listed=allow_listed,
            pre_approved=self._routine(action, now),
        )
        return AutonomyDecision(decision.outcome, level, decision.reason, source)

    def _routine(self, action: Action, now: dt.datetime | None) -> bool:
        if not self.pre_approved:
            return False
        context = build_context(action, now or dt.datetime.now(dt.UTC))
        for source in self.pre_approved:
            try:
                if compile_condition(source).test(context):
                    return True
            except UsageError:
                continue  # a routine that cannot be evaluated pre-approves nothing
        return False
