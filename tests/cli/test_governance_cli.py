"""A workspace's ``governance.yaml``: ``fluxio run`` and the commands after it obey it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.cli.conftest import Fluxio, run_id_in

REVIEW = """
- id: review-refunds
  scope: {applies_to: {tools: [refund]}}
  violation_action: escalate
  rules:
    - {id: small-only, type: require, condition: 'arguments.amount <= 10.0'}
"""

FORBID = """
- id: no-refunds
  scope: {applies_to: {tools: [refund]}}
  rules:
    - {id: never, type: forbid, condition: 'arguments.amount > 10.0', message: refunds are paused}
"""


@pytest.fixture
def governed(fluxio: Fluxio, refund_files: tuple[Path, Path]) -> tuple[Path, Path]:
    (fluxio.cwd / "governance.yaml").write_text(
        "policies: [policies.yaml]\napprovals: {route: {approvers: ['role:finance']}}\n"
    )
    return refund_files


def approval_in(output: str) -> str:
    found = re.search(r"apr_[0-9a-f]+", output)
    assert found, output
    return found.group(0)


def test_a_policy_in_governance_yaml_denies_the_call_and_the_audit_says_so(
    fluxio: Fluxio, governed: tuple[Path, Path]
) -> None:
    (fluxio.cwd / "policies.yaml").write_text(FORBID)
    workflow, tools = governed
    result = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 7}')
    assert result.exit_code == 1, result.output
    assert "refunds are paused" in result.output
    listed = fluxio("audit", "list")
    assert listed.exit_code == 0, listed.output
    for action in ("run.started", "tool.called", "policy.decision", "run.failed"):
        assert action in listed.output
    denial = fluxio("audit", "list", "--action", "policy.decision", "--json")
    [entry] = [json.loads(line) for line in denial.output.splitlines()]
    assert (entry["target"], entry["result"], entry["policies_violated"]) == (
        "tool:refund", "denied", ["no-refunds"],
    )  # fmt: skip
    verified = fluxio("audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_a_held_call_is_decided_with_fluxio_approvals_and_the_run_continues(
    fluxio: Fluxio, governed: tuple[Path, Path]
) -> None:
    (fluxio.cwd / "policies.yaml").write_text(REVIEW)
    workflow, tools = governed
    held = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 7}')
    assert held.exit_code == 3, held.output
    approval, run_id = approval_in(held.output), run_id_in(held.output)
    assert f"fluxio --db {fluxio.db} approvals approve {approval}" in held.output
    assert "· governance:approval.open" in held.output  # its bookkeeping, shown quietly
    wrong = fluxio("approve", run_id, approval)
    assert wrong.exit_code == 2
    assert "decide it with" in wrong.output
    assert "approvals approve" in wrong.output
    refused = fluxio("approvals", "approve", approval, "--by", "eve")
    assert refused.exit_code == 2, refused.output  # not in role finance: four-eyes
    approved = fluxio("approvals", "approve", approval, "--by", "lee", "--role", "finance")
    assert approved.exit_code == 0, approved.output
    assert '"refunded": 20.0' in approved.output
    assert fluxio.status(run_id) == "completed"


def test_cancelling_a_held_run_withdraws_its_request(
    fluxio: Fluxio, governed: tuple[Path, Path]
) -> None:
    (fluxio.cwd / "policies.yaml").write_text(REVIEW)
    workflow, tools = governed
    held = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 7}')
    approval, run_id = approval_in(held.output), run_id_in(held.output)
    assert fluxio("cancel", run_id).exit_code == 0
    shown = fluxio("approvals", "show", approval)
    assert "cancelled" in shown.output
    assert "before a decision" in shown.output
    late = fluxio("approvals", "approve", approval, "--by", "lee", "--role", "finance")
    assert late.exit_code == 2
    assert "already cancelled" in late.output


def test_a_bad_governance_file_is_a_clear_error_before_anything_runs(
    fluxio: Fluxio, refund_files: tuple[Path, Path]
) -> None:
    workflow, tools = refund_files
    (fluxio.cwd / "governance.yaml").write_text("polices: [policies.yaml]\n")
    result = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 7}')
    assert result.exit_code == 2, result.output
    assert "governance.yaml, polices" in result.output
    assert "the sections are policies, autonomy" in result.output
    (fluxio.cwd / "governance.yaml").write_text("policies: [missing.yaml]\n")
    missing = fluxio("run", str(workflow), "--tools", str(tools))
    assert missing.exit_code == 2
    assert "missing.yaml" in missing.output
    assert "does not exist" in missing.output
    other = fluxio("--governance", "nope.yaml", "run", str(workflow), "--tools", str(tools))
    assert other.exit_code == 2
    assert "the governance file nope.yaml does not exist" in other.output
    assert not fluxio.db.exists()  # nothing was created or run


def test_governance_check_shows_what_is_in_force(fluxio: Fluxio) -> None:
    (fluxio.cwd / "policies.yaml").write_text(FORBID)
    assert fluxio("audit", "keygen", "--key", "audit.pem").exit_code == 0
    (fluxio.cwd / "governance.yaml").write_text("""
policies: [policies.yaml]
autonomy: {default: 4, tools: {"delete_*": 0}}
checkpoints: {side_effects: true, skip: [lookup]}
approvals:
  route: {approvers: ["role:support-lead"], expires_after: 2d}
  routes: {refund: {approvers: ["role:finance"], rule: all}}
budgets: [{name: daily, scope: day, limit_usd: 20}]
audit: {signing_key: audit.pem, checkpoint_every: 1000}
""")
    result = fluxio("governance", "check")
    assert result.exit_code == 0, result.output
    for shown in (
        "1: no-refunds",
        "default 4 (narrow autonomy); tool delete_* 0 (observe only)",
        "side_effects (never: lookup)",
        "role:support-lead, rule any, expires after 2d (reject)",
        "refund: role:finance, rule all",
        "daily: $20 per day",
        "a checkpoint every 1000 entries",
        "governance.yaml: valid; runs started or continued here obey it",
    ):
        assert shown in result.output
    (fluxio.cwd / "governance.yaml").unlink()
    missing = fluxio("governance", "check")
    assert missing.exit_code == 2
    assert "runs started here are not governed" in missing.output
    other = fluxio("governance", "check", "policies.yaml")  # a policy file is not one
    assert other.exit_code == 2
    assert "policies.yaml" in other.output
