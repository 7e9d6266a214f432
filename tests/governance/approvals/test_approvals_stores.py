"""Every approval store keeps the same promises: memory, SQLite file, PostgreSQL schema."""

from __future__ import annotations

import dataclasses

import pytest

from fluxio.governance import ApprovalRequest, ApprovalStore
from fluxio.governance.approvals import ApprovalPattern

pytestmark = pytest.mark.anyio


def new(approval_id: str = "apr_1", tenant: str = "default", at: float = 1.0) -> ApprovalRequest:
    return ApprovalRequest(
        approval_id=approval_id, tenant_id=tenant, run_id=f"run-{approval_id}", step_key="1",
        action_type="tool_call", action_details={"kind": "tool", "name": "refund"},
        requester="agent-7", requester_type="agent", reason="big refund", requested_at=at,
    )  # fmt: skip


async def test_creating_twice_returns_the_stored_request(approval_store: ApprovalStore) -> None:
    first, created = await approval_store.create(new())
    again, created_again = await approval_store.create(dataclasses.replace(new(), reason="other"))
    assert (created, created_again) == (True, False)
    assert again == first
    assert await approval_store.get("default", "apr_1") == first


async def test_only_a_pending_request_at_the_version_read_changes(
    approval_store: ApprovalStore,
) -> None:
    stored, _ = await approval_store.create(new())
    approved = stored.changed(status="approved", decided_by="alice", decided_at=2.0)
    rejected = stored.changed(status="rejected", decided_by="bob", decided_at=2.0)
    assert await approval_store.update(approved) is True
    assert await approval_store.update(rejected) is False  # same version: lost the race
    assert await approval_store.update(approved.changed(notes="again")) is False  # not pending
    assert await approval_store.get("default", "apr_1") == approved


async def test_requests_are_listed_newest_first_by_status_and_run(
    approval_store: ApprovalStore,
) -> None:
    for i in range(3):
        await approval_store.create(new(f"apr_{i}", at=float(i)))
    done, _ = await approval_store.create(new("apr_done", at=9.0))
    await approval_store.update(done.changed(status="rejected"))
    pending = await approval_store.requests("default", statuses=("pending",))
    assert [r.approval_id for r in pending] == ["apr_2", "apr_1", "apr_0"]
    every = await approval_store.requests("default", limit=2)
    assert [r.approval_id for r in every] == ["apr_done", "apr_2"]
    by_run = await approval_store.requests("default", run_id="run-apr_1")
    assert [r.approval_id for r in by_run] == ["apr_1"]


async def test_tenants_never_see_each_others_requests(approval_store: ApprovalStore) -> None:
    await approval_store.create(new("apr_a", tenant="acme"))
    await approval_store.create(new("apr_b", tenant="globex"))
    assert [r.approval_id for r in await approval_store.requests("acme")] == ["apr_a"]
    assert await approval_store.get("acme", "apr_b") is None


async def test_decided_requests_wait_to_be_delivered(approval_store: ApprovalStore) -> None:
    stored, _ = await approval_store.create(new())
    assert await approval_store.undelivered("default") == []
    decided = stored.changed(status="approved")
    await approval_store.update(decided)
    assert [r.approval_id for r in await approval_store.undelivered("default")] == ["apr_1"]
    await approval_store.mark_delivered("default", "apr_1", 3.0)
    assert await approval_store.undelivered("default") == []


async def test_patterns_are_versioned_per_approver_set(approval_store: ApprovalStore) -> None:
    first = ApprovalPattern("default", "pat_1", ("alice",), {"name": "refund"}, 1.0, 1.0, version=1)
    other = dataclasses.replace(first, approvers=("bob",))
    assert await approval_store.save_pattern(first) is True
    assert await approval_store.save_pattern(other) is True
    assert await approval_store.save_pattern(first) is False  # version 1 exists already
    newer = dataclasses.replace(first, approvals=2.0, version=2)
    assert await approval_store.save_pattern(newer) is True
    assert await approval_store.save_pattern(dataclasses.replace(newer, approvals=9.0)) is False
    stored = await approval_store.patterns("default", "pat_1")
    assert [(p.approvers, p.approvals) for p in stored] == [(("alice",), 2.0), (("bob",), 1.0)]
    assert await approval_store.patterns("globex") == []
