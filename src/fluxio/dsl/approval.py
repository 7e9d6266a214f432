"""``Approval``: stop the run until a human approves, rejects, or approves an edited value.

The run waits (holding no memory) for the signal ``approval:<name>`` whose payload is::

    {"decision": "approve" | "reject", "payload": <edited value, optional>,
     "note": "why", "by": "who"}

Approve passes the input on (or the edited ``payload``, converted to the input's type);
reject raises ``ApprovalRejected`` naming who rejected and their note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from fluxio.dsl.base import In, Step
from fluxio.dsl.context import Context
from fluxio.errors import DefinitionError, StepFailed, StepTimeout

__all__ = ["APPROVAL_PREFIX", "Approval", "ApprovalRejected"]

APPROVAL_PREFIX = "approval:"
"""An approval named ``x`` waits for the signal ``approval:x``."""


class ApprovalRejected(StepFailed):
    """A human (or the approval's timeout) rejected the step; never retried.

    Attributes:
        approval: the approval's name.
        by: who rejected (``"timeout"`` when the approval timed out).
        note: the reason they gave.
    """

    def __init__(self, approval: str, by: str, note: str) -> None:
        reason = f": {note}" if note else " (no note given)"
        super().__init__(f"approval {approval!r} was rejected by {by}{reason}", retryable=False)
        self.approval = approval
        self.by = by
        self.note = note


class Approval(Step[In, In]):
    """Wait for a human decision on the current value.

    Args:
        name: names the approval; the run waits for the signal ``approval:<name>``.
        timeout: seconds to wait for a decision (default: forever).
        on_timeout: ``reject`` (raise ``ApprovalRejected`` by ``"timeout"``) or ``approve``
            (pass the input on) when the timeout passes.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float | None = None,
        on_timeout: Literal["reject", "approve"] = "reject",
    ) -> None:
        if not name:
            raise DefinitionError("Approval needs a name; it is part of the signal name.")
        if on_timeout not in ("reject", "approve"):
            raise DefinitionError(
                f"Approval on_timeout must be 'reject' or 'approve', got {on_timeout!r}."
            )
        if timeout is not None and timeout <= 0:
            raise DefinitionError(f"Approval timeout must be positive seconds, got {timeout!r}.")
        self.name = name
        self.signal = APPROVAL_PREFIX + name
        self.timeout = timeout
        self.on_timeout = on_timeout

    async def run(self, ctx: Context, input: In) -> In:
        """Wait for the decision; return the (possibly edited) input or raise on reject."""
        try:
            decision = await ctx.wait_for(self.signal, timeout=self.timeout, reason="approval")
        except StepTimeout:
            if self.on_timeout == "approve":
                return input
            raise ApprovalRejected(
                self.name, "timeout", f"no decision within {self.timeout:g}s"
            ) from None
        return self._apply(ctx, decision, input)

    def _apply(self, ctx: Context, decision: Any, input: In) -> In:
        if not isinstance(decision, Mapping) or decision.get("decision") not in (
            "approve",
            "reject",
        ):
            raise StepFailed(
                f"approval {self.name!r} of run {ctx.run_id} got the signal payload "
                f"{decision!r}; send {{'decision': 'approve' or 'reject', 'note': ..., "
                "'by': ...}, optionally with an edited 'payload'.",
                retryable=False,
                error_type="InvalidApproval",
            )
        by, note = str(decision.get("by") or "someone"), str(decision.get("note") or "")
        if decision["decision"] == "reject":
            raise ApprovalRejected(self.name, by, note)
        edited = decision.get("payload")
        if edited is None:
            return input
        try:
            return _like(input, edited)
        except ValidationError as exc:
            raise StepFailed(
                f"approval {self.name!r} of run {ctx.run_id} was approved with an edited "
                f"payload that is not a valid {type(input).__name__}: {exc.errors()[:3]}",
                retryable=False,
                error_type="InvalidApproval",
            ) from exc


def _like(original: In, edited: Any) -> In:
    """The edited value, converted to the original's model or dataclass type."""
    kind = type(original)
    if isinstance(original, BaseModel) or dataclasses.is_dataclass(original):
        converted: In = TypeAdapter(kind).validate_python(edited)
        return converted
    result: In = edited
    return result
