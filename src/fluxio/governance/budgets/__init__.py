"""Budgets: token and money accounting, reserve-then-reconcile budget gates, cost preflight.

- ``Budget`` / ``load_budgets``: limits in dollars and/or tokens per run, agent, workflow,
  tenant or day; soft (warn) or hard (act before the call that would exceed).
- ``BudgetEnforcer``: the ``BudgetGate`` governance calls around every step (``reserve``,
  ``reconcile``, ``release``) over a ledger (``MemoryLedger``, ``SQLiteLedger``,
  ``PostgresLedger``; ``ledger_for(store)``).
- ``estimate_step`` / ``actual_cost``: what a step is expected to cost and what it did cost.
- ``estimate_workflow`` / ``preflight`` / ``estimation_error``: cost before a run, and how
  good the estimates were.

``PostgresLedger`` lives in ``fluxio.governance.budgets.postgres`` (it needs psycopg).
"""

from fluxio.governance.budgets.decision import Totals
from fluxio.governance.budgets.enforce import BudgetEnforcer, BudgetStatus, ledger_for
from fluxio.governance.budgets.gate import (
    ActualCost,
    BudgetGate,
    CostEstimate,
    Reservation,
    actual_cost,
    estimate_step,
    estimate_tokens,
)
from fluxio.governance.budgets.ledger import EstimateRecord, Ledger, Rollup, StepAverage
from fluxio.governance.budgets.loader import budgets_from, load_budgets, parse_budgets
from fluxio.governance.budgets.memory import MemoryLedger
from fluxio.governance.budgets.model import Budget, Scope, StepScope, agent_of
from fluxio.governance.budgets.preflight import (
    EstimationReport,
    PlannedStep,
    PreflightResult,
    WorkflowEstimate,
    estimate_workflow,
    estimation_error,
    estimation_report,
    preflight,
)
from fluxio.governance.budgets.sqlite import SQLiteLedger

__all__ = [
    "ActualCost",
    "Budget",
    "BudgetEnforcer",
    "BudgetGate",
    "BudgetStatus",
    "CostEstimate",
    "EstimateRecord",
    "EstimationReport",
    "Ledger",
    "MemoryLedger",
    "PlannedStep",
    "PreflightResult",
    "Reservation",
    "Rollup",
    "SQLiteLedger",
    "Scope",
    "StepAverage",
    "StepScope",
    "Totals",
    "WorkflowEstimate",
    "actual_cost",
    "agent_of",
    "budgets_from",
    "estimate_step",
    "estimate_tokens",
    "estimate_workflow",
    "estimation_error",
    "estimation_report",
    "ledger_for",
    "load_budgets",
    "parse_budgets",
    "preflight",
]
