"""``Governance``: one guard for policies, autonomy, checkpoints, budgets, redaction, audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext, RunStatus
from fluxio.errors import PolicyDenied, RunFailed, StepFailed
from fluxio.governance import (
    Actor,
    ApprovalRefused,
    ApprovalRoute,
    Approvals,
    AutonomySettings,
    Checkpoints,
    Governance,
    MemoryApprovalStore,
    MemoryAuditLog,
    PolicyEngine,
    SQLiteAuditLog,
    entity_redactors,
    parse_policies,
)
from fluxio.governance.audit import AuditQuery, digest, verify
from fluxio.governance.budgets import Budget, BudgetEnforcer, MemoryLedger
from fluxio.models import Message, ModelRequest, call_model
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import Tool, call_tool, tool

pytestmark = pytest.mark.anyio

DONE: list[str] = []
CAROL = Actor("carol", "user", ("ops",))


@tool(side_effects=False, category="crm")
async def lookup(customer: str) -> dict[str, str]:
    """Find a customer."""
    DONE.append(f"lookup {customer}")
    return {"customer": customer, "email": "jane@example.com"}


@tool(side_effects=True, idempotent=False, tags=("email",))
async def send_email(to: str, body: str, bcc: str = "") -> str:
    """Send an e-mail."""
    DONE.append(f"send {to} {body} {bcc}".strip())
    return "sent"


@tool(side_effects=True, idempotent=False, category="files")
async def delete_file(path: str) -> str:
    """Delete a file."""
    DONE.append(f"delete {path}")
    return "deleted"


@tool(side_effects=True, idempotent=True, cost_per_call=2.5, category="billing")
async def enrich(customer: str) -> str:
    """Buy enrichment data (costs money)."""
    DONE.append(f"enrich {customer}")
    return "enriched"


@pytest.fixture(autouse=True)
def forget() -> None:
    DONE.clear()


def calling(*calls: tuple[Tool, dict[str, Any]]) -> Any:
    """A workflow making these tool calls; a refused call is reported, not raised."""

    async def workflow(ctx: RunContext, _: object) -> list[Any]:
        results: list[Any] = []
        for chosen, arguments in calls:
            try:
                results.append(await call_tool(ctx, chosen, arguments))
            except StepFailed as failed:
                results.append(f"{failed.error_type}: {failed.message}")
        return results

    return workflow


def engine_for(governance: Governance, workflow: Any, store: Any = None) -> Engine:
    return Engine(store or MemoryStore(), workflows={"wf": workflow}, interceptors=[governance])


async def test_a_denied_call_never_runs_and_is_audited_with_the_policy_that_stopped_it() -> None:
    audit = MemoryAuditLog()
    policies = PolicyEngine(parse_policies("""
- id: no-delete
  rules: [{id: never, type: forbid, condition: 'tool.name == "delete_file"'}]
"""))  # fmt: skip
    workflow = calling((delete_file, {"path": "/etc"}), (lookup, {"customer": "c1"}))
    engine = engine_for(Governance(policies=policies, audit=audit), workflow)
    denied, found = await engine.run("wf")
    assert denied.startswith("PolicyDenied: run ")
    assert "denied by no-delete/never" in denied
    assert found["customer"] == "c1"
    assert DONE == ["lookup c1"]
    [decision] = await audit.entries("default", AuditQuery(action="policy.decision"))
    assert (decision.result, decision.target, decision.policies_violated) == (
        "denied", "tool:delete_file", ("no-delete",),
    )  # fmt: skip
    assert decision.payload["reasons"][0].startswith("denied by no-delete/never")
    [call] = await audit.entries("default", AuditQuery(action="tool.called"))
    assert (call.target, call.result, call.policies_evaluated) == (
        "tool:lookup", "success", ("no-delete",),
    )  # fmt: skip


async def test_transform_rules_rewrite_the_call_before_the_tool_sees_it() -> None:
    policies = PolicyEngine(parse_policies("""
- id: mail-hygiene
  scope: {applies_to: {tools: [send_email]}}
  rules:
    - id: scrub
      type: transform
      transform: {defaults: {bcc: audit@example.com}, redact_entities: [CARD]}
"""), redactor_for=entity_redactors())  # fmt: skip
    body = "card 4111 1111 1111 1111 on file"
    engine = engine_for(Governance(policies=policies),
                        calling((send_email, {"to": "a@acme.com", "body": body})))  # fmt: skip
    assert await engine.run("wf") == ["sent"]
    assert DONE == ["send a@acme.com card [CARD_1] on file audit@example.com"]


async def test_model_requests_are_redacted_before_the_model_sees_them() -> None:
    policies = PolicyEngine(parse_policies("""
- id: pii-to-models
  scope: {applies_to: {kinds: [model]}}
  rules: [{id: scrub, type: transform, transform: {redact_entities: [EMAIL, SECRET]}}]
"""), redactor_for=entity_redactors())  # fmt: skip
    model = FakeModel(["noted"])

    async def ask(ctx: RunContext, text: str) -> str | None:
        request = ModelRequest(messages=(Message(role="user", content=text),))
        return (await call_model(ctx, model, request)).content

    engine = engine_for(Governance(policies=policies), ask)
    text = "mail jane@example.com, key sk_live_51HcanaryKEYx9Q2w8E7r6T5y"
    assert await engine.run("wf", text) == "noted"
    seen = model.requests[0].messages[0].content or ""
    assert "jane@example.com" not in seen
    assert "sk_live" not in seen
    assert "[EMAIL_1]" in seen


@pytest.mark.parametrize(
    ("level", "expected", "done"),
    [
        (0, "PolicyDenied", []),
        (1, "draft", []),
        (5, "sent", ["send a@acme.com hi"]),
    ],
)
async def test_the_autonomy_ladder_refuses_drafts_or_runs_side_effects(
    level: int, expected: str, done: list[str]
) -> None:
    audit = MemoryAuditLog()
    governance = Governance(autonomy=AutonomySettings(default=level), audit=audit)
    mail = {"to": "a@acme.com", "body": "hi"}
    engine = engine_for(governance, calling((lookup, {"customer": "c1"}), (send_email, mail)))
    found, sent = await engine.run("wf")
    assert found["customer"] == "c1"  # reading is allowed at every level
    assert ["lookup c1", *done] == DONE
    if expected == "draft":
        assert sent["draft"] is True
        assert sent["arguments"] == {"to": "a@acme.com", "body": "hi"}
        [drafted] = await audit.entries("default", AuditQuery(action="tool.drafted"))
        assert drafted.payload["decision"] == "draft"
    elif expected == "PolicyDenied":
        assert sent.startswith("PolicyDenied")
        assert "autonomy level 0" in sent
        [denied] = await audit.entries("default", AuditQuery(result="denied"))
        assert denied.policies_violated == ("autonomy",)
    else:
        assert sent == expected


async def test_level_two_waits_for_a_one_click_approval() -> None:
    approvals = Approvals(MemoryApprovalStore())
    governance = Governance(autonomy=AutonomySettings(default=2), approvals=approvals)
    engine = engine_for(governance, calling((send_email, {"to": "a@acme.com", "body": "hi"})))
    approvals.bind(engine)
    run = await engine.start("wf")
    await engine.drive()
    [request] = await approvals.requests("default")
    assert request.policies == ("autonomy",)
    assert "autonomy level 2" in request.reason
    await approvals.approve("default", request.approval_id, by=CAROL)
    assert await engine.result(run.run_id) == ["sent"]


async def test_checkpoint_triggers_hold_risky_calls_and_skip_routine_ones() -> None:
    approvals = Approvals(MemoryApprovalStore(), route=ApprovalRoute(approvers=("role:ops",)))
    checkpoints = Checkpoints(messages=True, data_mutation=True, cost_above=1.0,
                              skip=("delete_*",))  # fmt: skip
    governance = Governance(checkpoints=checkpoints, approvals=approvals)
    engine = engine_for(governance, calling(
        (delete_file, {"path": "/tmp/x"}), (lookup, {"customer": "c1"}),
        (enrich, {"customer": "c1"}), (send_email, {"to": "a@b.c", "body": "hi"}),
    ))  # fmt: skip
    approvals.bind(engine)
    run = await engine.start("wf")
    await engine.drive()
    [first] = await approvals.requests("default")
    assert first.policies == ("checkpoint:cost_above",)
    assert DONE == ["delete /tmp/x", "lookup c1"]
    await approvals.approve("default", first.approval_id, by=CAROL)
    await engine.drive()
    second = (await approvals.requests("default"))[0]
    assert second.policies == ("checkpoint:messages",)
    await approvals.reject("default", second.approval_id, by=CAROL)
    results = await engine.result(run.run_id)
    assert results[:3] == ["deleted", {"customer": "c1", "email": "jane@example.com"}, "enriched"]
    assert "was not approved" in results[3]
    assert DONE == ["delete /tmp/x", "lookup c1", "enrich c1"]


async def test_an_action_that_needs_approval_without_a_desk_is_denied() -> None:
    governance = Governance(checkpoints=Checkpoints(side_effects=True))
    engine = engine_for(governance, calling((delete_file, {"path": "/x"})))
    [refused] = await engine.run("wf")
    assert "no Approvals desk" in refused
    assert DONE == []


async def test_limits_count_once_even_when_the_run_is_replayed() -> None:
    policies = PolicyEngine(parse_policies("""
- id: two-mails
  scope: {applies_to: {tools: [send_email]}}
  rules: [{id: cap, type: limit, limit: {count: 2, period: day, key: tool}}]
"""))  # fmt: skip

    async def workflow(ctx: RunContext, _: object) -> list[str]:
        out = []
        for i in range(3):
            try:
                out.append(await call_tool(ctx, send_email, {"to": "a@b.c", "body": str(i)}))
            except PolicyDenied:
                out.append("denied")
            await ctx.sleep(0)  # every step boundary suspends: the run replays from the top
        return out

    engine = engine_for(Governance(policies=policies), workflow)
    assert await engine.run("wf") == ["sent", "sent", "denied"]
    assert DONE == ["send a@b.c 0", "send a@b.c 1"]


async def test_a_hard_budget_stops_the_call_before_it_runs_and_an_approval_can_overspend() -> None:
    audit = MemoryAuditLog()
    budgets = [
        Budget("per-run", "run", limit_usd=4.0),
        Budget("tenant", "tenant", limit_usd=4.5, on_breach="approval"),
    ]
    approvals = Approvals(MemoryApprovalStore())
    governance = Governance(budget=BudgetEnforcer(MemoryLedger(), budgets), audit=audit,
                            approvals=approvals)  # fmt: skip
    engine = engine_for(governance, calling(
        (enrich, {"customer": "c1"}), (enrich, {"customer": "c2"}),
    ))  # fmt: skip
    approvals.bind(engine)
    first = await engine.run("wf")
    assert first[0] == "enriched"
    assert first[1].startswith("BudgetExceeded")
    assert DONE == ["enrich c1"]
    [exceeded] = await audit.entries("default", AuditQuery(action="budget.exceeded"))
    assert exceeded.result == "denied"

    run = await engine.start("wf")  # the tenant's $4.50 would be passed by its first call
    await engine.drive()
    [request] = await approvals.requests("default")
    assert request.policies == ("budget",)
    await approvals.approve("default", request.approval_id, by=CAROL, notes="worth it")
    second = await engine.result(run.run_id)
    assert second[0] == "enriched"
    assert DONE == ["enrich c1", "enrich c1"]


async def test_audit_entries_join_the_steps_commit_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "fluxio.db"
    store = SQLiteStore(path, durability="normal")
    audit = SQLiteAuditLog(path)
    governance = Governance(audit=audit, store=store)
    assert governance.trail.shared is store
    engine = engine_for(governance, calling(*[(lookup, {"customer": f"c{i}"}) for i in range(5)]),
                        store)  # fmt: skip
    await engine.run("wf")
    await governance.flush()
    entries = await audit.entries("default")
    assert [e.action for e in entries] == ["run.started", *["tool.called"] * 5, "run.completed"]
    assert verify("default", entries).ok
    await audit.close()
    await store.close()


async def test_an_agents_steps_act_as_the_agent() -> None:
    audit = MemoryAuditLog()
    engine = Engine(MemoryStore(), workflows={"agent:triage": calling((lookup, {"customer": "c"}))},
                    interceptors=[Governance(audit=audit)])  # fmt: skip
    await engine.run("agent:triage")
    [entry] = await audit.entries("default", AuditQuery(action="tool.called"))
    assert (entry.actor.id, entry.actor.type) == ("triage", "agent")


async def test_a_run_waiting_for_approval_is_waiting_for_approval() -> None:
    approvals = Approvals(MemoryApprovalStore())
    governance = Governance(checkpoints=Checkpoints(side_effects=True), approvals=approvals)
    engine = engine_for(governance, calling((delete_file, {"path": "/x"})))
    run = await engine.start("wf")
    await engine.drive()
    waiting = await engine.get(run.run_id)
    assert waiting.status is RunStatus.WAITING
    assert waiting.wait is not None
    assert waiting.wait.reason == "approval"
    assert DONE == []


async def test_a_replan_budget_fails_the_call_with_a_replan_signal() -> None:
    budgets = [Budget("lean", "run", limit_usd=1.0, on_breach="replan")]
    governance = Governance(budget=BudgetEnforcer(MemoryLedger(), budgets))

    async def workflow(ctx: RunContext, _: object) -> dict[str, Any]:
        try:
            await call_tool(ctx, enrich, {"customer": "c1"})
        except StepFailed as failed:
            return failed.details
        return {}

    assert await engine_for(governance, workflow).run("wf") == {
        "budget": "replan",
        "breach": "replan",
    }
    assert DONE == []


async def test_a_rejected_call_gives_its_budget_hold_back() -> None:
    budgets = [Budget("tenant", "tenant", limit_usd=3.0)]
    approvals = Approvals(MemoryApprovalStore())
    governance = Governance(budget=BudgetEnforcer(MemoryLedger(), budgets), approvals=approvals,
                            checkpoints=Checkpoints(cost_above=1.0))  # fmt: skip
    engine = engine_for(governance, calling((enrich, {"customer": "c1"})))
    approvals.bind(engine)
    for decide in (approvals.reject, approvals.approve):
        run = await engine.start("wf")
        await engine.drive()
        [request] = await approvals.requests("default")
        await decide("default", request.approval_id, by=CAROL)
        await engine.result(run.run_id)
    assert DONE == ["enrich c1"]  # the second call fit: the rejected one held nothing


def test_the_governed_step_benchmark_still_runs_and_reports_every_case() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "governance_step.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--steps", "20", "--runs", "1"],
        capture_output=True, text=True, timeout=100, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(x["durability"], x["metric"]) for x in lines] == [
        ("normal", "ungoverned"),
        ("normal", "governed, 10 policies"),
        ("normal", "governed, 100 policies"),
        ("normal", "no audit, 10 policies"),
        ("normal", "audit awaited, 10 policies"),
        ("full", "ungoverned"),
        ("full", "governed, 10 policies"),
        ("postgres", "ungoverned"),
        ("postgres", "governed, 10 policies"),
    ]
    assert all(x["value"] > 0 and x["params"]["ratio"] > 0 for x in lines)


async def test_cancelling_a_run_that_waits_for_approval_withdraws_the_request() -> None:
    audit = MemoryAuditLog()
    approvals = Approvals(MemoryApprovalStore())
    governance = Governance(checkpoints=Checkpoints(side_effects=True), approvals=approvals,
                            audit=audit)  # fmt: skip
    engine = engine_for(governance, calling((delete_file, {"path": "/x"})))
    run = await engine.start("wf")
    await engine.drive()
    [request] = await approvals.requests("default")
    await engine.cancel(run.run_id, reason="customer withdrew")
    withdrawn = await approvals.get("default", request.approval_id)
    assert (withdrawn.status, withdrawn.decided_by) == ("cancelled", "fluxio")
    assert withdrawn.notes == f"run {run.run_id} ended cancelled before a decision"
    assert await approvals.requests("default") == []
    with pytest.raises(ApprovalRefused, match="already cancelled"):
        await approvals.approve("default", request.approval_id, by=CAROL)
    actions = [e.action for e in await audit.entries("default")]
    assert actions == [
        "run.started", "approval.requested", "approval.cancelled", "run.cancelled",
        "approval.refused",  # the late approval, refused and audited
    ]  # fmt: skip
    assert DONE == []


async def test_run_lifecycle_entries_say_how_each_run_ended() -> None:
    audit = MemoryAuditLog()

    async def broken(ctx: RunContext, _: object) -> None:
        raise ValueError("no")

    engine = Engine(MemoryStore(), workflows={"ok": calling(), "broken": broken},
                    interceptors=[Governance(audit=audit)])  # fmt: skip
    assert await engine.run("ok") == []
    with pytest.raises(RunFailed):
        await engine.run("broken")
    entries = await audit.entries("default", AuditQuery(action="run.*"))
    assert [(e.action, e.target, e.result, e.error) for e in entries] == [
        ("run.started", "workflow:ok", "success", None),
        ("run.completed", "workflow:ok", "success", None),
        ("run.started", "workflow:broken", "success", None),
        ("run.failed", "workflow:broken", "failure", "ValueError"),
    ]
    assert entries[1].outputs_digest == digest([])


async def test_policies_see_the_budget_the_ledger_holds() -> None:
    policies = PolicyEngine(parse_policies("""
- id: keep-a-reserve
  scope: {applies_to: {tools: [enrich]}}
  rules:
    - id: reserve
      type: forbid
      condition: 'budget.remaining_usd < 6.0'
      message: keep $6 of the run budget for follow-ups
"""))  # fmt: skip
    budgets = [
        Budget("per-run", "run", limit_usd=10.0),
        Budget("tenant", "tenant", limit_usd=100.0),  # looser: the run budget is the tightest
    ]
    ledger = MemoryLedger()
    governance = Governance(policies=policies, budget=BudgetEnforcer(ledger, budgets))
    engine = engine_for(governance, calling(*[(enrich, {"customer": f"c{i}"}) for i in range(3)]))
    results = await engine.run("wf")
    assert results[:2] == ["enriched", "enriched"]  # $10 and $7.50 left when they were judged
    assert results[2].startswith("PolicyDenied")  # $5 left
    assert "keep $6 of the run budget for follow-ups" in results[2]
    assert DONE == ["enrich c0", "enrich c1"]


async def test_a_policy_can_forbid_starting_a_child_run() -> None:
    policies = PolicyEngine(parse_policies("""
- id: no-payouts-from-triage
  scope: {applies_to: {workflows: [triage]}}
  rules: [{id: payouts, type: forbid, condition: 'action.name == "child:payout"'}]
"""))  # fmt: skip
    audit = MemoryAuditLog()

    async def triage(ctx: RunContext, _: object) -> str:
        try:
            return str(await ctx.child("payout", 100))
        except PolicyDenied as denied:
            return f"denied by {denied.policies}"

    async def payout(ctx: RunContext, amount: int) -> str:
        DONE.append(f"payout {amount}")
        return "paid"

    engine = Engine(MemoryStore(), workflows={"triage": triage, "payout": payout},
                    interceptors=[Governance(policies=policies, audit=audit)])  # fmt: skip
    assert await engine.run("triage") == "denied by ('no-payouts-from-triage',)"
    assert DONE == []
    assert [r.workflow for r in await engine.list_runs()] == ["triage"]
    [denial] = await audit.entries("default", AuditQuery(action="policy.decision"))
    assert (denial.target, denial.result) == ("step:child:payout", "denied")
