"""Learned auto-approval: opt-in per tenant, consistent approvals, decay, audit, revocation."""

from __future__ import annotations

import pytest
from tests.governance.approvals.support import ALICE, BOB, CAROL, Desk

from fluxio.governance import Actor, ApprovalRefused, LearnedApproval, MemoryApprovalStore
from fluxio.governance.audit import AuditQuery
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

DAY = 86400.0


def desk(mode: str = "apply", tenants: tuple[str, ...] = ("default",)) -> Desk:
    learning = LearnedApproval.model_validate(
        {"tenants": tenants, "after": 3, "mode": mode, "half_life": "10d", "min_confidence": 0.7}
    )
    return Desk(MemoryStore(), MemoryApprovalStore(), learning=learning)


async def approve_refunds(d: Desk, count: int, by: Actor = ALICE, start: int = 0) -> None:
    for i in range(start, start + count):
        approval_id = await d.held(order=f"A-{i}")
        decided = await d.approvals.approve("default", approval_id, by=by)
        assert await d.engine.result(decided.run_id) == f"refunded 250 on A-{i}"


async def auto_approved(d: Desk, order: str) -> bool:
    """Whether a new refund ran without waiting for anybody."""
    run = await d.engine.start("refund", {"order": order, "amount": 250.0})
    await d.engine.drive()
    return (await d.engine.get(run.run_id)).status.value == "completed"


async def test_after_n_consistent_approvals_the_pattern_approves_by_itself() -> None:
    d = desk()
    await approve_refunds(d, 2)
    assert not await auto_approved(d, "B-1")  # two approvals are not enough
    approval_id = (await d.approvals.requests("default"))[0].approval_id
    await d.approvals.approve("default", approval_id, by=ALICE)
    await d.engine.drive()  # the run reads the decision, and its desk learns from it
    [pattern] = await d.approvals.patterns.learned("default")
    assert (pattern.status, pattern.approvers) == ("active", ("alice",))

    assert await auto_approved(d, "B-2")
    query = AuditQuery(actor_id="fluxio:learned-approval", action="approval.decided")
    [auto] = await d.audit.entries("default", query)
    assert auto.action == "approval.decided"
    assert auto.payload["pattern"] == pattern.pattern_id
    assert auto.payload["approvers"] == ["alice"]
    assert 0.7 <= auto.payload["confidence"] < 1.0
    activated = await d.audit.entries("default", AuditQuery(action="approval.pattern_active"))
    assert len(activated) == 1


async def test_tenants_that_did_not_opt_in_learn_nothing() -> None:
    d = desk(tenants=("acme",))
    await approve_refunds(d, 4)
    assert await d.approvals.patterns.learned("default") == []
    assert not await auto_approved(d, "B-1")


async def test_a_rejection_breaks_the_run_of_consistent_approvals() -> None:
    d = desk()
    await approve_refunds(d, 2)
    approval_id = await d.held(order="X")
    await d.approvals.reject("default", approval_id, by=BOB)
    await approve_refunds(d, 2, start=10)
    [pattern] = await d.approvals.patterns.learned("default")
    assert (pattern.status, pattern.streak) == ("learning", 2)
    assert pattern.approvals == pytest.approx(2.0)
    assert not await auto_approved(d, "B-1")


async def test_approvals_by_another_person_are_another_approver_set() -> None:
    d = desk()
    await approve_refunds(d, 2, by=ALICE)
    await approve_refunds(d, 2, by=BOB, start=10)
    patterns = await d.approvals.patterns.learned("default")
    assert sorted((p.approvers, p.status) for p in patterns) == [
        (("alice",), "learning"),
        (("bob",), "learning"),
    ]


async def test_confidence_decays_without_fresh_approvals() -> None:
    d = desk()
    await approve_refunds(d, 3)
    assert await auto_approved(d, "B-1")
    d.clock.advance(30 * DAY)  # three half-lives: 3 approvals weigh 0.375
    assert not await auto_approved(d, "B-2")


async def test_a_proposed_pattern_applies_only_once_a_person_accepts_it() -> None:
    d = desk(mode="propose")
    await approve_refunds(d, 3)
    [pattern] = await d.approvals.patterns.learned("default")
    assert pattern.status == "proposed"
    assert not await auto_approved(d, "B-1")
    with pytest.raises(ApprovalRefused, match="is an agent; only a person may accept"):
        await d.approvals.patterns.accept(
            "default", pattern.pattern_id, by=Actor("refund", "agent")
        )
    await d.approvals.patterns.accept("default", pattern.pattern_id, by=CAROL)
    assert await auto_approved(d, "B-2")
    accepted = await d.audit.entries("default", AuditQuery(action="approval.pattern_accepted"))
    assert [e.actor.id for e in accepted] == ["carol"]


async def test_a_revoked_pattern_never_approves_again() -> None:
    d = desk()
    await approve_refunds(d, 3)
    [pattern] = await d.approvals.patterns.learned("default")
    await d.approvals.patterns.revoke(
        "default", pattern.pattern_id, by=CAROL, reason="auditor asked"
    )
    assert not await auto_approved(d, "B-1")
    approval_id = (await d.approvals.requests("default"))[0].approval_id
    await d.approvals.approve("default", approval_id, by=ALICE)
    await d.engine.drive()
    [after] = await d.approvals.patterns.learned("default")
    assert (after.status, after.changed_by, after.reason) == ("revoked", "carol", "auditor asked")
    revoked = await d.audit.entries("default", AuditQuery(action="approval.pattern_revoked"))
    assert len(revoked) == 1
    with pytest.raises(ApprovalRefused, match="has no pattern"):
        await d.approvals.patterns.revoke("default", "pat_unknown", by=CAROL)


def test_settings_whose_confidence_can_never_be_reached_are_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="after 3 approvals the confidence reaches only"):
        LearnedApproval(tenants=("default",), after=3, min_confidence=0.8)
