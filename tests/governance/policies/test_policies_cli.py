"""``fluxio policy check`` and ``fluxio policy test``: validation, explanations, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fluxio.cli.main import app

POLICIES = """
- id: no-delete
  rules:
    - {id: forbid-delete, type: forbid, condition: 'tool.name == "delete_file"'}
- id: big-refunds
  scope: {applies_to: {tools: [refund]}}
  violation_action: escalate
  rules:
    - {id: small, type: require, condition: 'arguments.amount <= 100.0'}
- id: scrub
  scope: {applies_to: {tools: [send_email]}}
  rules:
    - {id: body, type: transform, transform: {redact_paths: [body]}}
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(POLICIES, encoding="utf-8")
    return path


def fluxio(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_check_lists_the_policies_of_a_valid_file(policy_file: Path) -> None:
    result = fluxio("policy", "check", str(policy_file))
    assert result.exit_code == 0, result.output
    assert "3 policies, 3 rules, all valid" in result.output
    assert "big-refunds" in result.output
    assert "escalate" in result.output
    assert "tools refund" in result.output


def test_check_reports_a_bad_file_with_its_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICIES.replace("type: forbid", "type: forbidd"), encoding="utf-8")
    result = fluxio("policy", "check", str(bad))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    text = " ".join(result.stderr.split())
    assert f"{bad}:4:" in text
    assert "unknown rule type 'forbidd'" in text
    assert "Did you mean 'forbid'?" in text


@pytest.mark.parametrize(
    ("action", "code", "outcome"),
    [
        ({"tool": {"name": "delete_file"}}, 1, "deny"),
        ({"tool": {"name": "refund"}, "arguments": {"amount": 500.0}}, 3, "require_approval"),
        ({"tool": {"name": "refund"}, "arguments": {"amount": 5.0}}, 0, "allow"),
        ({"tool": {"name": "send_email"}, "arguments": {"body": "x"}}, 0, "transform"),
    ],
)
def test_test_exits_by_outcome(
    policy_file: Path, action: dict[str, object], code: int, outcome: str
) -> None:
    result = fluxio("policy", "test", str(policy_file), "--action", json.dumps(action))
    assert result.exit_code == code, result.output
    assert f"decision  {outcome}" in result.output


def test_test_prints_a_table_of_every_rule_and_why(policy_file: Path) -> None:
    action = {"tool": {"name": "refund"}, "arguments": {"amount": 500.0}}
    result = fluxio("policy", "test", str(policy_file), "--action", json.dumps(action))
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert any("big-refunds │ small │ yes │ violated → require_approval" in ln for ln in lines)
    assert any("no-delete │ forbid-delete │ yes │ satisfied" in ln for ln in lines)
    assert any("scrub │ - │ no │ skipped │ applies to tools send_email" in ln for ln in lines)
    assert "violated  big-refunds" in result.output


def test_test_shows_rewritten_arguments(policy_file: Path) -> None:
    action = {"tool": {"name": "send_email"}, "arguments": {"body": "secret", "to": "x"}}
    result = fluxio("policy", "test", str(policy_file), "--action", json.dumps(action))
    assert 'arguments {"body": "[REDACTED]", "to": "x"}' in result.output


def test_test_reads_the_action_from_a_file_and_prints_json(
    policy_file: Path, tmp_path: Path
) -> None:
    action_file = tmp_path / "action.json"
    action_file.write_text(json.dumps({"tool": {"name": "delete_file"}}), encoding="utf-8")
    result = fluxio("policy", "test", str(policy_file), "-a", f"@{action_file}", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["outcome"] == "deny"
    assert data["policies_violated"] == ["no-delete"]
    assert [e["policy"] for e in data["explanations"]] == ["no-delete", "big-refunds", "scrub"]


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ("{nope", "--action is not valid JSON"),
        ('{"tol": {}}', "the action JSON is invalid at tol"),
        ('{"actor": {"type": "robot"}}', "invalid at actor.type"),
    ],
)
def test_test_refuses_a_bad_action_with_exit_code_2(
    policy_file: Path, action: str, fragment: str
) -> None:
    result = fluxio("policy", "test", str(policy_file), "--action", action)
    assert result.exit_code == 2
    assert fragment in " ".join(result.stderr.split())


def test_the_installed_command_runs_as_a_real_process(policy_file: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fluxio.cli.main",
            "policy",
            "test",
            str(policy_file),
            "--action",
            '{"tool": {"name": "delete_file"}}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "denied by no-delete/forbid-delete" in " ".join(done.stdout.split())
