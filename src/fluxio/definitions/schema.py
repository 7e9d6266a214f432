"""The YAML/JSON workflow schema (seed ``000`` Workflow) as pydantic models.

These models only check shape and types; cross-references (step ids, tools, expressions) are
checked afterwards by ``fluxio.definitions.plan``. Unknown fields are refused so that a typo
never silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "BranchSpec",
    "OutputSpec",
    "RetryConfigSpec",
    "StepSpec",
    "TriggerSpec",
    "WaitForSpec",
    "WorkflowSpec",
    "parse_duration",
]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: Any) -> Any:
    """Seconds from a number or a string like ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30, '30s', '5m', '2h'")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
StepIds = Annotated[list[str], BeforeValidator(_as_list)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TriggerSpecification(_Spec):
    """Trigger details: ``cron`` (scheduled), ``event_type``/``filter`` (event), ``condition``."""

    cron: str | None = None
    event_type: str | None = None
    filter: dict[str, Any] | None = None
    condition: str | None = None


class TriggerSpec(_Spec):
    """What starts the workflow. Triggers run with ``fluxio.triggers``; here they are checked."""

    type: Literal["manual", "scheduled", "event", "condition"] = "manual"
    specification: TriggerSpecification = TriggerSpecification()


class RetryConfigSpec(_Spec):
    """How a failing step is retried; maps onto ``fluxio.engine.options.RetryPolicy``."""

    max_attempts: int = Field(3, ge=1)
    backoff: Literal["linear", "exponential"] = "exponential"
    initial_delay: Duration = 1.0
    max_delay: Duration = 60.0
    multiplier: float = Field(2.0, ge=1.0)


class WaitForSpec(_Spec):
    """What a ``wait`` step waits for: an ``approval``, an ``event`` or a ``duration``."""

    type: Literal["approval", "event", "duration"]
    event: str | None = None
    duration: Duration | None = None
    timeout: Duration | None = None
    on_timeout: Literal["fail", "skip", "approve"] = "fail"


def _wait_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


class BranchSpec(_Spec):
    """One decision branch: when the CEL condition holds, go to these steps."""

    when: str = Field(validation_alias=AliasChoices("when", "condition"))
    goto: StepIds = Field(validation_alias=AliasChoices("goto", "next", "next_step"))


class StepSpec(_Spec):
    """One step of a workflow, as written in the file."""

    id: str = Field(validation_alias=AliasChoices("id", "step_id"))
    type: str
    name: str | None = None
    description: str | None = None
    tool: str | None = None
    agent: str | None = None
    workflow: str | None = None
    executor: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    depends_on: StepIds = Field(default_factory=list)
    on_error: Literal["fail", "retry", "skip", "branch"] = "fail"
    on_error_goto: str | None = None
    retry_config: RetryConfigSpec | None = None
    timeout: Duration | None = None
    approval: bool = False
    wait_for: Annotated[WaitForSpec | None, BeforeValidator(_wait_shorthand)] = None
    branches: list[BranchSpec] = Field(default_factory=list)
    default: StepIds = Field(default_factory=list)


class OutputSpec(_Spec):
    """A workflow output in the seed's list form: ``{name, source}``."""

    name: str
    source: Any


class WorkflowSpec(_Spec):
    """A whole workflow definition file."""

    name: str = Field(min_length=1)
    workflow_id: str | None = None
    description: str = ""
    version: Annotated[str | None, BeforeValidator(_as_str)] = None
    trigger: TriggerSpec = TriggerSpec()
    steps: list[StepSpec] = Field(min_length=1)
    outputs: dict[str, Any] | list[OutputSpec] | None = None
    approval_points: StepIds = Field(default_factory=list)
    rollback_strategy: Literal["manual", "automatic", "none"] = "none"
    owner: str | None = None
    created_at: dt.datetime | dt.date | str | None = None
    status: Literal["draft", "active", "paused", "deprecated"] = "active"
