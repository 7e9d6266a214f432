"""The tool contract: what a tool is, what it accepts and returns, and how it must be run.

``ToolContract`` holds the fields of seed 000's "Tool Definition" / "Tool Schema Standard". It is
data only; the runtime (``fluxio.tools.runtime``) acts on it: arguments and results are checked
against the JSON Schemas, ``timeout``/``retry``/``side_effects``/``idempotent`` become the step's
options, ``status`` and ``sunset_date`` decide whether the tool may run at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal

import jsonschema
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import StepFailed, UsageError

__all__ = [
    "AuditLevel",
    "ErrorSpec",
    "ExecutionMode",
    "RetrySpec",
    "ToolContract",
    "ToolError",
    "ToolStatus",
    "ToolType",
    "check_json_schema",
    "describe_errors",
    "make_contract",
    "semver_key",
]

ToolType = Literal["atomic", "composite", "agent", "mcp"]
ToolStatus = Literal["draft", "active", "deprecated", "retired"]
AuditLevel = Literal["none", "basic", "detailed"]
ExecutionMode = Literal["sync", "async"]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_EMPTY_INPUT: dict[str, Any] = {"type": "object", "properties": {}}


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """A sort key that orders semantic versions (a pre-release sorts before its release)."""
    match = _SEMVER.match(version)
    if match is None:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


class ToolError(StepFailed):
    """Raise from a tool body to fail with one of the contract's typed ``errors``.

    Whether the failure is retried comes from the contract: the matching ``ErrorSpec``'s
    ``recoverable`` (an undeclared code keeps ``retryable``, default true). The code becomes the
    recorded error type, so a ``RetryPolicy(retry_on=("rate_limited",))`` can name it.

    Args:
        code: one of the contract's error codes, e.g. ``"not_found"``.
        message: what happened, for the run's journal and the model.
        retryable: override for codes the contract does not declare.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable, error_type=code)
        self.code = code


class ErrorSpec(BaseModel):
    """One typed error a tool may fail with.

    Args:
        code: a short machine-readable code (``not_found``, ``rate_limited``).
        description: when it happens.
        recoverable: whether trying again may succeed; drives the retry decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    description: str = ""
    recoverable: bool = False


class RetrySpec(BaseModel):
    """The retry policy of a contract, as data (see ``fluxio.RetryPolicy`` for the meaning).

    Seed 000's ``max_retries`` (retries after the first attempt) is accepted as well.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=3, ge=1)
    backoff: Literal["exponential", "linear"] = "exponential"
    initial: float = Field(default=0.2, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_delay: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=0.1, ge=0, le=1)
    retry_on: tuple[str, ...] = ()
    non_retryable: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _accept_policy_and_seed_form(cls, data: Any) -> Any:
        if isinstance(data, RetryPolicy):
            return asdict(data)
        if isinstance(data, Mapping) and "max_retries" in data:
            rest = {k: v for k, v in data.items() if k != "max_retries"}
            retries = data["max_retries"]
            return {**rest, "max_attempts": retries + 1 if isinstance(retries, int) else retries}
        return data

    def policy(self) -> RetryPolicy:
        """The kernel's ``RetryPolicy`` for this spec."""
        return RetryPolicy(**self.model_dump())


class ToolContract(BaseModel):
    """Everything the runtime needs to know about a tool (seed 000 "Tool Definition").

    Build one with ``@tool`` (derived from a typed function), from YAML (``load_tools``) or
    directly. Seed spellings ``tool_id``, ``timeout_ms`` and ``retry_policy`` are accepted.

    Args:
        id: unique identifier; defaults to ``name``.
        name: the name workflows, agents and models call it by.
        description: what it does, in one or two sentences (models read this).
        version: a semantic version; several versions of one name can be registered.
        type: ``atomic`` (one primitive), ``composite``, ``agent`` (another agent) or ``mcp``.
        category: taxonomy classification, e.g. ``files``, ``text``, ``http``.
        tags: free labels for search.
        capabilities: what it can do, for discovery (``send_email``, ``read_file``).
        input_schema: JSON Schema of the arguments object.
        output_schema: JSON Schema of the result; ``None`` leaves results unchecked.
        errors: typed errors it may fail with (see ``ToolError``).
        execution_mode: ``sync`` completes within the call; ``async`` starts a job.
        timeout: seconds each attempt may take; ``None`` means no limit.
        retry: the retry policy; ``None`` means the engine default when idempotent, else none.
        requires: tools that must be registered too.
        conflicts_with: tools it must not be used together with.
        permission_required: the permission a caller needs (checked by governance).
        audit_level: how much governance records about each call.
        side_effects: it changes state outside fluxio.
        idempotent: calling it twice has the effect of calling it once.
        reversible: its effect can be undone; ``reverse_with`` names the tool that does it.
        cost_per_call: USD per call, for budgets.
        expected_latency_ms: typical latency, for planning.
        status: ``draft``, ``active``, ``deprecated`` (runs, with a warning) or ``retired``.
        deprecated_by: the tool replacing this one.
        sunset_date: from this date the tool is treated as retired.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    name: str = Field(pattern=NAME_PATTERN, max_length=128)
    description: str = ""
    version: str = "1.0.0"
    type: ToolType = "atomic"
    category: str = "general"
    tags: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    input_schema: dict[str, Any] = Field(default_factory=lambda: dict(_EMPTY_INPUT))
    output_schema: dict[str, Any] | None = None
    errors: tuple[ErrorSpec, ...] = ()
    execution_mode: ExecutionMode = "sync"
    timeout: float | None = Field(default=None, gt=0)
    retry: RetrySpec | None = None
    requires: tuple[str, ...] = ()
    conflicts_with: tuple[str, ...] = ()
    permission_required: str | None = None
    audit_level: AuditLevel = "basic"
    side_effects: bool = False
    idempotent: bool = True
    reversible: bool = False
    reverse_with: str | None = None
    cost_per_call: float = Field(default=0.0, ge=0)
    expected_latency_ms: float | None = Field(default=None, ge=0)
    status: ToolStatus = "active"
    deprecated_by: str | None = None
    sunset_date: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _seed_spellings(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        renames = {"tool_id": "id", "retry_policy": "retry"}
        for old, new in renames.items():
            if old in data and new not in data:
                data[new] = data.pop(old)
        if "timeout_ms" in data and "timeout" not in data:
            ms = data.pop("timeout_ms")
            data["timeout"] = ms / 1000 if isinstance(ms, int | float) else ms
        if data.get("reverse_with"):
            data.setdefault("reversible", True)
        if not data.get("id") and isinstance(data.get("name"), str):
            data["id"] = data["name"]
        return data

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError(
                f"version {value!r} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. 1.0.0"
            )
        return value

    @field_validator("input_schema", "output_schema")
    @classmethod
    def _valid_json_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            check_json_schema(schema)
        return schema

    @field_validator("input_schema")
    @classmethod
    def _object_arguments(cls, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("type", "object") != "object":
            raise ValueError(
                f"input_schema must describe an object of named arguments (type: object), "
                f"not type {schema.get('type')!r}"
            )
        return schema

    @model_validator(mode="after")
    def _consistent(self) -> ToolContract:
        both = sorted(set(self.requires) & set(self.conflicts_with))
        if both:
            raise ValueError(f"tools {both} are listed in both requires and conflicts_with")
        if self.reverse_with is not None and not self.reversible:
            raise ValueError("reverse_with names a reversal tool but reversible is false")
        return self

    def retry_policy(self) -> RetryPolicy | None:
        """The kernel ``RetryPolicy`` of ``retry``, or ``None`` when the contract names none."""
        return self.retry.policy() if self.retry is not None else None

    def error_spec(self, code: str) -> ErrorSpec | None:
        """The declared error with ``code``, if any."""
        return next((e for e in self.errors if e.code == code), None)

    def effective_status(self, today: dt.date | None = None) -> ToolStatus:
        """``status``, except that a tool past its ``sunset_date`` counts as ``retired``."""
        today = today or dt.datetime.now(dt.UTC).date()
        if self.sunset_date is not None and today >= self.sunset_date:
            return "retired"
        return self.status


def check_json_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem if ``schema`` is not a valid JSON Schema."""
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None


def make_contract(fields: Mapping[str, Any], *, where: str = "") -> ToolContract:
    """Build a ``ToolContract``, turning pydantic's errors into one readable ``UsageError``.

    Args:
        fields: the contract fields.
        where: what is being defined, for the message (default: the tool's name).
    """
    try:
        return ToolContract.model_validate(fields)
    except ValidationError as exc:
        subject = where or f"tool {fields.get('name')!r}"
        raise UsageError(f"{subject} has an invalid contract: {describe_errors(exc)}") from None


def describe_errors(exc: ValidationError) -> str:
    """Pydantic validation errors as one sentence: ``field 'version': <problem>; ...``."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"field {where!r}: {message}" if where else message)
    return "; ".join(parts)
