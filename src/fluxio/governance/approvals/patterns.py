"""The pattern book of one ``Approvals`` desk: learn from decisions, auto-approve, revoke.

See ``learning`` for the rules. Everything here is per tenant and opt-in
(``LearnedApproval(tenants=[...])``); every proposal, activation, acceptance, revocation and
auto-approval is audited.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from fluxio.governance.approvals.learning import (
    ApprovalPattern,
    observe,
    pattern_of,
    usable,
)
from fluxio.governance.approvals.request import ApprovalRequest
from fluxio.governance.approvals.rules import ApprovalRefused
from fluxio.governance.audit import Actor as AuditActor
from fluxio.governance.audit import AuditEvent
from fluxio.governance.policies import Actor

if TYPE_CHECKING:
    from fluxio.governance.approvals.decisions import Approvals

__all__ = ["PatternBook"]

_ATTEMPTS = 3
LEARNED = "fluxio:learned-approval"


class PatternBook:
    """Learned auto-approval for an ``Approvals`` desk (``approvals.patterns``)."""

    def __init__(self, desk: Approvals) -> None:
        self.desk = desk

    def _on(self, tenant_id: str) -> bool:
        return self.desk.learning.enabled_for(tenant_id)

    async def learned(self, tenant_id: str) -> list[ApprovalPattern]:
        """The tenant's learned patterns."""
        return await self.desk.store.patterns(tenant_id)

    async def auto_approve(self, request: ApprovalRequest) -> ApprovalRequest | None:
        """Approve ``request`` now if an active, still confident pattern covers it."""
        if not self._on(request.tenant_id):
            return None
        settings, now = self.desk.learning, self.desk.clock.now()
        pattern_id, _ = pattern_of(request)
        for pattern in await self.desk.store.patterns(request.tenant_id, pattern_id):
            if usable(pattern, settings, now) and request.requester not in pattern.approvers:
                return await self._apply(request, pattern, now)
        return None

    async def _apply(
        self, request: ApprovalRequest, pattern: ApprovalPattern, now: float
    ) -> ApprovalRequest | None:
        confidence = pattern.confidence(now, self.desk.learning.half_life)
        notes = (
            f"auto-approved: learned from {pattern.approvals:.1f} consistent approvals by "
            f"{', '.join(pattern.approvers)} (confidence {confidence:.2f})"
        )
        approved = request.changed(
            status="approved", decided_by=f"system:learned:{pattern.pattern_id}",
            decided_at=now, notes=notes, auto_pattern=pattern.pattern_id,
        )  # fmt: skip
        if not await self.desk.store.update(approved):
            return None
        await self.desk.record(LEARNED, "system", "approval.decided", approved, "success",
                               payload={"pattern": pattern.pattern_id, "notes": notes,
                                        "approvers": list(pattern.approvers),
                                        "confidence": round(confidence, 4)})  # fmt: skip
        await self.desk.store.mark_delivered(request.tenant_id, request.approval_id, now)
        return approved

    async def learn(self, request: ApprovalRequest) -> None:
        """Count a final human decision of ``request`` toward its pattern."""
        if not self._on(request.tenant_id) or request.auto_pattern is not None:
            return
        if request.status not in ("approved", "rejected") or not request.votes:
            return
        choice = "approve" if request.approved else "reject"
        pattern_id, description = pattern_of(request)
        stored = await self.desk.store.patterns(request.tenant_id, pattern_id)
        deciders = tuple(sorted({v.by for v in request.votes if v.choice == choice}))
        targets = [p for p in stored if choice == "reject" or p.approvers == deciders]
        if choice == "approve" and not targets:
            targets = [ApprovalPattern(request.tenant_id, pattern_id, deciders, description, 0.0)]
        for pattern in targets:
            await self._observe(pattern, choice)

    async def _observe(self, pattern: ApprovalPattern, choice: str) -> None:
        settings, store = self.desk.learning, self.desk.store
        for _ in range(_ATTEMPTS):
            updated = observe(pattern, "approve" if choice == "approve" else "reject",
                              settings, self.desk.clock.now())  # fmt: skip
            if await store.save_pattern(updated):
                if updated.status != pattern.status and updated.status in ("proposed", "active"):
                    await self._audit(updated, f"approval.pattern_{updated.status}", LEARNED)
                return
            fresh = [p for p in await store.patterns(pattern.tenant_id, pattern.pattern_id)
                     if p.approvers == pattern.approvers]  # fmt: skip
            if not fresh:
                return
            pattern = fresh[0]

    async def accept(self, tenant_id: str, pattern_id: str, *, by: Actor) -> list[ApprovalPattern]:
        """A person accepts a proposed pattern: it applies from now on (audited)."""
        return await self._change(tenant_id, pattern_id, by, "active", "", ("proposed",))

    async def revoke(
        self, tenant_id: str, pattern_id: str, *, by: Actor, reason: str = ""
    ) -> list[ApprovalPattern]:
        """Stop a pattern for good, whatever its state (audited)."""
        return await self._change(
            tenant_id, pattern_id, by, "revoked", reason, ("learning", "proposed", "active")
        )

    async def _change(
        self,
        tenant_id: str,
        pattern_id: str,
        by: Actor,
        status: str,
        reason: str,
        allowed: tuple[str, ...],
    ) -> list[ApprovalPattern]:
        if by.type == "agent":
            raise ApprovalRefused(
                pattern_id,
                "agent_cannot_decide",
                f"pattern {pattern_id}: {by.id!r} is an agent; only a person may accept or "
                "revoke learned auto-approval.",
            )
        rows = [p for p in await self.desk.store.patterns(tenant_id, pattern_id)
                if p.status in allowed]  # fmt: skip
        if not rows:
            raise ApprovalRefused(
                pattern_id,
                "no_such_pattern",
                f"tenant {tenant_id!r} has no pattern {pattern_id!r} in state "
                f"{' or '.join(allowed)}; list them with Approvals.patterns.learned().",
            )
        changed = []
        for row in rows:
            new = replace(row, status=status, changed_by=by.id, reason=reason,  # type: ignore[arg-type]
                          version=row.version + 1)  # fmt: skip
            if await self.desk.store.save_pattern(new):
                verb = "accepted" if status == "active" else status
                await self._audit(new, f"approval.pattern_{verb}", by.id, by.type)
                changed.append(new)
        return changed

    async def _audit(
        self, pattern: ApprovalPattern, action: str, actor: str, actor_type: str = "system"
    ) -> None:
        audit = self.desk.audit
        if audit is None:
            return
        kind = actor_type if actor_type in ("user", "agent") else "system"
        await audit.append(
            AuditEvent(
                tenant_id=pattern.tenant_id,
                actor=AuditActor(actor, kind),  # type: ignore[arg-type]
                action=action,
                target=f"pattern:{pattern.pattern_id}",
                payload=pattern.to_dict(),
            )
        )
