"""Rules any | all | majority, routes, and edits checked against the tool's schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.governance.approvals.support import ALICE, BOB, REFUNDED, Desk, refund

from fluxio.errors import UsageError
from fluxio.governance import (
    ApprovalRefused,
    ApprovalRequest,
    ApprovalRoute,
    Approvals,
    MemoryApprovalStore,
)
from fluxio.governance.approvals import Vote, tally
from fluxio.governance.approvals.request import parse_duration

pytestmark = pytest.mark.anyio


def request(rule: str = "any", approvers: tuple[str, ...] = (), **extra: Any) -> ApprovalRequest:
    return ApprovalRequest(
        approval_id="apr_1", tenant_id="default", run_id="r", step_key="1",
        action_type="tool_call",
        action_details={"kind": "tool", "name": "refund",
                        "arguments": {"order": "A", "amount": 5.0},
                        "input_schema": refund.contract.input_schema},
        requester="agent-7", requester_type="agent", reason="big", requested_at=0.0,
        approvers=approvers, rule=rule,  # type: ignore[arg-type]
        **extra,
    )  # fmt: skip


def votes(*pairs: tuple[str, str]) -> tuple[Vote, ...]:
    return tuple(Vote(who, choice, 1.0, roles=("finance",)) for who, choice in pairs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "cast", "expected"),
    [
        ("any", [("alice", "reject")], "reject"),
        ("any", [("alice", "approve")], "approve"),
        ("all", [("alice", "approve")], None),
        ("all", [("alice", "approve"), ("bob", "approve")], None),
        ("all", [("alice", "approve"), ("bob", "approve"), ("dan", "approve")], "approve"),
        ("all", [("alice", "approve"), ("bob", "reject")], "reject"),
        ("majority", [("alice", "approve")], None),
        ("majority", [("alice", "approve"), ("bob", "approve")], "approve"),
        ("majority", [("alice", "reject"), ("bob", "reject")], "reject"),
        ("majority", [("alice", "approve"), ("bob", "reject")], None),
    ],
)
def test_votes_add_up_under_the_rule(
    rule: str, cast: list[tuple[str, str]], expected: str | None
) -> None:
    seats = ("alice", "role:finance", "role:finance")
    assert tally(replace_votes(request(rule, seats), votes(*cast))) == expected


def replace_votes(req: ApprovalRequest, cast: tuple[Vote, ...]) -> ApprovalRequest:
    return req.changed(votes=cast)


def test_after_escalation_one_escalation_target_decides_alone() -> None:
    req = request("all", ("alice", "bob"), escalation_to=("role:manager",), escalated_at=5.0)
    cast = (Vote("carol", "approve", 6.0, roles=("manager",)),)
    assert tally(req.changed(votes=cast)) == "approve"


def test_a_request_round_trips_through_json() -> None:
    req = request("majority", ("alice",), votes=votes(("alice", "approve")), expires_at=9.0)
    assert ApprovalRequest.from_dict(req.to_dict()) == req


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rule": "all"}, "rule 'all' needs a list of approvers"),
        ({"escalate_after": "1h"}, "escalate_after needs escalate_to"),
        ({"on_expiry": "escalate"}, "on_expiry 'escalate' needs escalate_to"),
        ({"expires_after": "soon"}, "'soon' is not a duration"),
        ({"expires_after": -5}, "a duration must be positive"),
        ({"rule": "most"}, "rule"),
    ],
)
def test_a_route_that_cannot_work_is_refused_when_it_is_built(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ApprovalRoute.model_validate(data)


def test_durations_read_seconds_minutes_hours_and_days() -> None:
    assert [parse_duration(v) for v in (90, "30m", "4h", "2d", "1.5h", None)] == [
        90.0, 1800.0, 14400.0, 172800.0, 5400.0, None,
    ]  # fmt: skip


async def test_rule_all_needs_every_seat_and_a_person_votes_once() -> None:
    store = MemoryApprovalStore()
    desk = Approvals(store)
    held, _ = await store.create(request("all", ("alice", "role:finance")))
    first = await desk.approve("default", held.approval_id, by=ALICE)
    assert first.pending
    with pytest.raises(ApprovalRefused, match="'alice' has already voted"):
        await desk.approve("default", held.approval_id, by=ALICE)
    second = await desk.approve("default", held.approval_id, by=BOB)
    assert (second.status, second.decided_by) == ("approved", "alice,bob")


async def test_an_edit_is_checked_against_the_tools_schema_and_then_used(desk: Desk) -> None:
    approval_id = await desk.held(250.0)
    with pytest.raises(ApprovalRefused, match=r"argument 'amount'.*is not of type 'number'"):
        await desk.approvals.approve("default", approval_id, by=ALICE,
                                     arguments={"order": "A-1", "amount": "all of it"})  # fmt: skip
    with pytest.raises(ApprovalRefused, match="only an approval can carry edited arguments"):
        await desk.approvals.decide("default", approval_id, "reject", by=ALICE,
                                    arguments={"order": "A-1", "amount": 1.0})  # fmt: skip
    edited = {"order": "A-1", "amount": 99.0}
    decided = await desk.approvals.approve("default", approval_id, by=ALICE, arguments=edited)
    assert decided.edited_arguments == edited
    assert await desk.engine.result(decided.run_id) == "refunded 99 on A-1"
    assert REFUNDED == [("A-1", 99.0)]


async def test_an_edit_that_breaks_a_policy_is_still_denied() -> None:
    from fluxio.governance import PolicyEngine, parse_policies
    from fluxio.store.memory import MemoryStore

    desk = Desk(MemoryStore(), MemoryApprovalStore())
    desk.governance.judge.policies = PolicyEngine(parse_policies("""
- id: refunds-need-approval
  scope: {applies_to: {tools: [refund]}}
  violation_action: escalate
  rules: [{id: small-only, type: require, condition: 'arguments.amount <= 100.0'}]
- id: no-huge-refunds
  scope: {applies_to: {tools: [refund]}}
  rules: [{id: cap, type: forbid, condition: 'arguments.amount > 1000.0'}]
"""))  # fmt: skip
    approval_id = await desk.held(250.0)
    edited = {"order": "A-1", "amount": 5000.0}
    decided = await desk.approvals.approve("default", approval_id, by=ALICE, arguments=edited)
    result = await desk.engine.result(decided.run_id)
    assert "denied by no-huge-refunds/cap" in result
    assert REFUNDED == []


async def test_a_decision_on_an_unknown_request_names_the_command_to_list_them() -> None:
    desk = Approvals(MemoryApprovalStore())
    with pytest.raises(UsageError, match=r"no approval 'apr_nope'.*fluxio approvals list"):
        await desk.approve("default", "apr_nope", by=ALICE)
    with pytest.raises(UsageError, match="'approve' or 'reject', not 'maybe'"):
        await desk.decide("default", "apr_nope", "maybe", by=ALICE)  # type: ignore[arg-type]
