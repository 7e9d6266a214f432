"""``AuditInterceptor``: one audit entry for every step, tool call and model call a run makes.

Put it in ``Engine(interceptors=[...])``. After a step's attempts finish it appends
``tool.called``, ``model.called`` or ``step.completed`` (``step.failed`` when the step raised)
with the run and step as the request id, digests of the arguments and the result, the
duration, the outcome (``denied`` for ``PolicyDenied``) and, for tools, the reversibility from
the tool's contract. Payloads are not recorded: only digests, which prove what went in and
came out without keeping it.

If the entry cannot be written the step fails with the log's error (fail closed): an action
that cannot be audited does not count as done.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fluxio.engine.interceptors import ExecuteStepInput, Next
from fluxio.errors import PolicyDenied
from fluxio.governance.audit.canonical import digest
from fluxio.governance.audit.entry import Actor, AuditEvent, AuditResult, Reversibility
from fluxio.governance.audit.log import AuditLog

__all__ = [
    "AuditInterceptor",
    "error_name",
    "inputs_digest",
    "step_reversibility",
    "step_target",
    "value_digest",
]


class AuditInterceptor:
    """Records every step execution in an audit log.

    Args:
        log: where entries go.
        actor: who acts; by default the run's workflow (``Actor(workflow, "workflow")``).
    """

    def __init__(self, log: AuditLog, *, actor: Actor | None = None) -> None:
        self.log = log
        self.actor = actor

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        """Run the step, then append its audit entry (also when it failed)."""
        started = time.perf_counter()
        try:
            result = await next(input)
        except Exception as exc:
            denied = isinstance(exc, PolicyDenied) or error_name(exc) == "PolicyDenied"
            outcome: AuditResult = "denied" if denied else "failure"
            await self.log.append(self._event(input, started, outcome, None, exc))
            raise
        await self.log.append(self._event(input, started, "success", result, None))
        return result

    def _event(
        self,
        input: ExecuteStepInput,
        started: float,
        outcome: AuditResult,
        result: Any,
        error: Exception | None,
    ) -> AuditEvent:
        return AuditEvent(
            tenant_id=input.tenant_id,
            actor=self.actor or Actor(input.workflow, "workflow"),
            action=_action(input.options.metadata, failed=error is not None),
            target=step_target(input),
            result=outcome,
            run_id=input.run_id,
            step_key=input.step_key,
            inputs_digest=inputs_digest(input),
            outputs_digest=None if error is not None else value_digest(result),
            duration_ms=(time.perf_counter() - started) * 1000,
            error=error_name(error),
            policies_violated=tuple(getattr(error, "policies", ())),
            reversibility=step_reversibility(input),
        )


def error_name(error: BaseException | None) -> str | None:
    """A failed step's short error code: its ``error_type``, else the exception's class."""
    if error is None:
        return None
    return str(getattr(error, "error_type", None) or type(error).__name__)


def _action(metadata: Mapping[str, Any], *, failed: bool) -> str:
    kind = metadata.get("kind")
    if kind in ("tool", "model"):
        return f"{kind}.called"
    return "step.failed" if failed else "step.completed"


def step_target(input: ExecuteStepInput) -> str:
    """``tool:<name>``, ``model:<name>`` or ``step:<name>``."""
    metadata = input.options.metadata
    kind = metadata.get("kind")
    if kind in ("tool", "model") and metadata.get(kind):
        return f"{kind}:{metadata[kind]}"
    return f"step:{input.name}"


def step_reversibility(input: ExecuteStepInput) -> Reversibility | None:
    """``reversible`` per the tool contract, ``irreversible`` for other side effects."""
    contract = input.options.metadata.get("tool_contract")
    if getattr(contract, "reversible", False):
        return "reversible"
    return "irreversible" if input.options.side_effects else None


def inputs_digest(input: ExecuteStepInput) -> str:
    """The digest of a step's arguments (``[args, kwargs]``)."""
    if not input.args and not input.kwargs:
        return _NO_INPUTS
    return value_digest([list(input.args), dict(input.kwargs)])


def value_digest(value: Any) -> str:
    """The digest of a value's JSON form (pydantic models dumped first; else its repr)."""
    if value is None:
        return _NONE
    try:
        return digest(_plain(value))
    except (TypeError, ValueError):
        return digest({"repr": repr(value)})


_NO_INPUTS = digest([[], {}])
_NONE = digest(None)


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value
