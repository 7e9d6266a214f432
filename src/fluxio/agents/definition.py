"""``AgentDefinition``: what an agent is, what it may use, and how it must be run.

The fields are seed 000's "Agent Definition" (identity, classification, capabilities, model,
context, execution, governance, performance, lifecycle) plus seed 004's YAML form (``type``
llm | http | fsm | human_task | custom, ``role``, ``model`` as a mapping, ``memory``,
``planner``, ``tools``, ``policies``). Seed spellings are accepted: ``agent_id``,
``timeout_seconds``, ``retry_policy``/``retry``, ``concurrency``, ``tools`` (required tools),
and ``temperature``/``max_tokens`` inside a ``model`` mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import UsageError
from fluxio.models import ModelConfig
from fluxio.tools.contract import RetrySpec, check_json_schema, describe_errors

__all__ = [
    "AgentDefinition",
    "AgentStatus",
    "AgentType",
    "AuditLevel",
    "make_definition",
    "workflow_name",
]

AgentType = Literal["llm", "http", "fsm", "human_task", "custom"]
AgentStatus = Literal["draft", "active", "deprecated", "retired"]
AuditLevel = Literal["minimal", "standard", "detailed"]

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)
_RENAMES = {
    "agent_id": "id",
    "timeout_seconds": "timeout",
    "retry_policy": "retry",
    "concurrency": "concurrency_limit",
    "tools": "required_tools",
    "expected_cost_per_call": "expected_cost",
}


class AgentDefinition(BaseModel):
    """An agent: seed 000's Agent Definition with seed 004's YAML form.

    Build one in Python (``AgentDefinition(name="triager", tools=["read_file"])``) or load it
    from YAML with ``load_agents``.

    Args:
        id: unique identifier; defaults to ``name``.
        name: the name callers, workflows and other agents use (``agent:<name>`` is its run).
        version: a semantic version; several versions of one agent can be registered.
        description: what the agent does (a supervisor's model reads it when delegating).
        owner: who maintains it.
        type: ``llm`` runs the tool-calling loop; ``http``, ``fsm``, ``human_task`` and
            ``custom`` are accepted and stored (they run with the planners, a later release).
        role: a one-line semantic description, added to the system prompt.
        category: domain classification.
        tags: searchable labels.
        capabilities: what it can do, for discovery.
        required_tools: tools it needs (``tools`` in YAML); all must be registered.
        optional_tools: tools it uses when they are registered.
        delegates: agents it may hand work to; each becomes a tool named after the agent.
        model: a model name (looked up in the runtime's models), a spec string
            (``openai:gpt-4o-mini``) or a model config mapping; ``None`` uses the runtime's.
        system_prompt: base instructions.
        temperature: sampling temperature.
        max_tokens: answer length limit per model call.
        required_context: context keys every task must provide.
        optional_context: context keys that help when given.
        input_schema: JSON Schema the task must match (when the task is data).
        output_schema: JSON Schema of the final answer; the answer is then parsed as JSON.
        timeout: seconds a task may take, from its start (a durable deadline).
        max_iterations: model calls per task before it stops.
        max_tool_calls: tool calls per task before it stops.
        retry: retry policy of each model call (default: the models' ``MODEL_RETRY``).
        concurrency_limit: most tasks of this agent executing at once (across workers).
        approval_required: each task waits for a person's approval before it executes.
        approval_roles: who may approve.
        audit_level: how much governance records.
        autonomy: the autonomy level (0-5) governance applies to its actions.
        policies: names of the policies that apply to it.
        memory: memory settings (stored; used by the memory subsystem).
        planner: planner settings (stored; used by the planners).
        config: type-specific settings (e.g. a human_task agent's assignment rules).
        expected_latency_ms: typical time per task.
        expected_cost: typical USD per task.
        status: ``draft`` (cannot be deployed), ``active``, ``deprecated`` (runs, logs a
            warning) or ``retired`` (refused).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    version: str = "1.0.0"
    description: str = ""
    owner: str = ""
    type: AgentType = "llm"
    role: str = ""
    category: str = "general"
    tags: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    required_tools: tuple[str, ...] = ()
    optional_tools: tuple[str, ...] = ()
    delegates: tuple[str, ...] = ()
    model: str | dict[str, Any] | None = None
    system_prompt: str = ""
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    required_context: tuple[str, ...] = ()
    optional_context: tuple[str, ...] = ()
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    timeout: float | None = Field(default=300.0, gt=0)
    max_iterations: int = Field(default=10, ge=1, le=10_000)
    max_tool_calls: int = Field(default=50, ge=0, le=100_000)
    retry: RetrySpec | None = None
    concurrency_limit: int | None = Field(default=None, ge=1)
    approval_required: bool = False
    approval_roles: tuple[str, ...] = ()
    audit_level: AuditLevel = "standard"
    autonomy: int | None = Field(default=None, ge=0, le=5)
    policies: tuple[str, ...] = ()
    memory: dict[str, Any] = Field(default_factory=dict)
    planner: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    expected_latency_ms: float | None = Field(default=None, ge=0)
    expected_cost: float | None = Field(default=None, ge=0)
    status: AgentStatus = "active"

    @model_validator(mode="before")
    @classmethod
    def _seed_spellings(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for old, new in _RENAMES.items():
            if old in data:
                if new in data:
                    raise ValueError(f"give either `{old}` or `{new}`, not both")
                data[new] = data.pop(old)
        model = data.get("model")
        if isinstance(model, Mapping):
            model = dict(model)
            for key in ("temperature", "max_tokens"):
                if key in model:
                    data.setdefault(key, model.pop(key))
            data["model"] = model
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

    @field_validator("model")
    @classmethod
    def _model_config(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if isinstance(value, dict):
            try:
                ModelConfig.model_validate(value)
            except ValidationError as exc:
                raise ValueError(f"invalid model config: {describe_errors(exc)}") from None
        return value

    @field_validator("input_schema", "output_schema")
    @classmethod
    def _json_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            check_json_schema(schema)
        return schema

    @model_validator(mode="after")
    def _consistent(self) -> AgentDefinition:
        both = sorted(set(self.required_tools) & set(self.optional_tools))
        if both:
            raise ValueError(f"tools {both} are listed as both required and optional")
        if self.name in self.delegates:
            raise ValueError(f"agent {self.name!r} lists itself in delegates")
        return self

    @property
    def workflow(self) -> str:
        """The engine workflow its tasks run as: ``agent:<name>``."""
        return workflow_name(self.name)

    @property
    def queue(self) -> str:
        """The queue its tasks go to, where its concurrency limit applies: ``agent:<name>``."""
        return workflow_name(self.name)

    @property
    def tools(self) -> tuple[str, ...]:
        """Every tool it may call: required, then optional."""
        return (*self.required_tools, *self.optional_tools)

    @property
    def model_name(self) -> str | None:
        """The model's name as runtimes look it up: the string, or the mapping's ``name``."""
        if isinstance(self.model, str):
            return self.model
        if isinstance(self.model, dict):
            return str(self.model.get("name") or self.model.get("model") or "") or None
        return None

    def retry_policy(self) -> RetryPolicy | None:
        """The model calls' retry policy, or ``None`` for the models' default."""
        return self.retry.policy() if self.retry is not None else None


def workflow_name(agent: str) -> str:
    """The workflow (and queue) name of an agent's tasks."""
    return f"agent:{agent}"


def make_definition(fields: Mapping[str, Any], *, where: str = "") -> AgentDefinition:
    """Build an ``AgentDefinition``, turning pydantic's errors into one readable ``UsageError``.

    Args:
        fields: the definition's fields.
        where: what is being defined, for the message (default: the agent's name).
    """
    try:
        return AgentDefinition.model_validate(fields)
    except ValidationError as exc:
        subject = where or f"agent {fields.get('name')!r}"
        raise UsageError(f"{subject} is invalid: {describe_errors(exc)}") from None
