"""Budgets hold under 50 concurrent runs sharing one budget, on every store.

Two engines (workers) share the store; each has its own guard and its own ledger connection
(memory: one ledger). Every run makes one model call, reserved on admission and reconciled
after the call. The FakeModel counts calls, so a refused run provably never called it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluxio import Engine, RunContext
from fluxio.engine import ExecuteStepInput, Next
from fluxio.errors import BudgetExceeded
from fluxio.governance.budgets import (
    Budget,
    BudgetEnforcer,
    BudgetGate,
    actual_cost,
    estimate_step,
    ledger_for,
)
from fluxio.models import Message, ModelRequest, ModelSettings, Price, PriceTable, call_model
from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio

RUNS = 50
LIMIT = 200.0
PER_WORD = Price(1_000_000, 1_000_000)  # $1 per word (FakeModel) and per token (estimate)
PRICES = PriceTable({"fake": PER_WORD})
PROMPT = "one two three four five six seven eight nine ten"  # 10 words, 13 estimated tokens
REQUEST = ModelRequest(messages=(Message.user(PROMPT),), settings=ModelSettings(max_tokens=5))
ESTIMATE, ACTUAL = 13 + 5, 10 + 3  # dollars per call: estimated (held), then actually spent


class BudgetGuard:
    """The reference budget guard: reserve on admission, reconcile or release around the call.

    ``admit_step`` runs before anything about the step is journaled, so a refused step is
    recorded as failed with ``BudgetExceeded`` and its body never runs. ``execute_step``
    reserves again: the id is the step's idempotency key, so that returns the hold made on
    admission (even in another process after a crash) instead of holding twice.
    """

    def __init__(self, gate: BudgetGate, prices: PriceTable | None = None) -> None:
        self.gate = gate
        self.prices = prices

    async def admit_step(self, step: ExecuteStepInput, ctx: RunContext) -> ExecuteStepInput:
        reservation = await self.gate.reserve(step, estimate_step(step, self.prices))
        if reservation.breach is not None:  # a real guard asks for approval or replans
            raise BudgetExceeded(f"{step.name} needs {reservation.breach}", budget="breach")
        return step

    async def execute_step(self, step: ExecuteStepInput, next: Next) -> Any:
        reservation = await self.gate.reserve(step, estimate_step(step, self.prices))
        try:
            result = await next(step)
        except BaseException:
            await self.gate.release(reservation)
            raise
        await self.gate.reconcile(reservation, actual_cost(step, result, self.prices))
        return result


async def test_fifty_concurrent_runs_never_overspend_a_shared_hard_budget(store: Store) -> None:
    model = FakeModel(default="ok ok ok", price=PER_WORD, name="fake", delay=0.01)

    async def ask(ctx: RunContext, _: object) -> dict[str, Any]:
        try:
            response = await call_model(ctx, model, REQUEST)
        except BudgetExceeded as refused:
            return {"refused": refused.budget}
        return {"usd": response.usage.cost_usd}

    budget = Budget("shared", "tenant", limit_usd=LIMIT)
    first = await ledger_for(store)
    second = first if isinstance(store, MemoryStore) else await ledger_for(store)
    gates = [BudgetEnforcer(first, [budget]), BudgetEnforcer(second, [budget])]
    engines = [
        Engine(store, workflows={"ask": ask}, interceptors=[BudgetGuard(gate, PRICES)])
        for gate in gates
    ]
    try:
        runs = [await engines[0].start("ask") for _ in range(RUNS)]
        await asyncio.gather(*(engine.drive(concurrency=25) for engine in engines))
        results = [await engines[0].result(run.run_id) for run in runs]
        totals = [r.totals for r in await gates[0].status(_any_step(runs[0].run_id))]
    finally:
        await first.close()
        await second.close()

    answered = [r for r in results if "usd" in r]
    refused = [r for r in results if "refused" in r]
    spent = sum(r["usd"] for r in answered)
    assert spent <= LIMIT
    assert model.calls == len(answered)  # refused runs never reached the model
    assert len(answered) + len(refused) == RUNS
    assert all(r == {"refused": "shared"} for r in refused)
    assert LIMIT // ESTIMATE <= len(answered) <= LIMIT // ACTUAL
    assert [(round(t.usd, 6), t.held_usd) for t in totals] == [(spent, 0.0)]
    refused_run = runs[results.index(refused[0])]
    [entry] = await engines[0].journal(refused_run.run_id)
    assert (entry.ok, entry.value["type"]) == (False, "BudgetExceeded")


def _any_step(run_id: str) -> ExecuteStepInput:
    async def nothing() -> None: ...

    from fluxio import StepOptions

    return ExecuteStepInput(run_id, "default", "ask", "1", "x", nothing, (), {}, StepOptions(), "k")
