"""``Governance``: the one step guard that decides, holds, meters, redacts and audits.

Put it in ``Engine(interceptors=[governance])``. For every step, tool call and model call,
before anything about it is journaled (``admit_step``, in run code):

1. **judge** (``verdict.Judge``): policies, the autonomy ladder and checkpoint triggers give
   one verdict (deny > draft > approval > allow); ``transform`` rules rewrite the arguments
   (redaction) before they leave. The verdict is journaled when it counts limits, so a
   replay never counts twice;
2. **meter**: the budget gate reserves the estimated cost (journaled); a hard budget refuses
   here, before the call;
3. **hold**: an action that needs approval waits durably (``approvals.hold``) for a person;
   the approved action is judged again with ``approved=True`` (limits count now, and an
   edited call must still pass the policies).

Around the execution (``execute_step``) it settles the budget with the actual cost and
records the call's audit entry (with the policies evaluated and violated and the approval).
A denial, a draft, an approval request or decision, and a budget event each get their own
entry (see ``trail``). A clean ``allow`` is remembered when nothing but the call itself can
change it (``Judge.remembered``), so a repeated call is not evaluated again.

As a ``RunObserver`` it also hears runs start and end: it records ``run.started`` and
``run.completed`` / ``failed`` / ``cancelled``, and withdraws the open approval requests of a
run that ended. Starting a child run passes ``admit_step`` too (``child:<workflow>``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import BaseModel

from fluxio.dsl.options import NO_RETRY
from fluxio.engine.clock import Clock, SystemClock
from fluxio.engine.context import RunContext
from fluxio.engine.interceptors import ExecuteStepInput, Next
from fluxio.errors import PolicyDenied
from fluxio.governance.approvals import (
    GOVERNANCE_KIND,
    INTERNAL,
    ApprovalRequest,
    Approvals,
    Checkpoints,
    hold,
)
from fluxio.governance.audit import AuditLog
from fluxio.governance.autonomy import AutonomySettings
from fluxio.governance.budgets.gate import BudgetGate, CostEstimate, Reservation, estimate_step
from fluxio.governance.budgets.model import agent_of
from fluxio.governance.meter import Meter
from fluxio.governance.policies import (
    Action,
    Actor,
    AgentRef,
    BudgetState,
    PolicyEngine,
    action_from_step,
)
from fluxio.governance.policies.context import step_action, tool_facts
from fluxio.governance.trail import (
    AuditTrail,
    audit_actor,
    call_event,
    decision_event,
    run_event,
)
from fluxio.governance.verdict import Judge, Verdict
from fluxio.store.base import Store
from fluxio.store.records import Run

__all__ = ["Admission", "Governance", "Identity", "default_identity"]

log = logging.getLogger("fluxio.governance")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a step acts for: the actor (four-eyes, policy scope) and the agent, if any."""

    actor: Actor
    agent: AgentRef | None = None


def default_identity(step: ExecuteStepInput) -> Identity:
    """Who ``step`` acts for: its agent, or else its workflow.

    An agent's step (``metadata["agent"]``, or any step of a run of ``agent:<name>``) acts as
    that agent; any other step acts as its workflow (a ``system`` actor).
    """
    agent = agent_of(step)
    if agent:
        return Identity(Actor(agent, "agent"), AgentRef(agent, agent))
    return Identity(Actor(step.workflow, "system"))


@dataclass(frozen=True, slots=True)
class Admission:
    """What governance decided about a step it let run (read back by ``execute_step``)."""

    run_id: str
    step_key: str
    identity: Identity
    verdict: Verdict
    approval_id: str | None = None
    reservation: Reservation | None = None


class Governance:
    """The governance guard: policies, autonomy, checkpoints, approvals, budgets, audit.

    Args:
        policies: rules every action is evaluated against.
        autonomy: levels per tenant, agent and tool (seed 000's ladder).
        checkpoints: risky operations that pause for approval (seed 001).
        approvals: where held actions wait for people; without it, an action that needs
            approval is denied.
        budget: reserves each step's estimated cost and settles the actual one.
        audit: where every decision, call, approval and budget event is recorded.
        store: the engine's store; a ``SQLiteStore`` on the audit log's file lets audit
            entries share the step's commit.
        redact: applied to every audit payload and approval detail
            (``redact_value(Redactor())``).
        identify: who a step acts for (default ``default_identity``).
        clock: the engine's clock (escalation and expiry timers use it).
    """

    def __init__(
        self,
        *,
        policies: PolicyEngine | None = None,
        autonomy: AutonomySettings | None = None,
        checkpoints: Checkpoints | None = None,
        approvals: Approvals | None = None,
        budget: BudgetGate | None = None,
        audit: AuditLog | None = None,
        store: Store | None = None,
        redact: Callable[[Any], Any] | None = None,
        identify: Callable[[ExecuteStepInput], Identity] = default_identity,
        clock: Clock | None = None,
    ) -> None:
        self.judge = Judge(policies, autonomy, checkpoints or Checkpoints())
        self.approvals = approvals
        self.identify = identify
        self.clock = clock or (approvals.clock if approvals else SystemClock())
        self.trail = AuditTrail(audit, store, redact)
        self.meter = Meter(budget, self.trail)
        if approvals is not None:
            approvals.audit = approvals.audit or audit
            approvals.redact = approvals.redact or redact
        self._identities: dict[tuple[str, str | None], Identity] = {}
        self._admitted: contextvars.ContextVar[Admission | None] = contextvars.ContextVar(
            f"fluxio_governance_{id(self)}", default=None
        )

    # -- admission -------------------------------------------------------------------------

    async def admit_step(self, step: ExecuteStepInput, ctx: RunContext) -> ExecuteStepInput:
        """Judge, meter and (if needed) hold ``step`` before it is journaled."""
        if step.options.metadata.get("kind") == GOVERNANCE_KIND:
            return step
        who = self._identity(step)
        estimate = self._estimate(step)
        key = self.judge.verdict_key(step, who.actor, who.agent)
        verdict = self.judge.remembered(key, step) if key is not None else None
        if verdict is None:
            budget = await self._budget_state(step)
            action = action_from_step(step, actor=who.actor, agent=who.agent, budget=budget)
            verdict = await self._verdict(ctx, action, estimate, approved=False)
            if key is not None:
                self.judge.remember(key, step, verdict)
        if verdict.outcome == "deny":
            await self._deny(step, who, verdict)
        step = _with_arguments(step, verdict.arguments)
        if verdict.outcome == "draft":
            return await self._draft(step, who, verdict)
        reservation, breach = await self.meter.reserve(ctx, step, who.actor, estimate)
        approval_id = None
        if verdict.outcome == "approval" or breach:
            if breach:
                verdict = dataclasses.replace(
                    verdict, required_by=(*verdict.required_by, "budget"),
                    reasons=(*verdict.reasons, "budget: the call would exceed a hard budget"),
                )  # fmt: skip
            try:
                step, verdict, approval_id = await self._hold(ctx, step, who, verdict)
            except PolicyDenied:
                await self.meter.give_back(ctx, reservation)
                raise
            if breach:
                reservation, _ = await self.meter.reserve(
                    ctx, step, who.actor, estimate, force=True
                )
        self._admitted.set(
            Admission(step.run_id, step.step_key, who, verdict, approval_id, reservation)
        )
        return step

    def _identity(self, step: ExecuteStepInput) -> Identity:
        if self.identify is not default_identity:
            return self.identify(step)
        agent = step.options.metadata.get("agent")
        key = (step.workflow, agent if isinstance(agent, str) else None)
        known = self._identities.get(key)
        if known is None:
            known = default_identity(step)
            if len(self._identities) < 10_000:
                self._identities[key] = known
        return known

    async def _budget_state(self, step: ExecuteStepInput) -> BudgetState | None:
        """The policy context's ``budget``: the tightest budget covering ``step`` (spent
        plus held), read from the ledger only when a policy that may apply reads it."""
        status = getattr(self.meter.gate, "status", None)
        if status is None:
            return None
        if not self.judge.reads(*step_action(step), "budget"):
            return None
        covering = await status(step)
        if not covering:
            return None
        tightest = min(covering, key=_remaining)
        totals = tightest.totals
        return BudgetState(
            spent_usd=totals.committed_usd,
            limit_usd=tightest.budget.limit_usd,
            tokens=totals.committed_tokens,
        )

    def _estimate(self, step: ExecuteStepInput) -> CostEstimate | None:
        if self.meter.gate is None and self.judge.checkpoints.cost_above is None:
            return None
        return estimate_step(step)

    async def _verdict(
        self, ctx: RunContext, action: Action, estimate: CostEstimate | None, *, approved: bool
    ) -> Verdict:
        """The verdict on ``action``; journaled when judging it counts a limit."""
        if not self.judge.counts_limits(action):
            return await self.judge.judge(action, estimate, approved=approved)

        async def judged(_: Any) -> dict[str, Any]:
            return (await self.judge.judge(action, estimate, approved=approved)).to_dict()

        key = "decide.approved" if approved else "decide"
        data = await ctx.step(judged, None, name="governance:decide", key=key, options=INTERNAL)
        return Verdict.from_dict(data)

    async def _deny(self, step: ExecuteStepInput, who: Identity, verdict: Verdict) -> NoReturn:
        reason = verdict.reason or "denied by governance"
        await self.trail.record(
            decision_event(step, who.actor, "policy.decision", "denied", verdict)
        )
        log.info("run %s step %s (%s) denied: %s", step.run_id, step.step_key, step.name, reason)
        raise PolicyDenied(
            f"run {step.run_id} step {step.step_key} ({step.name}) was denied: {reason}",
            policies=verdict.violated,
        )

    async def _draft(
        self, step: ExecuteStepInput, who: Identity, verdict: Verdict
    ) -> ExecuteStepInput:
        """Autonomy level 1: the action becomes a draft for a person; it does not run."""
        action = action_from_step(step)
        draft = {
            "draft": True,
            "action": {"kind": action.kind, "name": action.name},
            "arguments": dict(action.arguments),
            "reason": verdict.reason,
            "message": "Drafted for a person to review and execute; it was not executed.",
        }

        async def drafted() -> dict[str, Any]:
            return draft

        self._admitted.set(Admission(step.run_id, step.step_key, who, verdict))
        options = dataclasses.replace(
            step.options, retry=NO_RETRY, side_effects=False, idempotent=True
        )
        return dataclasses.replace(step, fn=drafted, args=(), kwargs={}, options=options)

    async def _hold(
        self, ctx: RunContext, step: ExecuteStepInput, who: Identity, verdict: Verdict
    ) -> tuple[ExecuteStepInput, Verdict, str]:
        if self.approvals is None:
            await self._deny(step, who, dataclasses.replace(
                verdict, violated=(*verdict.violated, "approval"),
                reasons=(*verdict.reasons, "it needs approval, but no Approvals desk is set up"),
            ))  # fmt: skip
        request = self._request(step, who, verdict)
        decided = await hold(ctx, self.approvals, request, self.clock)
        if not decided.approved:
            _refused(step, decided)
        if decided.edited_arguments is not None:
            step = _with_arguments(step, decided.edited_arguments)
        budget = await self._budget_state(step)
        again = await self._verdict(
            ctx,
            action_from_step(step, actor=who.actor, agent=who.agent, budget=budget),
            None,
            approved=True,
        )
        if again.outcome == "deny":
            await self._deny(step, who, again)
        return _with_arguments(step, again.arguments), again, decided.approval_id

    def _request(self, step: ExecuteStepInput, who: Identity, verdict: Verdict) -> ApprovalRequest:
        assert self.approvals is not None
        action = action_from_step(step)
        route = self.approvals.route_for(action.kind, action.name)
        now = self.clock.now()
        contract = step.options.metadata.get("tool_contract")
        details = {
            "kind": action.kind,
            "name": action.name,
            "arguments": dict(action.arguments),
            "tool": tool_facts(contract, action.name) if action.kind == "tool" else None,
            "input_schema": getattr(contract, "input_schema", None),
        }
        kinds = {"tool": "tool_call", "model": "model_call"}
        return ApprovalRequest(
            approval_id="apr_" + step.idempotency_key[:24],
            tenant_id=step.tenant_id,
            run_id=step.run_id,
            step_key=step.step_key,
            action_type=kinds.get(action.kind, "workflow_step"),  # type: ignore[arg-type]
            action_details=details,
            requester=who.actor.id,
            requester_type=audit_actor(who.actor, step).type,
            reason=verdict.reason or "needs approval",
            requested_at=now,
            urgency=route.urgency,
            approvers=route.approvers,
            rule=route.rule,
            escalation_after=route.escalate_after,
            escalation_to=route.escalate_to,
            expires_at=now + route.expires_after if route.expires_after else None,
            on_expiry=route.on_expiry,
            policies=verdict.required_by,
        )

    # -- execution -------------------------------------------------------------------------

    async def execute_step(self, step: ExecuteStepInput, next: Next) -> Any:
        """Run the step; settle its budget hold and record its audit entry."""
        admission = self._admitted.get()
        if (
            admission is None
            or admission.step_key != step.step_key
            or admission.run_id != step.run_id
        ):
            return await next(step)
        self._admitted.set(None)
        started = time.perf_counter()
        try:
            result = await next(step)
        except Exception as exc:
            if admission.reservation is not None:
                await self.meter.settle(step, admission.reservation, None, failed=True)
            if self.trail.enabled:
                await self.trail.record(call_event(step, admission, started, None, exc))
            raise
        if admission.reservation is not None:
            await self.meter.settle(step, admission.reservation, result, failed=False)
        if self.trail.enabled:
            event = call_event(step, admission, started, result, None)
            if not self.trail.queue(event):  # in the step's own commit when it can
                await self.trail.record(event)
        return result

    # -- run lifecycle -------------------------------------------------------------------

    async def run_started(self, run: Run) -> None:
        """Record ``run.started``."""
        if self.trail.enabled:
            await self.trail.record(run_event(run))

    async def run_ended(self, run: Run) -> None:
        """Withdraw the run's open approval requests; record how the run ended."""
        if self.approvals is not None:
            reason = f"run {run.run_id} ended {run.status.value} before a decision"
            await self.approvals.withdraw_run(run.tenant_id, run.run_id, reason=reason)
        if self.trail.enabled:
            await self.trail.record(run_event(run))

    async def flush(self) -> None:
        """Wait until every audit entry queued so far is written; raise the first failure."""
        await self.trail.flush()


def _remaining(status: Any) -> float:
    """How much room a covering budget leaves (no dollar limit: infinite)."""
    remaining = status.remaining_usd
    return math.inf if remaining is None else float(remaining)


def _refused(step: ExecuteStepInput, decided: ApprovalRequest) -> NoReturn:
    notes = f": {decided.notes}" if decided.notes else ""
    raise PolicyDenied(
        f"run {step.run_id} step {step.step_key} ({step.name}) was not approved: approval "
        f"{decided.approval_id} is {decided.status} (by {decided.decided_by or 'nobody'}){notes}",
        policies=(*decided.policies, f"approval:{decided.approval_id}"),
    )


def _with_arguments(step: ExecuteStepInput, arguments: dict[str, Any] | None) -> ExecuteStepInput:
    """``step`` with rewritten arguments (``None``: unchanged), in the type it had."""
    if arguments is None:
        return step
    kind = step.options.metadata.get("kind")
    if kind in ("tool", "model") and step.args:
        original = step.args[0]
        value: Any = arguments
        if isinstance(original, BaseModel):
            value = type(original).model_validate(arguments)
        return dataclasses.replace(step, args=(value, *step.args[1:]))
    if set(arguments) == {"args", "kwargs"}:
        return dataclasses.replace(
            step, args=tuple(arguments["args"]), kwargs=dict(arguments["kwargs"])
        )
    return step
