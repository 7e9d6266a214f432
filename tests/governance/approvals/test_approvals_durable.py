"""Approvals are kernel waits: held steps write nothing, decisions land once, timers are durable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.governance.approvals.support import ALICE, BOB, CAROL, EVE, REFUNDED, Desk, reopen

from fluxio import RunStatus
from fluxio.governance import ApprovalRefused, ApprovalRoute, open_approval_store
from fluxio.governance.audit import AuditQuery
from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


async def test_a_held_call_waits_with_no_intent_and_runs_once_after_approval(desk: Desk) -> None:
    approval_id = await desk.held(250.0)
    run_id = await desk.run_of(approval_id)
    assert REFUNDED == []
    journal = await desk.engine.journal(run_id)
    assert all(e.step_key != "1" for e in journal)  # neither intent nor outcome of the refund
    assert desk.engine.active == {}  # the waiting run holds no memory

    decided = await desk.approvals.approve("default", approval_id, by=ALICE, notes="ok")
    assert (decided.status, decided.decided_by) == ("approved", "alice")
    assert await desk.engine.result(run_id) == "refunded 250 on A-1"
    assert REFUNDED == [("A-1", 250.0)]
    entry = (await desk.audit.entries("default", AuditQuery(action="tool.called")))[0]
    assert (entry.approval_id, entry.policies_violated) == (approval_id, ("refunds-need-approval",))


async def test_a_small_refund_needs_nobody(desk: Desk) -> None:
    run = await desk.engine.start("refund", {"order": "A-2", "amount": 20.0})
    assert await desk.engine.result(run.run_id) == "refunded 20 on A-2"
    assert await desk.approvals.requests("default", statuses=()) == []


async def test_a_rejection_is_a_policy_denial_the_workflow_handles(desk: Desk) -> None:
    approval_id = await desk.held()
    await desk.approvals.reject("default", approval_id, by=BOB, notes="too much")
    result = await desk.engine.result(await desk.run_of(approval_id))
    assert result.startswith("not refunded: ")
    assert "rejected (by bob): too much" in result
    assert REFUNDED == []


async def test_a_decision_is_delivered_once_and_late_ones_are_refused(desk: Desk) -> None:
    approval_id = await desk.held()
    await desk.approvals.approve("default", approval_id, by=ALICE)
    with pytest.raises(ApprovalRefused, match=r"already approved \(by alice at .*delivered once"):
        await desk.approvals.reject("default", approval_id, by=BOB)
    with pytest.raises(ApprovalRefused, match="already approved"):
        await desk.approvals.approve("default", approval_id, by=ALICE)
    await desk.engine.result(await desk.run_of(approval_id))
    assert REFUNDED == [("A-1", 250.0)]
    refusals = await desk.audit.entries("default", AuditQuery(action="approval.refused"))
    assert [(e.actor.id, e.error) for e in refusals] == [
        ("bob", "already_decided"),
        ("alice", "already_decided"),
    ]


async def test_two_approvers_deciding_at_once_never_both_win(desk: Desk) -> None:
    approval_id = await desk.held()
    outcomes = await asyncio.gather(
        desk.approvals.approve("default", approval_id, by=ALICE),
        desk.approvals.reject("default", approval_id, by=BOB),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ApprovalRefused)]
    decided = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1
    assert len(decided) == 1
    stored = await desk.approvals.get("default", approval_id)
    assert stored.status == decided[0].status
    assert len(stored.votes) == 1


async def test_a_forged_signal_decides_nothing(desk: Desk) -> None:
    approval_id = await desk.held()
    run_id = await desk.run_of(approval_id)
    forged = {"approval_id": approval_id, "status": "approved"}
    await desk.engine.signal(run_id, f"approval:{approval_id}", forged)
    await desk.engine.drive()
    run = await desk.engine.get(run_id)
    assert run.status is RunStatus.WAITING
    assert run.wait is not None
    assert run.wait.detail == f"approval:{approval_id}"
    assert REFUNDED == []


async def test_escalation_after_its_duration_lets_the_escalation_target_decide(
    store: Store,
) -> None:
    route = ApprovalRoute(approvers=("alice",), escalate_after="4h", escalate_to=("role:manager",))
    desk = Desk(store, await open_approval_store(store), route=route)
    approval_id = await desk.held()
    with pytest.raises(ApprovalRefused, match="not an approver"):
        await desk.approvals.approve("default", approval_id, by=CAROL)

    desk.clock.advance(4 * 3600 + 1)
    await desk.engine.drive()  # the durable timer fires: the request escalates
    escalated = await desk.approvals.get("default", approval_id)
    assert escalated.escalated_at is not None
    assert escalated.pending
    run = await desk.engine.get(escalated.run_id)
    assert run.status is RunStatus.WAITING

    await desk.approvals.approve("default", approval_id, by=CAROL, notes="covering for alice")
    assert await desk.engine.result(escalated.run_id) == "refunded 250 on A-1"
    actions = [e.action for e in await desk.audit.entries("default")]
    assert actions == ["run.started", "approval.requested", "approval.refused",
                       "approval.escalated", "approval.decided", "tool.called",
                       "run.completed"]  # fmt: skip


@pytest.mark.parametrize(
    ("on_expiry", "status", "outcome"),
    [
        ("reject", "expired", "not refunded"),
        ("auto_approve", "approved", "refunded 250 on A-1"),
    ],
)
async def test_expiry_ends_the_request_as_the_route_says(
    on_expiry: str, status: str, outcome: str
) -> None:
    store = MemoryStore()
    route = ApprovalRoute.model_validate(
        {"approvers": ["alice"], "expires_after": "2d", "on_expiry": on_expiry}
    )
    desk = Desk(store, await open_approval_store(store), route=route)
    approval_id = await desk.held()
    desk.clock.advance(2 * 86400)
    await desk.engine.drive()
    request = await desk.approvals.get("default", approval_id)
    assert (request.status, request.decided_by) == (status, "system:expiry")
    assert (await desk.engine.result(request.run_id)).startswith(outcome)
    with pytest.raises(ApprovalRefused, match=f"already {status}"):
        await desk.approvals.approve("default", approval_id, by=ALICE)


async def test_expiry_can_escalate_and_then_wait_for_the_escalation(store: Store) -> None:
    route = ApprovalRoute(
        approvers=("alice",), expires_after=60, on_expiry="escalate", escalate_to=("carol",)
    )
    desk = Desk(store, await open_approval_store(store), route=route)
    approval_id = await desk.held()
    desk.clock.advance(61)
    await desk.engine.drive()
    request = await desk.approvals.get("default", approval_id)
    assert request.pending
    assert request.escalated_at is not None
    assert request.expires_at is None
    await desk.approvals.approve("default", approval_id, by=CAROL)
    assert await desk.engine.result(request.run_id) == "refunded 250 on A-1"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_approvals_and_escalations_survive_a_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = await _store(backend, tmp_path, request)
    route = ApprovalRoute(approvers=("alice",), escalate_after=3600, escalate_to=("carol",))
    first = Desk(store, await open_approval_store(store), route=route)
    approval_id = await first.held()
    clock = first.clock
    await first.approvals_store.close()
    await store.close()  # the process is gone: nothing of the run is in memory

    store = await reopen(store, tmp_path)
    second = Desk(store, await open_approval_store(store), route=route, clock=clock)
    clock.advance(3601)
    await second.engine.drive()  # the escalation timer was durable
    assert (await second.approvals.get("default", approval_id)).escalated_at is not None
    await second.approvals_store.close()
    await store.close()

    store = await reopen(store, tmp_path)
    third = Desk(store, await open_approval_store(store), route=route, clock=clock)
    decided = await third.approvals.approve("default", approval_id, by=CAROL)
    assert await third.engine.result(decided.run_id) == "refunded 250 on A-1"
    assert REFUNDED == [("A-1", 250.0)]
    await third.approvals_store.close()
    await store.close()


async def _store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "sqlite":
        from fluxio.store.sqlite import SQLiteStore

        return SQLiteStore(tmp_path / "fluxio.db", durability="normal")
    from fluxio.store.postgres import PostgresStore

    sandbox = request.getfixturevalue("postgres")
    schema = sandbox.new_schema()
    request.addfinalizer(lambda: sandbox.drop_schema(schema))
    return await PostgresStore.connect(sandbox.app_url, schema=schema, pool_size=2)


async def test_requesters_agents_and_outsiders_cannot_decide(desk: Desk) -> None:
    from fluxio.governance import Actor

    approval_id = await desk.held()
    agent = Actor("refund", "agent", ("finance",))
    with pytest.raises(ApprovalRefused, match="is an agent, and agents can never approve"):
        await desk.approvals.approve("default", approval_id, by=agent)
    requester = Actor("refund", "user", ("finance",))  # the workflow acts as 'refund'
    with pytest.raises(ApprovalRefused, match="requested this action and cannot decide it"):
        await desk.approvals.approve("default", approval_id, by=requester)
    with pytest.raises(ApprovalRefused, match=r"'eve' \(roles: intern\) is not an approver"):
        await desk.approvals.approve("default", approval_id, by=EVE)
    assert (await desk.approvals.get("default", approval_id)).pending


async def test_a_decision_that_woke_nobody_is_redelivered(store: Store) -> None:
    desk = Desk(store, await open_approval_store(store))
    approval_id = await desk.held()
    desk.approvals.signals = None  # as if the process died between the decision and the signal
    decided = await desk.approvals.approve("default", approval_id, by=ALICE)
    await desk.engine.drive()
    assert (await desk.engine.get(decided.run_id)).status is RunStatus.WAITING
    desk.approvals.bind(desk.engine)
    assert await desk.approvals.redeliver("default") == 1
    assert await desk.approvals.redeliver("default") == 0
    assert await desk.engine.result(decided.run_id) == "refunded 250 on A-1"


async def test_a_withdrawn_request_denies_the_step(desk: Desk) -> None:
    approval_id = await desk.held()
    withdrawn = await desk.approvals.cancel("default", approval_id, by=CAROL, reason="duplicate")
    assert (withdrawn.status, withdrawn.notes) == ("cancelled", "duplicate")
    result = await desk.engine.result(withdrawn.run_id)
    assert "is cancelled (by carol): duplicate" in result
    with pytest.raises(ApprovalRefused, match="already cancelled"):
        await desk.approvals.cancel("default", approval_id, by=CAROL)
    assert REFUNDED == []
