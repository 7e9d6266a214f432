"""Budget definitions: scopes, filters, and YAML loading with clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from budget_steps import NOON, tool_step

from fluxio.errors import DefinitionError
from fluxio.governance.budgets import Budget, StepScope, agent_of, load_budgets, parse_budgets

YAML = """
budgets:
  - name: acme-daily
    scope: day
    tenant: acme
    limit_usd: 50
  - name: triage-run
    scope: run
    workflow: triage
    limit_usd: 0.25
    limit_tokens: 20000
    on_breach: approval
  - name: agent-soft
    scope: agent
    per: day
    mode: soft
    limit_tokens: 100000
"""


def test_budgets_load_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(YAML, encoding="utf-8")
    daily, triage, soft = load_budgets(path)
    assert daily == Budget("acme-daily", "day", limit_usd=50.0, tenant="acme")
    assert (triage.on_breach, triage.limit_tokens, triage.mode) == ("approval", 20000, "hard")
    assert (soft.mode, soft.per, soft.limit_usd) == ("soft", "day", None)
    assert parse_budgets("- {name: a, scope: tenant, limit_usd: 1}")[0].name == "a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: a, scope: run}", "budget #1 ('a'): give limit_usd, limit_tokens or both"),
        ("- {name: a, scope: week, limit_usd: 1}", "budget #1 ('a'): scope: Input should be"),
        ("- {name: a, scope: run, limit_usd: -1}", "limit_usd: Input should be greater than"),
        ("- {name: a, scope: run, limt_usd: 1}", "unknown field 'limt_usd'; the fields are name"),
        ("- {name: a, scope: run, limit_usd: 1, on_breach: pray}", "on_breach: Input should be"),
        ("- just a string", "budget #1 must be a mapping"),
        ("name: a", "expected a list of budgets"),
        (
            "- {name: a, scope: run, limit_usd: 1}\n- {name: a, scope: day, limit_usd: 2}",
            "two budgets are named 'a'",
        ),
        ("budgets: [", "not valid YAML"),
    ],
)
def test_a_bad_budget_file_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as bad:
        parse_budgets(text, "budgets.yaml")
    assert message in str(bad.value)
    assert str(bad.value).startswith("budgets.yaml: ")


def test_a_missing_budget_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the budget file"):
        load_budgets(tmp_path / "nope.yaml")


def test_scopes_name_the_counter_a_budget_counts_in() -> None:
    step = StepScope("acme", "r1", "triage", "support", "2025-03-03")
    keys = {
        kind: Budget("b", kind, limit_usd=1).scope_of(step).key  # type: ignore[arg-type, union-attr]
        for kind in ("run", "agent", "workflow", "tenant", "day")
    }
    assert keys == {
        "run": "run:r1",
        "agent": "agent:support",
        "workflow": "workflow:triage",
        "tenant": "tenant",
        "day": "tenant@2025-03-03",
    }
    daily_agent = Budget("b", "agent", limit_usd=1, per="day").scope_of(step)
    assert daily_agent is not None
    assert daily_agent.key == "agent:support@2025-03-03"


def test_the_agent_comes_from_metadata_or_an_agent_run() -> None:
    assert agent_of(tool_step(1, agent="support")) == "support"
    assert agent_of(tool_step(1, workflow="agent:triager")) == "triager"
    assert agent_of(tool_step(1)) is None
    scope = StepScope.of(tool_step(1, agent="a"), agent="a", now=NOON)
    assert (scope.day, scope.step_name) == ("2025-03-03", "tool:lookup")


def test_describe_says_limits_mode_and_period() -> None:
    budget = Budget("d", "day", limit_usd=5, limit_tokens=10, on_breach="replan")
    assert budget.describe() == "'d' (hard, replan): $5.00 and 10 tokens per day"
    soft = dataclasses.replace(budget, scope="agent", mode="soft", per="day")
    assert soft.describe() == "'d' (soft): $5.00 and 10 tokens per agent per day"
