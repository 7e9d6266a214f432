"""Holding a step for approval inside run code: a durable kernel wait, not a blocked task.

``hold`` journals every move, so a restarted worker replays to the same place:

1. ``governance:approval.open``: the request is stored (idempotently) and audited;
2. ``ctx.wait_for("approval:<id>", timeout=<next escalation or expiry>)``: the run is evicted
   and holds no memory until a decision's signal or the timer wakes it;
3. on the signal, ``governance:approval.read`` reads the decision from the approval store (the
   signal only wakes the run, so a forged signal decides nothing) and lets the desk learn
   from it (learned auto-approval); on the timer,
   ``governance:approval.timer`` escalates or expires the request; then back to 2 until the
   request is decided.
"""

from __future__ import annotations

from typing import Any

from fluxio.engine.clock import Clock
from fluxio.engine.context import RunContext
from fluxio.engine.options import StepOptions
from fluxio.errors import StepTimeout
from fluxio.governance.approvals.decisions import Approvals
from fluxio.governance.approvals.request import ApprovalRequest

__all__ = ["GOVERNANCE_KIND", "INTERNAL", "hold"]

GOVERNANCE_KIND = "governance"
INTERNAL = StepOptions(metadata={"kind": GOVERNANCE_KIND})
"""Options of governance's own journaled steps: guards admit them without a decision."""


async def hold(
    ctx: RunContext, approvals: Approvals, request: ApprovalRequest, clock: Clock
) -> ApprovalRequest:
    """Open ``request`` and wait durably until it is decided; returns the decided request."""

    async def open_request(data: dict[str, Any]) -> dict[str, Any]:
        return (await approvals.open(ApprovalRequest.from_dict(data))).to_dict()

    current = await _journaled(ctx, "open", open_request, request.to_dict())
    while current.pending:
        deadline = current.next_deadline()
        timeout = None if deadline is None else max(deadline - clock.now(), 0.0)
        try:
            await ctx.wait_for(current.signal, timeout=timeout, reason="approval")
        except StepTimeout:
            current = await _journaled(ctx, "timer", _timer(approvals, current), None)
        else:
            current = await _journaled(ctx, "read", _read(approvals, current), None)
    return current


def _timer(approvals: Approvals, request: ApprovalRequest) -> Any:
    async def timer(_: Any) -> dict[str, Any]:
        return (await approvals.on_timer(request.tenant_id, request.approval_id)).to_dict()

    return timer


def _read(approvals: Approvals, request: ApprovalRequest) -> Any:
    async def read(_: Any) -> dict[str, Any]:
        current = await approvals.get(request.tenant_id, request.approval_id)
        if not current.pending:
            await approvals.patterns.learn(current)
        return current.to_dict()

    return read


async def _journaled(ctx: RunContext, what: str, body: Any, arg: Any) -> ApprovalRequest:
    data = await ctx.step(body, arg, name=f"governance:approval.{what}", options=INTERNAL)
    return ApprovalRequest.from_dict(data)
