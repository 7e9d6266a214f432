"""Reserve, then reconcile: holds count at once, settle to the actual cost, and are idempotent.

Every test runs on the memory, SQLite and PostgreSQL ledgers.
"""

from __future__ import annotations

import pytest
from budget_steps import DAY, Clock, MakeLedger, model_step, tool_step

from fluxio.errors import BudgetExceeded
from fluxio.governance.budgets import (
    ActualCost,
    Budget,
    BudgetEnforcer,
    CostEstimate,
    Ledger,
    estimate_step,
)

pytestmark = pytest.mark.anyio

RUN_DOLLAR = Budget("run-dollar", "run", limit_usd=1.0)


async def spent(gate: BudgetEnforcer, step_key: str = "1", run: str = "r1") -> tuple[float, float]:
    """(spent, held) dollars of the first budget covering a step of ``run``."""
    [status] = await gate.status(tool_step(0, key=step_key, run=run))
    return round(status.totals.usd, 9), round(status.totals.held_usd, 9)


async def test_a_reservation_counts_against_the_budget_at_once(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [RUN_DOLLAR])
    for key in ("1", "2"):
        step = tool_step(0.4, key=key)
        reservation = await gate.reserve(step, estimate_step(step))
        assert (reservation.usd, reservation.breach) == (0.4, None)
    assert await spent(gate) == (0.0, 0.8)
    third = tool_step(0.4, key="3")
    with pytest.raises(BudgetExceeded) as refused:
        await gate.reserve(third, estimate_step(third))
    assert refused.value.budget == "run-dollar"
    assert "step 3 (tool:lookup) of run r1" in refused.value.message
    assert "The call was not made" in refused.value.message
    assert await spent(gate) == (0.0, 0.8)  # the refusal held nothing


async def test_reconcile_replaces_the_hold_with_the_actual_cost(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [RUN_DOLLAR])
    step = tool_step(0.9)
    reservation = await gate.reserve(step, CostEstimate(usd=0.9, tokens=0))
    await gate.reconcile(reservation, ActualCost(usd=0.25, input_tokens=10, output_tokens=5))
    assert await spent(gate) == (0.25, 0.0)
    second = tool_step(0.75, key="2")
    await gate.reserve(second, estimate_step(second))  # 0.25 + 0.75 fits exactly
    assert await spent(gate) == (0.25, 0.75)


async def test_release_returns_the_hold(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [RUN_DOLLAR])
    step = tool_step(0.9)
    reservation = await gate.reserve(step, estimate_step(step))
    await gate.release(reservation)
    assert await spent(gate) == (0.0, 0.0)
    again = tool_step(0.9, key="2")
    assert (await gate.reserve(again, estimate_step(again))).usd == 0.9


async def test_a_second_reserve_with_the_same_id_returns_the_first_hold(
    make_ledger: MakeLedger,
) -> None:
    first_gate = BudgetEnforcer(await make_ledger(), [RUN_DOLLAR])
    step = tool_step(0.6)
    first = await first_gate.reserve(step, estimate_step(step))
    # after a crash, another process's guard reserves the same step again
    retry_gate = BudgetEnforcer(await make_ledger(), [RUN_DOLLAR])
    second = await retry_gate.reserve(step, estimate_step(step))
    assert second == first
    assert second.id == step.idempotency_key
    assert await spent(retry_gate) == (0.0, 0.6)
    await retry_gate.reconcile(second, ActualCost(usd=0.5))
    assert await spent(first_gate) == (0.5, 0.0)


async def test_reconcile_and_release_count_once(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [RUN_DOLLAR])
    step = tool_step(0.5)
    reservation = await gate.reserve(step, estimate_step(step))
    await gate.reconcile(reservation, ActualCost(usd=0.3))
    await gate.reconcile(reservation, ActualCost(usd=0.3))
    await gate.release(reservation)
    assert await spent(gate) == (0.3, 0.0)


async def test_a_step_that_runs_again_after_settling_is_held_and_charged_again(
    ledger: Ledger,
) -> None:
    gate = BudgetEnforcer(ledger, [RUN_DOLLAR])
    step = tool_step(0.4)
    await gate.reconcile(await gate.reserve(step, estimate_step(step)), ActualCost(usd=0.4))
    # a crash between the settlement and the journal commit: the step runs once more
    again = await gate.reserve(step, estimate_step(step))
    assert await spent(gate) == (0.4, 0.4)
    await gate.reconcile(again, ActualCost(usd=0.4))
    assert await spent(gate) == (0.8, 0.0)
    rows = await ledger.rollup("run")
    assert [(r.key, r.steps, round(r.usd, 9)) for r in rows] == [("r1", 1, 0.8)]


async def test_a_soft_budget_warns_and_lets_the_step_run(ledger: Ledger) -> None:
    soft = Budget("soft-cap", "run", limit_usd=0.5, mode="soft")
    gate = BudgetEnforcer(ledger, [soft])
    step = tool_step(0.7)
    reservation = await gate.reserve(step, estimate_step(step))
    assert reservation.breach is None
    [warning] = reservation.warnings
    assert "soft-cap" in warning
    assert "> $0.500000" in warning
    assert await spent(gate) == (0.0, 0.7)


@pytest.mark.parametrize("action", ["approval", "replan"])
async def test_an_approval_or_replan_breach_is_returned_and_holds_nothing(
    ledger: Ledger, action: str
) -> None:
    budget = Budget("guarded", "run", limit_usd=0.5, on_breach=action)  # type: ignore[arg-type]
    gate = BudgetEnforcer(ledger, [budget])
    step = tool_step(0.7)
    reservation = await gate.reserve(step, estimate_step(step))
    assert reservation.breach == action
    assert await spent(gate) == (0.0, 0.0)
    await gate.release(reservation)  # releasing a breach is harmless
    allowed = await gate.reserve(step, estimate_step(step), force=True)
    assert allowed.breach is None
    assert "guarded" in allowed.warnings[0]
    assert await spent(gate) == (0.0, 0.7)


async def test_the_most_restrictive_breach_wins(ledger: Ledger) -> None:
    replan = Budget("replan", "run", limit_usd=0.1, on_breach="replan")
    approval = Budget("approval", "workflow", limit_usd=0.1, on_breach="approval")
    stop = Budget("stop", "tenant", limit_usd=0.1)
    step = tool_step(0.5)
    gate = BudgetEnforcer(ledger, [replan, approval])
    assert (await gate.reserve(step, estimate_step(step))).breach == "approval"
    with pytest.raises(BudgetExceeded) as refused:
        await BudgetEnforcer(ledger, [replan, approval, stop]).reserve(step, estimate_step(step))
    assert refused.value.budget == "stop"


async def test_token_limits_stop_calls_of_models_without_a_price(ledger: Ledger) -> None:
    tokens = Budget("tokens", "run", limit_tokens=300)
    gate = BudgetEnforcer(ledger, [tokens])
    local = model_step(model="local-llama", prompt="x" * 400, max_tokens=100)  # 100 + 100 tokens
    estimate = estimate_step(local)
    assert (estimate.usd, estimate.tokens) == (0.0, 200)
    await gate.reserve(local, estimate)
    second = model_step(model="local-llama", prompt="x" * 400, max_tokens=100, key="2")
    with pytest.raises(BudgetExceeded, match="200 held \\+ 200 estimated > 300"):
        await gate.reserve(second, estimate_step(second))


async def test_a_day_budget_resets_every_utc_day(ledger: Ledger, clock: Clock) -> None:
    gate = BudgetEnforcer(ledger, [Budget("daily", "day", limit_usd=1.0)])
    first = tool_step(0.8, run="a")
    await gate.reconcile(await gate.reserve(first, estimate_step(first)), ActualCost(0.8))
    late = tool_step(0.8, run="b")
    with pytest.raises(BudgetExceeded, match="daily"):
        await gate.reserve(late, estimate_step(late))
    clock.advance(DAY)
    assert (await gate.reserve(late, estimate_step(late))).scopes == ("tenant@2025-03-04",)


async def test_agent_budgets_count_each_agent_separately(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [Budget("per-agent", "agent", limit_usd=1.0, per="day")])
    for run, agent in (("r1", "support"), ("r2", "support"), ("r3", "billing")):
        step = tool_step(0.5, run=run, agent=agent)
        await gate.reserve(step, estimate_step(step))
    over = tool_step(0.5, run="r4", agent="support")
    with pytest.raises(BudgetExceeded, match="per-agent"):
        await gate.reserve(over, estimate_step(over))
    free = tool_step(0.5, run="r5")  # no agent: agent budgets do not apply
    assert (await gate.reserve(free, estimate_step(free))).scopes == ()


async def test_filters_choose_which_steps_a_budget_covers(ledger: Ledger) -> None:
    budget = Budget("triage-runs", "run", limit_usd=0.1, workflow="triage", tenant="acme")
    gate = BudgetEnforcer(ledger, [budget])
    other = tool_step(0.5, workflow="report", tenant="acme")
    assert (await gate.reserve(other, estimate_step(other))).breach is None
    elsewhere = tool_step(0.5, workflow="triage", tenant="globex", run="r2")
    await gate.reserve(elsewhere, estimate_step(elsewhere))
    covered = tool_step(0.5, workflow="triage", tenant="acme", run="r3")
    with pytest.raises(BudgetExceeded, match="triage-runs"):
        await gate.reserve(covered, estimate_step(covered))


async def test_tenants_have_separate_counters(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger, [Budget("tenant-cap", "tenant", limit_usd=1.0)])
    for tenant in ("acme", "globex"):
        step = tool_step(0.9, tenant=tenant)
        await gate.reconcile(await gate.reserve(step, estimate_step(step)), ActualCost(0.9))
    rows = await ledger.rollup("tenant")
    assert [(r.key, round(r.usd, 9)) for r in rows] == [("acme", 0.9), ("globex", 0.9)]
    assert [r.key for r in await ledger.rollup("tenant", tenant="acme")] == ["acme"]


async def test_a_budget_added_later_counts_what_was_already_spent(ledger: Ledger) -> None:
    unbudgeted = BudgetEnforcer(ledger, [])
    for key in ("1", "2"):
        step = tool_step(0.4, key=key)
        reservation = await unbudgeted.reserve(step, estimate_step(step))
        await unbudgeted.reconcile(reservation, ActualCost(usd=0.4))
    gate = BudgetEnforcer(ledger, [Budget("late", "workflow", limit_usd=1.0)])
    third = tool_step(0.4, key="3", run="r2")
    with pytest.raises(BudgetExceeded, match=r"\$0.800000 spent"):
        await gate.reserve(third, estimate_step(third))


async def test_rollups_group_spend_by_run_agent_workflow_tenant_and_day(
    ledger: Ledger, clock: Clock
) -> None:
    gate = BudgetEnforcer(ledger)
    calls = [
        ("r1", "triage", "support", 0.1),
        ("r1", "triage", "support", 0.2),
        ("r2", "report", "", 0.4),
    ]
    for i, (run, workflow, agent, usd) in enumerate(calls):
        step = tool_step(usd, key=str(i), run=run, workflow=workflow, agent=agent or None)
        reservation = await gate.reserve(step, estimate_step(step))
        await gate.reconcile(reservation, ActualCost(usd, input_tokens=10, output_tokens=1))
        clock.advance(DAY)
    held = tool_step(0.8, key="9", run="r3", workflow="report")
    await gate.reserve(held, estimate_step(held))

    def table(rows: list) -> list[tuple]:  # type: ignore[type-arg]
        return [(r.key, r.steps, r.tokens, round(r.usd, 9), round(r.held_usd, 9)) for r in rows]

    assert table(await ledger.rollup("workflow")) == [
        ("report", 2, 11, 0.4, 0.8),
        ("triage", 2, 22, 0.3, 0.0),
    ]
    assert table(await ledger.rollup("agent")) == [
        ("", 2, 11, 0.4, 0.8),
        ("support", 2, 22, 0.3, 0.0),
    ]
    assert [r.key for r in await ledger.rollup("run")] == ["r1", "r2", "r3"]
    days = await ledger.rollup("day")
    assert [r.key for r in days] == ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]
    since = clock.now - 1.5 * DAY
    assert table(await ledger.rollup("workflow", since=since)) == [("report", 2, 11, 0.4, 0.8)]


async def test_step_averages_are_kept_per_workflow_and_step_name(ledger: Ledger) -> None:
    gate = BudgetEnforcer(ledger)
    for i, usd in enumerate((0.1, 0.3)):
        step = model_step(key=str(i), workflow="triage")
        reservation = await gate.reserve(step, estimate_step(step))
        await gate.reconcile(reservation, ActualCost(usd, input_tokens=100, output_tokens=20 * i))
    other = model_step(key="x", workflow="report")
    await gate.reconcile(await gate.reserve(other, estimate_step(other)), ActualCost(5.0))
    unsettled = model_step(key="y", workflow="triage")
    await gate.reserve(unsettled, estimate_step(unsettled))
    [average] = (await ledger.step_averages("default", "triage")).values()
    assert (average.step_name, average.samples) == ("model:gpt-4o-mini", 2)
    assert (round(average.usd, 9), average.tokens) == (0.2, 110.0)
