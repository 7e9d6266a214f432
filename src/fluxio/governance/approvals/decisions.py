"""``Approvals``: open requests, take decisions exactly once, run timers, learn patterns.

A decision is checked (``rules``), tallied under the request's rule, and written with one
conditional update: only a request still pending at the version read changes, so concurrent
deciders cannot both win. A final decision then wakes the waiting run with the signal
``approval:<id>``; the run reads the decision back from this store (the signal is only a
wake-up, so a forged signal decides nothing). If the process dies between the update and the
signal, ``redeliver`` sends the missing signals, and the run's next timer reads the decision
anyway. The run's own desk (the one its ``Governance`` holds) learns from the decision when it
reads it, so decisions taken anywhere (CLI, API) count toward learned auto-approval.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from fluxio.engine.clock import Clock, SystemClock
from fluxio.errors import UsageError
from fluxio.governance.approvals.learning import LearnedApproval
from fluxio.governance.approvals.patterns import PatternBook
from fluxio.governance.approvals.request import (
    ApprovalRequest,
    ApprovalRoute,
    ApprovalStatus,
    Choice,
    Vote,
    tally,
)
from fluxio.governance.approvals.rules import ApprovalRefused, check_decider, check_edit, when
from fluxio.governance.approvals.store import ApprovalStore
from fluxio.governance.audit import Actor as AuditActor
from fluxio.governance.audit import AuditEvent, AuditLog, AuditResult
from fluxio.governance.policies import Actor
from fluxio.store.base import Store

__all__ = ["Approvals", "Signals", "StoreSignals"]

log = logging.getLogger("fluxio.governance.approvals")


class Signals(Protocol):
    """Wakes a run: ``Engine`` is one; ``StoreSignals`` writes the signal to the store."""

    async def signal(
        self, run_id: str, name: str, payload: Any = None, *, tenant_id: str = "default"
    ) -> Any:
        """Deliver the named signal to the run."""
        ...


class StoreSignals:
    """Signals written straight to a run store (a worker elsewhere picks the run up).

    Args:
        store: the store the waiting runs live in.
        clock: the time stamped on signals.
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()

    async def signal(
        self, run_id: str, name: str, payload: Any = None, *, tenant_id: str = "default"
    ) -> Any:
        """Queue the signal; a waiting run becomes runnable."""
        return await self.store.send_signal(tenant_id, run_id, name, payload, now=self.clock.now())


class Approvals:
    """The approval desk: requests, decisions, escalation and expiry, learned auto-approval.

    Args:
        store: where requests and patterns live.
        route: who decides requests no entry of ``routes`` names.
        routes: routes by tool name (``fnmatch`` globs allowed), e.g. ``{"refund": ...}``.
        signals: wakes waiting runs after a decision (an ``Engine``, or ``StoreSignals``);
            set later with ``bind``.
        audit: records requests, decisions, refusals, escalations and patterns.
        learning: learned auto-approval settings (off unless a tenant opts in).
        clock: time for decisions, escalation and expiry (the engine's clock).
        redact: applied to arguments before they are written to the audit log.
    """

    def __init__(
        self,
        store: ApprovalStore,
        *,
        route: ApprovalRoute | None = None,
        routes: Mapping[str, ApprovalRoute] | None = None,
        signals: Signals | None = None,
        audit: AuditLog | None = None,
        learning: LearnedApproval | None = None,
        clock: Clock | None = None,
        redact: Callable[[Any], Any] | None = None,
    ) -> None:
        self.store = store
        self.route = route or ApprovalRoute()
        self.routes = dict(routes or {})
        self.signals = signals
        self.audit = audit
        self.learning = learning or LearnedApproval()
        self.clock = clock or SystemClock()
        self.redact = redact
        self.patterns = PatternBook(self)

    def bind(self, signals: Signals) -> Approvals:
        """Set what wakes runs after a decision (e.g. the engine, once it exists)."""
        self.signals = signals
        return self

    def route_for(self, kind: str, name: str) -> ApprovalRoute:
        """The route of a tool (first matching glob of ``routes``), else the default route."""
        if kind == "tool":
            for pattern, route in self.routes.items():
                if fnmatch.fnmatchcase(name, pattern):
                    return route
        return self.route

    # -- requests --------------------------------------------------------------------------

    async def open(self, request: ApprovalRequest) -> ApprovalRequest:
        """Store a new request (or return the stored one with its id) and audit it.

        A tenant that learned to approve this pattern gets it approved at once, audited.
        """
        stored, created = await self.store.create(request)
        if not created:
            return stored
        details = stored.action_details
        await self.record(
            stored.requester,
            stored.requester_type,
            "approval.requested",
            stored,
            "pending",
            payload={
                "action": {"kind": details.get("kind"), "name": details.get("name")},
                "arguments": self._redacted(details.get("arguments")),
                "reason": stored.reason,
                "urgency": stored.urgency,
                "approvers": list(stored.approvers),
                "rule": stored.rule,
                "expires_at": stored.expires_at,
            },
        )
        return await self.patterns.auto_approve(stored) or stored

    async def get(self, tenant_id: str, approval_id: str) -> ApprovalRequest:
        """One request, or ``NotFound``-like ``UsageError`` naming how to list them."""
        request = await self.store.get(tenant_id, approval_id)
        if request is None:
            raise UsageError(
                f"no approval {approval_id!r} in tenant {tenant_id!r}; list them with "
                "`fluxio approvals list`"
            )
        return request

    async def requests(
        self, tenant_id: str, *, statuses: tuple[str, ...] = ("pending",), limit: int = 100
    ) -> list[ApprovalRequest]:
        """A tenant's requests, newest first (pending ones unless ``statuses`` says)."""
        return await self.store.requests(tenant_id, statuses=statuses, limit=limit)

    # -- decisions -------------------------------------------------------------------------

    async def approve(
        self,
        tenant_id: str,
        approval_id: str,
        *,
        by: Actor,
        notes: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> ApprovalRequest:
        """Approve (optionally with edited ``arguments``); returns the request as it stands."""
        return await self.decide(
            tenant_id, approval_id, "approve", by=by, notes=notes, arguments=arguments
        )

    async def reject(
        self, tenant_id: str, approval_id: str, *, by: Actor, notes: str = ""
    ) -> ApprovalRequest:
        """Reject; returns the request as it stands."""
        return await self.decide(tenant_id, approval_id, "reject", by=by, notes=notes)

    async def decide(
        self,
        tenant_id: str,
        approval_id: str,
        choice: Choice,
        *,
        by: Actor,
        notes: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> ApprovalRequest:
        """Cast ``by``'s vote; a vote that decides the request wakes the run, exactly once.

        Raises:
            ApprovalRefused: four-eyes, not an approver, already decided or voted, bad edit.
                The refusal is audited.
        """
        if choice not in ("approve", "reject"):
            raise UsageError(f"a decision is 'approve' or 'reject', not {choice!r}")
        request = await self.get(tenant_id, approval_id)
        try:
            decided = await self._vote(request, choice, by, notes, arguments)
        except ApprovalRefused as refused:
            payload = {"choice": choice, "reason": str(refused)}
            await self.record(
                by.id, by.type, "approval.refused", request, "denied",
                error=refused.code, payload=payload,
            )  # fmt: skip
            raise
        if not decided.pending:
            await self.deliver(decided)
        return decided

    async def _vote(
        self,
        request: ApprovalRequest,
        choice: Choice,
        by: Actor,
        notes: str,
        arguments: dict[str, Any] | None,
    ) -> ApprovalRequest:
        check_decider(request, by)
        now = self.clock.now()
        voted = request.changed(votes=(*request.votes, Vote(by.id, choice, now, notes, by.roles)))
        outcome = tally(voted)
        edited = check_edit(request, choice, arguments, decides=outcome == choice)
        if outcome is not None:
            deciders = ",".join(v.by for v in voted.votes if v.choice == outcome)
            status: ApprovalStatus = "approved" if outcome == "approve" else "rejected"
            voted = replace(voted, status=status, decided_by=deciders, decided_at=now,
                            notes=notes, edited_arguments=edited)  # fmt: skip
        if not await self.store.update(voted):
            current = await self.get(request.tenant_id, request.approval_id)
            check_decider(current, by)  # raises if someone else decided first
            raise ApprovalRefused(
                request.approval_id,
                "changed",
                f"approval {request.approval_id} changed while {by.id!r} decided; try again.",
            )
        action = "approval.decided" if outcome is not None else "approval.voted"
        result: AuditResult = "success" if choice == "approve" else "denied"
        await self.record(by.id, by.type, action, voted, result, payload={
            "choice": choice, "status": voted.status, "notes": notes,
            "edited_arguments": self._redacted(edited),
        })  # fmt: skip
        return voted

    async def cancel(
        self, tenant_id: str, approval_id: str, *, by: Actor, reason: str = ""
    ) -> ApprovalRequest:
        """Withdraw a pending request (the action is no longer wanted); the step is denied.

        Raises:
            ApprovalRefused: the request was decided already.
        """
        request = await self.get(tenant_id, approval_id)
        if not request.pending:
            check_decider(request, by)  # says who decided it, and when
        now = self.clock.now()
        withdrawn = request.changed(
            status="cancelled", decided_by=by.id, decided_at=now, notes=reason or "withdrawn"
        )
        if not await self.store.update(withdrawn):
            return await self.cancel(tenant_id, approval_id, by=by, reason=reason)
        await self.record(by.id, by.type, "approval.cancelled", withdrawn, "denied",
                          payload={"notes": withdrawn.notes})  # fmt: skip
        await self.deliver(withdrawn)
        return withdrawn

    async def withdraw_run(self, tenant_id: str, run_id: str, *, reason: str) -> int:
        """Cancel the pending requests of a run that ended (nobody waits for them any more).

        Called by ``Governance`` when a run completes, fails or is cancelled while a request
        is open (a cancelled run waiting for approval, a parallel branch still holding one);
        each withdrawal is audited. Returns how many were withdrawn.
        """
        withdrawn = 0
        pending = await self.store.requests(
            tenant_id, statuses=("pending",), run_id=run_id, limit=10_000
        )
        for request in pending:
            closed = request.changed(
                status="cancelled", decided_by="fluxio", decided_at=self.clock.now(), notes=reason
            )
            if await self.store.update(closed):  # lost a race with a decision: that one stands
                withdrawn += 1
                await self.record("fluxio", "system", "approval.cancelled", closed, "denied",
                                  payload={"notes": reason})  # fmt: skip
        return withdrawn

    async def deliver(self, request: ApprovalRequest) -> None:
        """Wake the waiting run with ``approval:<id>`` and note that it was woken."""
        if self.signals is None:
            log.warning(
                "approval %s was %s but nothing wakes run %s: give Approvals(signals=engine) "
                "or call approvals.bind(engine); the run sees it at its next timer or "
                "`Approvals.redeliver`",
                request.approval_id,
                request.status,
                request.run_id,
            )
            return
        payload = {"approval_id": request.approval_id, "status": request.status}
        try:
            await self.signals.signal(
                request.run_id, request.signal, payload, tenant_id=request.tenant_id
            )
        except UsageError as exc:  # the run ended (cancelled) or is gone: nobody to wake
            log.info("approval %s: run %s not woken: %s", request.approval_id, request.run_id, exc)
        await self.store.mark_delivered(request.tenant_id, request.approval_id, self.clock.now())

    async def redeliver(self, tenant_id: str) -> int:
        """Signal the runs of decided requests that were never signalled; returns how many."""
        missing = await self.store.undelivered(tenant_id)
        for request in missing:
            await self.deliver(request)
        return len(missing)

    # -- timers ----------------------------------------------------------------------------

    async def on_timer(self, tenant_id: str, approval_id: str) -> ApprovalRequest:
        """Escalate or expire the request if its time has come; returns it as it stands."""
        request = await self.get(tenant_id, approval_id)
        now = self.clock.now()
        if not request.pending:
            return request
        if request.expires_at is not None and now >= request.expires_at:
            changed = self._expired(request, now)
        elif request.escalate_at is not None and now >= request.escalate_at:
            changed = request.changed(escalated_at=now)
        else:
            return request
        if not await self.store.update(changed):
            return await self.get(tenant_id, approval_id)
        await self._audit_timer(request, changed)
        if not changed.pending:
            await self.store.mark_delivered(tenant_id, approval_id, now)
        return changed

    def _expired(self, request: ApprovalRequest, now: float) -> ApprovalRequest:
        outcome = request.on_expiry
        if outcome == "escalate":
            return request.changed(escalated_at=request.escalated_at or now, expires_at=None)
        status = "approved" if outcome == "auto_approve" else "expired"
        notes = f"no decision by {when(request.expires_at)}; expired with {outcome}"
        return request.changed(
            status=status, decided_by="system:expiry", decided_at=now, notes=notes
        )

    async def _audit_timer(self, before: ApprovalRequest, after: ApprovalRequest) -> None:
        if after.pending:
            await self.record("fluxio", "system", "approval.escalated", after, "pending",
                              payload={"escalation_to": list(after.escalation_to)})  # fmt: skip
            return
        result: AuditResult = "success" if after.approved else "denied"
        await self.record("fluxio", "system", "approval.decided", after, result,
                          payload={"status": after.status, "notes": after.notes})  # fmt: skip

    # -- audit -----------------------------------------------------------------------------

    async def record(
        self,
        actor_id: str,
        actor_type: str,
        action: str,
        request: ApprovalRequest,
        result: AuditResult,
        *,
        error: str | None = None,
        payload: Any = None,
    ) -> None:
        """Append one audit entry about ``request`` (if an audit log is configured)."""
        if self.audit is None:
            return
        kind = actor_type if actor_type in ("user", "agent", "workflow") else "system"
        details = request.action_details
        await self.audit.append(
            AuditEvent(
                tenant_id=request.tenant_id,
                actor=AuditActor(actor_id or "unknown", kind),  # type: ignore[arg-type]
                action=action,
                target=f"{details.get('kind', 'step')}:{details.get('name', '')}",
                result=result,
                run_id=request.run_id,
                step_key=request.step_key,
                error=error,
                policies_violated=request.policies,
                approval_id=request.approval_id,
                payload=payload,
            )
        )

    def _redacted(self, value: Any) -> Any:
        if value is None or self.redact is None:
            return value
        return self.redact(value)
