"""The Policy schema of seed ``000`` as pydantic models, validated when a policy is loaded.

A ``Policy`` has a scope (which actions it applies to), rules (``require``, ``forbid``,
``limit``, ``transform``), an enforcement mode (``strict`` acts, ``warn`` and ``log`` only
record), a violation action (``block`` denies, ``escalate`` requires approval, ``notify`` lets
the action run and asks for a notification), a status and effective dates. Every CEL condition
is compiled during validation, so a typo fails at load time, not before the 10,000th step.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from fluxio.errors import DefinitionError
from fluxio.governance.policies.conditions import compile_condition
from fluxio.governance.policies.context import CONTEXT_VARIABLES

__all__ = [
    "PERIOD_SECONDS",
    "AppliesTo",
    "Enforcement",
    "Limit",
    "LimitKey",
    "Period",
    "Policy",
    "Rule",
    "RuleType",
    "Scope",
    "Status",
    "Transform",
    "ViolationAction",
]

RuleType = Literal["require", "forbid", "limit", "transform"]
Enforcement = Literal["strict", "warn", "log"]
ViolationAction = Literal["block", "notify", "escalate"]
Status = Literal["draft", "active", "disabled"]
Period = Literal["minute", "hour", "day"]
LimitKey = Literal["tenant", "agent", "tool", "actor", "workflow", "run"]
ActionKind = Literal["tool", "model", "step"]

PERIOD_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
"""Length of each limit window; windows are aligned to the UTC epoch (minute, hour, day)."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_SEGMENT = r"(?:[A-Za-z0-9_-]+|\*)"
_INDEX = r"\[(?:\d+|\*)\]"
_PATH = re.compile(rf"^(?:\$\.?)?(?:{_SEGMENT}|{_INDEX})(?:\.{_SEGMENT}|{_INDEX})*$")


def _as_tuple(value: Any) -> Any:
    """Accept one string where a list is expected, except the wildcard ``"*"``."""
    return (value,) if isinstance(value, str) and value != "*" else value


def _names(value: Any) -> Any:
    if isinstance(value, list | tuple) and not value:
        raise ValueError("an empty list matches nothing; list names, or write '*' for all")
    return _as_tuple(value)


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _check_cel(source: str) -> str:
    try:
        condition = compile_condition(source)
    except DefinitionError as exc:
        raise ValueError(f"{exc.message}. {exc.suggestion or ''}".strip()) from None
    unknown = sorted(condition.names - CONTEXT_VARIABLES)
    if unknown:
        close = difflib.get_close_matches(unknown[0], CONTEXT_VARIABLES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"CEL expression {source!r} uses unknown variable {unknown[0]!r}; {hint}"
            f"conditions can use {', '.join(sorted(CONTEXT_VARIABLES))}"
        )
    return source


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"{value!r} is not a valid id; use letters, digits and _ . : - "
            "(no spaces), e.g. `no-delete` or `email.rate`"
        )
    return value


Names = Annotated[Literal["*"] | tuple[str, ...], BeforeValidator(_names)]
Cel = Annotated[str, Field(min_length=1)]
Id = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AppliesTo(_Model):
    """Which actions a policy covers; each list is names (``fnmatch`` globs allowed) or ``*``.

    ``kinds`` narrows by action kind: ``tool``, ``model`` or ``step``.
    """

    agents: Names = "*"
    tools: Names = "*"
    workflows: Names = "*"
    kinds: Literal["*"] | tuple[ActionKind, ...] = "*"

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        return _as_tuple(value)


class Scope(_Model):
    """Where a policy applies: actions, actors (user ids or roles), and CEL conditions."""

    applies_to: AppliesTo = AppliesTo()
    users: Names = "*"
    roles: Names = "*"
    conditions: Annotated[tuple[Cel, ...], BeforeValidator(_as_tuple)] = ()

    @field_validator("applies_to", mode="before")
    @classmethod
    def _star(cls, value: Any) -> Any:
        return {} if value == "*" else value

    @field_validator("conditions")
    @classmethod
    def _cel(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_cel(source) for source in value)


class Limit(_Model):
    """At most ``count`` matching actions per ``period`` for each value of ``key``."""

    count: int = Field(ge=1)
    period: Period
    key: Annotated[tuple[LimitKey, ...], BeforeValidator(_as_tuple)] = ("tenant",)


class Transform(_Model):
    """How a matching action's arguments are rewritten, in this order: defaults, paths, entities.

    Attributes:
        defaults: top-level arguments set when absent.
        redact_paths: JSON paths (``$.customer.ssn``, ``items[*].card``) replaced by ``mask``.
        redact_entities: entity types (``email``, ``phone``...) handed to the configured redactor.
        mask: the replacement for redacted paths.
    """

    defaults: dict[str, Any] = Field(default_factory=dict)
    redact_paths: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()
    redact_entities: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()
    mask: str = "[REDACTED]"

    @field_validator("redact_paths")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not _PATH.match(path):
                raise ValueError(
                    f"{path!r} is not a JSON path; write e.g. `$.customer.ssn`, `body` or "
                    "`items[*].card`"
                )
        return value

    @field_validator("redact_entities")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name.upper() for name in value)

    @model_validator(mode="after")
    def _not_empty(self) -> Transform:
        if not (self.defaults or self.redact_paths or self.redact_entities):
            raise ValueError("a transform needs defaults, redact_paths or redact_entities")
        return self


class Rule(_Model):
    """One rule of a policy.

    ``when`` (CEL, optional) says which actions the rule looks at. Then ``require`` is violated
    when ``condition`` is false, ``forbid`` when it is true, ``limit`` when the action would
    exceed ``limit``, and ``transform`` rewrites the arguments.
    """

    id: Id = Field(validation_alias=AliasChoices("id", "rule_id"))
    type: RuleType
    description: str = ""
    when: Cel | None = None
    condition: Cel | None = None
    limit: Limit | None = None
    transform: Transform | None = None
    message: str | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("when", "condition")
    @classmethod
    def _cel(cls, value: str | None) -> str | None:
        return None if value is None else _check_cel(value)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Rule:
        needed = {"require": "condition", "forbid": "condition"}.get(self.type, self.type)
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.type} rule needs `{needed}:` ({_HINTS[self.type]})")
        for other in ("condition", "limit", "transform"):
            if other != needed and getattr(self, other) is not None:
                raise ValueError(f"a {self.type} rule takes no `{other}:`; {_HINTS[self.type]}")
        return self


_HINTS = {
    "require": "condition is the CEL that must hold, e.g. `has(arguments.ticket_id)`",
    "forbid": "condition is the CEL that must not hold, e.g. `tool.name == 'delete_file'`",
    "limit": "e.g. `limit: {count: 20, period: day, key: agent}`",
    "transform": "e.g. `transform: {redact_paths: [$.body]}`",
}


class Policy(_Model):
    """A governance policy (seed ``000`` Policy): scope, rules, enforcement and lifecycle."""

    id: Id = Field(validation_alias=AliasChoices("id", "policy_id"))
    name: str = ""
    description: str = ""
    version: Annotated[str, BeforeValidator(_as_str)] = "1"
    scope: Scope = Scope()
    rules: tuple[Rule, ...] = Field(min_length=1)
    enforcement: Enforcement = "strict"
    violation_action: ViolationAction = "block"
    status: Status = "active"
    effective_from: dt.datetime | None = None
    effective_until: dt.datetime | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("effective_from", "effective_until")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        ids = [rule.id for rule in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule ids must be unique in a policy; repeated: {repeated}")
        start, end = self.effective_from, self.effective_until
        if start is not None and end is not None and end <= start:
            raise ValueError("effective_until must be later than effective_from")
        return self

    @property
    def title(self) -> str:
        """The policy's name, or its id when it has none."""
        return self.name or self.id
