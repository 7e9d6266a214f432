"""What a policy condition can see: an ``Action`` and the CEL context built from it.

The governance interceptor fills an ``Action`` from the step about to run (``action_from_step``:
the ``ExecuteStepInput``, the tool contract in its metadata, the actor); the CLI builds one from
JSON (``action_from_json``). ``build_context`` turns it into the variables CEL conditions use:

| variable    | fields                                                                          |
|-------------|---------------------------------------------------------------------------------|
| `actor`     | `id`, `type` (user, agent, system), `roles` (list)                              |
| `tenant`    | the tenant id (string)                                                          |
| `agent`     | `id`, `name`, `autonomy` (0-5); `id` is `""` and `autonomy` 5 when no agent acts |
| `tool`      | the tool contract: `name`, `category`, `tags`, `side_effects`, `idempotent`,    |
|             | `permission_required` (`""` if none), `cost_per_call`, ... (`name` `""` if none) |
| `arguments` | the call's arguments (a tool's input; a model request as JSON)                  |
| `run`       | `id`, `workflow`, `step` (the step key)                                         |
| `budget`    | `spent_usd`, `limit_usd`, `remaining_usd` (infinite without a limit), `tokens`  |
| `time`      | `now` (ISO 8601, UTC), `date`, `hour`, `minute`, `weekday` (1 Monday - 7 Sunday) |
| `action`    | `kind` (tool, model, step), `name`, `side_effects`                              |
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.errors import UsageError

__all__ = [
    "CONTEXT_VARIABLES",
    "Action",
    "ActionKind",
    "ActionSpec",
    "Actor",
    "AgentRef",
    "BudgetState",
    "action_from_json",
    "action_from_step",
    "build_context",
    "step_action",
    "tool_facts",
]

ActionKind = Literal["tool", "model", "step"]
ActorType = Literal["user", "agent", "system"]

CONTEXT_VARIABLES = frozenset(
    {"actor", "tenant", "agent", "tool", "arguments", "run", "budget", "time", "action"}
)
"""The names a policy condition may refer to."""

_TOOL_DEFAULTS: dict[str, Any] = {
    "name": "",
    "version": "",
    "description": "",
    "category": "",
    "type": "atomic",
    "tags": [],
    "capabilities": [],
    "side_effects": False,
    "idempotent": True,
    "permission_required": "",
    "cost_per_call": 0.0,
    "audit_level": "",
    "reversible": False,
    "status": "active",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for the action: a user, an agent, or fluxio itself."""

    id: str = "system"
    type: ActorType = "system"
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The agent on whose behalf the action runs, with its autonomy level (0-5)."""

    id: str
    name: str = ""
    autonomy: int = 5


@dataclass(frozen=True, slots=True)
class BudgetState:
    """Money and tokens spent so far against the budget that applies; ``None``: no limit."""

    spent_usd: float = 0.0
    limit_usd: float | None = None
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class Action:
    """One action about to happen, as policies and the autonomy ladder see it.

    Args:
        kind: ``tool``, ``model`` or ``step``.
        name: the tool's, model's or step's name.
        arguments: the call's JSON-compatible arguments.
        actor: who asked for it.
        tenant: the tenant it runs in.
        tool: the tool contract (a mapping or the ``ToolContract``), for tool calls.
        agent: the agent acting, if any.
        run_id: the run it belongs to.
        workflow: the run's workflow.
        step: the step key.
        budget: the budget state, if a budget applies.
        side_effects: whether the action changes the world outside fluxio; ``None`` takes it
            from the tool contract (false without one).
        now: the time to evaluate at; ``None`` means the engine's clock.
    """

    kind: ActionKind
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    actor: Actor = Actor()
    tenant: str = "default"
    tool: Mapping[str, Any] | Any | None = None
    agent: AgentRef | None = None
    run_id: str = ""
    workflow: str = ""
    step: str = ""
    budget: BudgetState | None = None
    side_effects: bool | None = None
    now: dt.datetime | None = None

    @property
    def changes_world(self) -> bool:
        """Whether the action has side effects (from ``side_effects`` or the tool contract)."""
        if self.side_effects is not None:
            return self.side_effects
        if isinstance(self.tool, Mapping):
            return bool(self.tool.get("side_effects", False))
        return bool(getattr(self.tool, "side_effects", False))


def build_context(
    action: Action, now: dt.datetime | float, only: frozenset[str] | None = None
) -> dict[str, Any]:
    """The CEL variables for ``action`` at ``now`` (see the module table).

    Args:
        action: the action.
        now: the time (a datetime, or seconds since the epoch); ``action.now`` wins.
        only: build just these variables (the ones the conditions at hand read).
    """
    builders = _BUILDERS if only is None else [b for b in _BUILDERS if b[0] in only]
    return {name: build(action, now) for name, build in builders}


def _moment(action: Action, now: dt.datetime | float) -> dt.datetime:
    if action.now is not None:
        return action.now.astimezone(dt.UTC)
    if isinstance(now, dt.datetime):
        return now.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(now, dt.UTC)


def _arguments(action: Action) -> dict[str, Any]:
    return action.arguments if isinstance(action.arguments, dict) else dict(action.arguments)


_BUILDERS: list[tuple[str, Any]] = [
    ("actor", lambda a, _: {"id": a.actor.id, "type": a.actor.type, "roles": a.actor.roles}),
    ("tenant", lambda a, _: a.tenant),
    ("agent", lambda a, _: _agent(a.agent)),
    ("tool", lambda a, _: tool_facts(a.tool, a.name if a.kind == "tool" else "")),
    ("arguments", lambda a, _: _arguments(a)),
    ("run", lambda a, _: {"id": a.run_id, "workflow": a.workflow, "step": a.step}),
    ("budget", lambda a, _: _budget(a.budget)),
    ("time", lambda a, now: _time(_moment(a, now))),
    ("action", lambda a, _: {"kind": a.kind, "name": a.name, "side_effects": a.changes_world}),
]


def tool_facts(contract: Any, name: str = "") -> dict[str, Any]:
    """The documented fields of a tool contract (a mapping or an object), with defaults."""
    facts = dict(_TOOL_DEFAULTS, name=name)
    if contract is None:
        return facts
    if isinstance(contract, Mapping):
        facts.update({k: _plain(v) for k, v in contract.items() if k != "input_schema"})
    else:
        for key in _TOOL_DEFAULTS:
            if hasattr(contract, key):
                facts[key] = _plain(getattr(contract, key))
    if facts["permission_required"] is None:
        facts["permission_required"] = ""
    return facts


def _agent(agent: AgentRef | None) -> dict[str, Any]:
    if agent is None:
        return {"id": "", "name": "", "autonomy": 5}
    return {"id": agent.id, "name": agent.name or agent.id, "autonomy": agent.autonomy}


def _budget(budget: BudgetState | None) -> dict[str, Any]:
    state = budget or BudgetState()
    limit = math.inf if state.limit_usd is None else float(state.limit_usd)
    return {
        "spent_usd": float(state.spent_usd),
        "limit_usd": limit,
        "remaining_usd": limit - float(state.spent_usd),
        "tokens": state.tokens,
    }


def _time(now: dt.datetime) -> dict[str, Any]:
    return {
        "now": now.isoformat(),
        "date": now.date().isoformat(),
        "hour": now.hour,
        "minute": now.minute,
        "weekday": now.isoweekday(),
    }


def _plain(value: Any) -> Any:
    """``value`` as JSON-like data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return str(value)


def step_action(input: ExecuteStepInput) -> tuple[ActionKind, str]:
    """The kind (``tool``, ``model`` or ``step``) and name of the action a step performs."""
    meta = input.options.metadata
    raw = meta.get("kind")
    kind: ActionKind = "tool" if raw == "tool" else "model" if raw == "model" else "step"
    return kind, str(meta.get(kind, input.name)) if kind != "step" else input.name


def action_from_step(
    input: ExecuteStepInput,
    *,
    actor: Actor = Actor(),
    agent: AgentRef | None = None,
    budget: BudgetState | None = None,
) -> Action:
    """The ``Action`` a step is about to perform, read from its input and metadata.

    A tool call carries ``metadata == {"kind": "tool", "tool": name, "tool_contract": ...}`` and
    its arguments as the only positional argument; a model call carries ``{"kind": "model",
    "model": name}`` and a ``ModelRequest``; anything else is a plain ``step``.
    """
    meta = input.options.metadata
    kind, name = step_action(input)
    if kind == "step":
        arguments: Any = {"args": _plain(input.args), "kwargs": _plain(input.kwargs)}
    else:
        arguments = _plain(input.args[0]) if input.args else {}
    return Action(
        kind=kind,
        name=name,
        arguments=arguments if isinstance(arguments, dict) else {"value": arguments},
        actor=actor,
        tenant=input.tenant_id,
        tool=meta.get("tool_contract"),
        agent=agent,
        run_id=input.run_id,
        workflow=input.workflow,
        step=input.step_key,
        budget=budget,
        side_effects=input.options.side_effects,
    )


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ActorSpec(_Spec):
    id: str = "system"
    type: ActorType = "system"
    roles: tuple[str, ...] = ()


class _AgentSpec(_Spec):
    id: str
    name: str = ""
    autonomy: int = Field(5, ge=0, le=5)


class _BudgetSpec(_Spec):
    spent_usd: float = 0.0
    limit_usd: float | None = None
    tokens: int = 0


class _ActionSpec(_Spec):
    kind: ActionKind | None = None
    name: str | None = None


class _RunSpec(_Spec):
    id: str = ""
    workflow: str = ""
    step: str = ""


class ActionSpec(_Spec):
    """An action written as JSON, e.g. for ``fluxio policy test --action``."""

    tool: dict[str, Any] | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    actor: _ActorSpec = _ActorSpec()
    agent: _AgentSpec | None = None
    tenant: str = "default"
    run: _RunSpec = _RunSpec()
    budget: _BudgetSpec | None = None
    time: dict[Literal["now"], dt.datetime] = Field(default_factory=dict)
    action: _ActionSpec = _ActionSpec()


def action_from_json(data: Any) -> Action:
    """An ``Action`` from JSON data shaped like the CEL context (``tool``, ``arguments``...).

    Raises:
        UsageError: the data does not describe an action; says which field is wrong.
    """
    try:
        spec = ActionSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the action"
        raise UsageError(
            f"the action JSON is invalid at {where}: {first['msg']}; expected keys: tool, "
            "arguments, actor, agent, tenant, run, budget, time, action"
        ) from None
    return _action(spec)


def _action(spec: ActionSpec) -> Action:
    tool = spec.tool
    kind: ActionKind = spec.action.kind or ("tool" if tool is not None else "step")
    name = spec.action.name or (str(tool.get("name", "")) if tool else "") or kind
    now = spec.time.get("now")
    return Action(
        kind=kind,
        name=name,
        arguments=spec.arguments,
        actor=Actor(spec.actor.id, spec.actor.type, spec.actor.roles),
        tenant=spec.tenant,
        tool=tool,
        agent=AgentRef(**spec.agent.model_dump()) if spec.agent else None,
        run_id=spec.run.id,
        workflow=spec.run.workflow,
        step=spec.run.step,
        budget=BudgetState(**spec.budget.model_dump()) if spec.budget else None,
        now=now.replace(tzinfo=now.tzinfo or dt.UTC) if now else None,
    )
