"""Cost preflight: estimates from tables and history, verdicts, and the estimation error."""

from __future__ import annotations

import datetime as dt

import pytest
from budget_steps import DAY, NOON, Clock, model_step, tool_step

from fluxio.governance.budgets import (
    ActualCost,
    Budget,
    BudgetEnforcer,
    EstimateRecord,
    Ledger,
    PlannedStep,
    StepAverage,
    Totals,
    estimate_step,
    estimate_workflow,
    estimation_error,
    estimation_report,
    preflight,
)
from fluxio.governance.budgets.preflight import epoch_of
from fluxio.models import Message, ModelRequest, ModelSettings

pytestmark = pytest.mark.anyio

PLAN = [
    PlannedStep.model_call("gpt-4o-mini", "x" * 400, max_tokens=200),
    PlannedStep.tool_call("search", cost_per_call=0.01, count=3),
]
MODEL_USD = (100 * 0.15 + 200 * 0.60) / 1_000_000


def test_a_plan_is_estimated_from_the_price_table_and_tool_contracts() -> None:
    estimate = estimate_workflow(PLAN, workflow="triage")
    model, search = estimate.steps
    assert (model.name, model.tokens, model.source) == ("model:gpt-4o-mini", 300, "table")
    assert model.usd == pytest.approx(MODEL_USD)
    assert (search.name, search.count, search.usd, search.tokens) == ("tool:search", 3, 0.03, 0)
    assert estimate.usd == pytest.approx(MODEL_USD + 0.03)
    assert (estimate.workflow, estimate.tokens) == ("triage", 300)


def test_a_planned_model_call_can_be_a_request() -> None:
    request = ModelRequest(messages=(Message.user("y" * 40),), settings=ModelSettings(max_tokens=7))
    step = PlannedStep.model_call("gpt-4o", request, count=2)
    assert (step.input_tokens, step.output_tokens, step.count) == (10, 7, 2)
    assert estimate_workflow([step]).tokens == 34


def test_observed_averages_replace_the_static_guess_once_there_are_enough() -> None:
    history = {"tool:search": StepAverage("tool:search", 4, 0.02, 0.0)}
    estimate = estimate_workflow(PLAN, history=history)
    assert [s.source for s in estimate.steps] == ["table", "history"]
    assert estimate.steps[1].usd == pytest.approx(0.06)
    too_few = estimate_workflow(PLAN, history=history, min_samples=5)
    assert [s.source for s in too_few.steps] == ["table", "table"]


async def test_the_ledgers_history_calibrates_the_next_estimate(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger)
    for i, (usd, tokens) in enumerate(((0.001, 150), (0.003, 250))):
        step = model_step(key=str(i), workflow="triage", prompt="x" * 400, max_tokens=200)
        reservation = await gate.reserve(step, estimate_step(step))
        await gate.reconcile(reservation, ActualCost(usd, input_tokens=tokens))
    history = await ledger.step_averages("default", "triage")
    estimate = estimate_workflow(PLAN, workflow="triage", history=history)
    model = estimate.steps[0]
    assert (model.source, model.tokens) == ("history", 200)
    assert model.usd == pytest.approx(0.002)


def test_preflight_is_ok_within_every_budget_and_warns_for_soft_ones() -> None:
    estimate = estimate_workflow(PLAN, workflow="triage")
    roomy = Budget("roomy", "run", limit_usd=1.0)
    soft = Budget("soft", "run", limit_usd=0.01, mode="soft")
    result = preflight(estimate, [roomy, soft])
    assert (result.decision, result.ok, result.reasons) == ("ok", True, ())
    [warning] = result.warnings
    assert "budget 'soft' (soft): $0.01 per run" in warning


def test_preflight_asks_for_approval_or_refuses_with_reasons() -> None:
    estimate = estimate_workflow(PLAN, workflow="triage")
    approval = Budget("ask", "run", limit_usd=0.01, on_breach="approval")
    replan = Budget("cheaper", "workflow", limit_usd=0.01, on_breach="replan")
    stop = Budget("tenant", "tenant", limit_tokens=100)
    asked = preflight(estimate, [approval])
    assert (asked.decision, asked.ok) == ("needs_approval", False)
    assert "the estimate exceeds budget 'ask' (hard, approval)" in asked.reasons[0]
    replanned = preflight(estimate, [approval, replan])
    assert replanned.decision == "refused"
    assert "choose a cheaper plan" in replanned.reasons[0]
    assert len(replanned.reasons) == 2
    refused = preflight(estimate, [stop])
    assert refused.decision == "refused"
    assert "300 estimated > 100" in refused.reasons[0]


def test_preflight_counts_what_was_spent_and_skips_budgets_for_others() -> None:
    estimate = estimate_workflow(PLAN, workflow="triage")
    daily = Budget("daily", "day", limit_usd=1.0)
    elsewhere = Budget("report-only", "run", limit_usd=0.0001, workflow="report")
    assert preflight(estimate, [daily, elsewhere]).ok
    nearly = {"daily": Totals(usd=0.95, held_usd=0.02)}
    assert preflight(estimate, [daily], spent=nearly).decision == "refused"


async def test_the_enforcer_preflights_against_what_its_scopes_spent(ledger: Ledger) -> None:
    daily = Budget("daily", "day", limit_usd=1.0)
    gate = BudgetEnforcer(ledger, [daily])
    estimate = estimate_workflow(PLAN, workflow="triage")
    assert (await gate.preflight(estimate)).ok
    step = tool_step(0.98, run="earlier")
    await gate.reconcile(await gate.reserve(step, estimate_step(step)), ActualCost(0.98))
    later = await gate.preflight(estimate)
    assert later.decision == "refused"
    assert "$0.980000 spent" in later.reasons[0]
    assert (await gate.preflight(estimate, tenant="other")).ok


async def _charge(gate: BudgetEnforcer, run: str, usd: float, tokens: int) -> None:
    step = tool_step(usd, run=run, workflow="triage")
    await gate.reconcile(await gate.reserve(step, estimate_step(step)), ActualCost(usd, tokens))


async def test_the_estimation_error_is_reported_over_time(ledger: Ledger, clock: Clock) -> None:
    gate = BudgetEnforcer(ledger)
    await ledger.record_estimate("default", "a", "triage", 1.0, 100)
    await _charge(gate, "a", 0.8, 80)  # 25 % off in dollars and tokens
    await ledger.record_estimate("default", "b", "triage", 2.0, 100)
    await _charge(gate, "b", 2.5, 125)  # 20 % off
    clock.advance(DAY)
    await ledger.record_estimate("default", "c", "triage", 1.0, 40)
    await _charge(gate, "c", 1.0, 50)  # exact in dollars, 20 % off in tokens
    await ledger.record_estimate("default", "d", "triage", 1.0, 40)
    pending = tool_step(0.5, run="d", workflow="triage")
    await gate.reserve(pending, estimate_step(pending))  # still running: skipped
    await ledger.record_estimate("default", "e", "triage", 1.0, 40)  # never charged: skipped
    await ledger.record_estimate("other", "f", "triage", 9.0, 9)  # another tenant

    report = await estimation_error(ledger, tenant="default")
    assert (report.runs, report.skipped) == (3, 2)
    assert report.mape_usd == pytest.approx(15.0)
    assert report.mape_tokens == pytest.approx(65 / 3)
    day1, day2 = report.by_day
    assert (day1.day, day1.runs, day1.mape_usd) == ("2025-03-03", 2, pytest.approx(22.5))
    assert (day2.day, day2.runs, day2.mape_usd, day2.mape_tokens) == ("2025-03-04", 1, 0.0, 20.0)
    recent = await estimation_error(ledger, dt.date(2025, 3, 4), tenant="default")
    assert (recent.runs, recent.mape_usd) == (1, 0.0)
    everyone = await estimation_error(ledger)
    assert everyone.skipped == 3


def test_a_dimension_nothing_was_spent_in_has_no_error() -> None:
    record = EstimateRecord("t", "r", "w", NOON, 0.0, 10, 0.0, 8, steps=1, pending=0)
    report = estimation_report([record])
    assert (report.runs, report.mape_usd, report.mape_tokens) == (1, None, 25.0)
    assert estimation_report([]).mape_usd is None


def test_since_accepts_epochs_dates_and_datetimes() -> None:
    assert epoch_of(None) is None
    assert epoch_of(5) == 5.0
    assert epoch_of(dt.date(2025, 3, 3)) == NOON - 12 * 3600
    assert epoch_of(dt.datetime(2025, 3, 3, 12)) == NOON
    aware = dt.datetime(2025, 3, 3, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert epoch_of(aware) == NOON
