"""``governance.yaml``: loading and checking it, and the guard it builds on every store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext, RunStatus
from fluxio.errors import DefinitionError, PolicyDenied, UsageError
from fluxio.governance import Actor
from fluxio.governance.audit import AuditQuery, generate_signing_key, write_key_pair
from fluxio.governance.config import load_governance, open_governance
from fluxio.store.base import Store
from fluxio.store.sqlite import SQLiteStore
from fluxio.tools import call_tool, tool

pytestmark = pytest.mark.anyio

DONE: list[str] = []

POLICIES = """
- id: no-deletes
  rules: [{id: never, type: forbid, condition: 'tool.name == "delete_order"'}]
- id: review-refunds
  scope: {applies_to: {tools: [refund]}}
  violation_action: escalate
  rules: [{id: small-only, type: require, condition: 'arguments.amount <= 50.0'}]
"""


@tool(side_effects=True, idempotent=False)
async def refund(order: str, amount: float) -> str:
    """Refund an order."""
    DONE.append(f"refund {order} {amount:g}")
    return "refunded"


@tool(side_effects=True, idempotent=False)
async def delete_order(order: str) -> str:
    """Delete an order."""
    DONE.append(f"delete {order}")
    return "deleted"


async def support(ctx: RunContext, amount: float) -> list[str]:
    done = []
    for chosen, arguments in ((delete_order, {"order": "A-1"}),
                              (refund, {"order": "A-1", "amount": amount})):  # fmt: skip
        try:
            done.append(await call_tool(ctx, chosen, arguments))
        except PolicyDenied as denied:
            done.append(f"denied: {denied.policies}")
    return done


def write(tmp_path: Path, text: str, **files: str) -> Path:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "governance.yaml"
    path.write_text(text)
    return path


def test_every_section_loads_and_what_it_names_is_read(tmp_path: Path) -> None:
    write_key_pair(generate_signing_key(), tmp_path / "audit.pem")
    path = write(tmp_path, """
policies: policies.yaml
autonomy: {default: 4, tools: {"delete_*": 0}, allow_list: [refund]}
checkpoints: {cost_above: 2.5, skip: [lookup]}
approvals:
  route: {approvers: ["role:support"], expires_after: 2d}
  routes: {refund: {approvers: ["role:finance"], rule: all}}
budgets:
  - {name: daily, scope: day, limit_usd: 20}
audit: {signing_key: audit.pem, checkpoint_every: 100}
redact: false
""", **{"policies.yaml": POLICIES})  # fmt: skip
    loaded = load_governance(path)
    assert [p.id for p in loaded.policies] == ["no-deletes", "review-refunds"]
    assert loaded.spec.autonomy is not None
    assert int(loaded.spec.autonomy.default) == 4
    assert loaded.spec.checkpoints is not None
    assert loaded.spec.checkpoints.cost_above == 2.5
    assert loaded.spec.approvals is not None
    assert loaded.spec.approvals.routes["refund"].rule == "all"
    assert loaded.spec.approvals.route.expires_after == 2 * 86400
    assert [b.name for b in loaded.budgets] == ["daily"]
    assert loaded.signing_key is not None
    assert loaded.audited


@pytest.mark.parametrize(
    ("text", "files", "error", "message"),
    [
        ("autonomy: {default: 9}\n", {}, UsageError, "governance.yaml, autonomy.default"),
        ("audit: {checkpoint_every: 10}\n", {}, UsageError, "need audit.signing_key"),
        ("budgets: budgets.yaml\n", {}, UsageError, "budgets.yaml does not exist"),
        ("policies: [p.yaml]\n", {"p.yaml": "- id: x\n  rules: [{id: r, type: nope}]\n"},
         DefinitionError, "p.yaml"),
        ("approvals: {route: {rule: most}}\n", {}, UsageError, "approvals.route.rule"),
        ("- just a list\n", {}, UsageError, "governance.yaml"),
        ("policies: [p.yaml\n", {}, UsageError, "is not valid YAML"),
    ],
)  # fmt: skip
def test_mistakes_are_reported_with_the_file_and_the_field(
    tmp_path: Path, text: str, files: dict[str, str], error: type, message: str
) -> None:
    with pytest.raises(error, match=message.replace(".", r"\.")):
        load_governance(write(tmp_path, text, **files))


async def test_the_guard_it_builds_governs_runs_on_every_store(
    store: Store, tmp_path: Path
) -> None:
    DONE.clear()
    file = load_governance(write(tmp_path, """
policies: [policies.yaml]
approvals: {route: {approvers: ["role:finance"]}}
""", **{"policies.yaml": POLICIES}))  # fmt: skip
    async with open_governance(file, store) as governance:
        engine = Engine(store, workflows={"support": support}, interceptors=[governance])
        assert await engine.run("support", 20.0) == ["denied: ('no-deletes',)", "refunded"]
        held = await engine.start("support", 80.0)
        await engine.drive()
        assert governance.approvals is not None
        [request] = await governance.approvals.requests("default")
        assert request.approvers == ("role:finance",)
        await governance.approvals.approve(
            "default", request.approval_id, by=Actor("lee", "user", ("finance",))
        )
        await engine.drive()
        assert await engine.result(held.run_id) == ["denied: ('no-deletes',)", "refunded"]
        cancelled = await engine.start("support", 90.0)
        await engine.drive()
        await engine.cancel(cancelled.run_id)
        assert (await engine.get(cancelled.run_id)).status is RunStatus.CANCELLED
        assert await governance.approvals.requests("default") == []
        await governance.flush()
        assert governance.trail.log is not None
        actions: list[Any] = [
            e.action for e in await governance.trail.log.entries("default", AuditQuery())
        ]
    assert DONE == ["refund A-1 20", "refund A-1 80"]
    assert actions.count("policy.decision") == 3
    assert actions.count("approval.cancelled") == 1
    assert actions[-1] == "run.cancelled"


async def test_a_changed_configuration_is_audited_once(tmp_path: Path) -> None:
    text = "policies: [policies.yaml]\nbudgets: [{name: daily, scope: day, limit_usd: 20}]\n"
    path = write(tmp_path, text, **{"policies.yaml": POLICIES})
    store = SQLiteStore(tmp_path / "fluxio.db", durability="normal")

    async def opened() -> list[Any]:
        async with open_governance(load_governance(path), store, tenant="acme") as governance:
            assert governance.trail.log is not None
            query = AuditQuery(action="config.changed")
            return await governance.trail.log.entries("acme", query)

    [first] = await opened()
    assert first.target == f"governance:{path.resolve()}"
    assert [p["id"] for p in first.payload["policies"]] == ["no-deletes", "review-refunds"]
    assert len(await opened()) == 1  # the same configuration: nothing new to record
    (tmp_path / "policies.yaml").write_text(POLICIES.replace("50.0", "75.0"))
    changed = await opened()
    assert len(changed) == 2
    assert changed[1].inputs_digest != first.inputs_digest
    before = {p["id"]: p["digest"] for p in first.payload["policies"]}
    after = {p["id"]: p["digest"] for p in changed[1].payload["policies"]}
    assert before["no-deletes"] == after["no-deletes"]
    assert before["review-refunds"] != after["review-refunds"]
    await store.close()
