"""Cost preflight: what a workflow or plan will cost before it runs, and how right that was.

``estimate_workflow`` prices a sequence of planned steps (model calls with their prompt
sizes, tool calls) from the price table and the tools' ``cost_per_call`` (the same estimator
as ``estimate_step``); once the ledger has settled calls of a step of that workflow, their
observed average replaces the static guess. ``preflight`` compares the estimate with the
budgets that apply: ``ok``, ``needs_approval`` or ``refused``, with the reasons.
``estimation_error`` compares recorded estimates with what the runs cost (mean absolute
percentage error), overall and per day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fluxio.governance.budgets.decision import Totals, excess
from fluxio.governance.budgets.gate import CHARS_PER_TOKEN, DEFAULT_OUTPUT_TOKENS, estimate_tokens
from fluxio.governance.budgets.ledger import EstimateRecord, Ledger, StepAverage
from fluxio.governance.budgets.model import Budget, StepScope, day_of
from fluxio.models.messages import ModelRequest
from fluxio.models.pricing import DEFAULT_PRICES, PriceTable

__all__ = [
    "DayError",
    "EstimationReport",
    "PlannedStep",
    "PreflightResult",
    "StepEstimate",
    "WorkflowEstimate",
    "epoch_of",
    "estimate_workflow",
    "estimation_error",
    "estimation_report",
    "preflight",
]


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step a workflow or plan is expected to take, for estimating its cost.

    Build one with ``PlannedStep.model(...)`` or ``PlannedStep.tool(...)``. ``name`` is the
    step's journal name (``model:<model>``, ``tool:<tool>``), which history is kept under.
    """

    name: str
    kind: Literal["model", "tool"]
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    cost_per_call: float = 0.0
    count: int = 1

    @classmethod
    def model_call(
        cls,
        model: str,
        prompt: str | int | ModelRequest = 0,
        *,
        max_tokens: int | None = None,
        count: int = 1,
    ) -> PlannedStep:
        """A call of ``model`` with ``prompt`` (text, its length in characters, or a request)."""
        if isinstance(prompt, ModelRequest):
            input_tokens = estimate_tokens(prompt)
            max_tokens = max_tokens or prompt.settings.max_tokens
        else:
            chars = len(prompt) if isinstance(prompt, str) else prompt
            input_tokens = math.ceil(chars / CHARS_PER_TOKEN)
        output = max_tokens or DEFAULT_OUTPUT_TOKENS
        return cls(f"model:{model}", "model", input_tokens, output, model=model, count=count)

    @classmethod
    def tool_call(cls, tool: str, *, cost_per_call: float = 0.0, count: int = 1) -> PlannedStep:
        """A call of the tool named ``tool`` costing ``cost_per_call`` dollars."""
        return cls(f"tool:{tool}", "tool", cost_per_call=cost_per_call, count=count)


@dataclass(frozen=True, slots=True)
class StepEstimate:
    """One planned step's estimate (for all its ``count`` calls) and where it came from."""

    name: str
    count: int
    usd: float
    tokens: int
    source: Literal["table", "history"]


@dataclass(frozen=True, slots=True)
class WorkflowEstimate:
    """What a workflow or plan is expected to cost in total, step by step."""

    workflow: str
    usd: float
    tokens: int
    steps: tuple[StepEstimate, ...]


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """The verdict on an estimate: ``ok``, ``needs_approval`` or ``refused``, and why."""

    decision: Literal["ok", "needs_approval", "refused"]
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the workflow may start without asking anyone."""
        return self.decision == "ok"


def estimate_workflow(
    steps: Iterable[PlannedStep],
    *,
    workflow: str = "",
    prices: PriceTable | None = None,
    history: Mapping[str, StepAverage] | None = None,
    min_samples: int = 1,
) -> WorkflowEstimate:
    """Estimate the cost of ``steps``.

    Args:
        steps: the planned steps, in order.
        workflow: the workflow's name (kept with the estimate).
        prices: the price table (default: ``DEFAULT_PRICES``).
        history: observed averages by step name (``await ledger.step_averages(tenant,
            workflow)``); a step with at least ``min_samples`` of them is priced by them.
        min_samples: how many settled calls make an average trustworthy.
    """
    table = prices or DEFAULT_PRICES
    observed = history or {}
    estimates = tuple(_estimate(s, table, observed.get(s.name), min_samples) for s in steps)
    usd = sum(e.usd for e in estimates)
    return WorkflowEstimate(workflow, usd, sum(e.tokens for e in estimates), estimates)


def _estimate(
    step: PlannedStep, prices: PriceTable, seen: StepAverage | None, min_samples: int
) -> StepEstimate:
    if seen is not None and seen.samples >= min_samples:
        tokens = math.ceil(seen.tokens * step.count)
        return StepEstimate(step.name, step.count, seen.usd * step.count, tokens, "history")
    if step.kind == "tool":
        return StepEstimate(step.name, step.count, step.cost_per_call * step.count, 0, "table")
    usd = prices.cost(step.model, step.input_tokens, step.output_tokens) * step.count
    tokens = (step.input_tokens + step.output_tokens) * step.count
    return StepEstimate(step.name, step.count, usd, tokens, "table")


def preflight(
    estimate: WorkflowEstimate,
    budgets: Sequence[Budget],
    *,
    tenant: str = "default",
    agent: str = "",
    spent: Mapping[str, Totals] | None = None,
) -> PreflightResult:
    """Decide whether a workflow whose cost is ``estimate`` may start.

    Args:
        estimate: from ``estimate_workflow``.
        budgets: the budgets in force; those whose filters match the workflow apply.
        tenant: the tenant the run would belong to.
        agent: the agent it would act for, if any.
        spent: what each budget (by name) has spent and held already (``0`` if absent; a
            new run's ``run`` budgets start at 0).

    Returns:
        ``refused`` if a hard budget with ``stop`` or ``replan`` would be exceeded,
        ``needs_approval`` if only ``approval`` ones would, else ``ok`` (with the warnings of
        soft budgets).
    """
    scope = StepScope(tenant, "", estimate.workflow, agent, day_of(0))
    refused: list[str] = []
    approval: list[str] = []
    warnings: list[str] = []
    for budget in (b for b in budgets if b.applies_to(scope)):
        totals = (spent or {}).get(budget.name, Totals())
        problem = excess(budget, totals, estimate.usd, estimate.tokens)
        if problem is None:
            continue
        text = f"the estimate exceeds budget {budget.describe()}: {problem}"
        if budget.mode == "soft":
            warnings.append(text)
        elif budget.on_breach == "approval":
            approval.append(text)
        else:
            advice = "; choose a cheaper plan" if budget.on_breach == "replan" else ""
            refused.append(text + advice)
    if refused:
        return PreflightResult("refused", tuple(refused + approval), tuple(warnings))
    if approval:
        return PreflightResult("needs_approval", tuple(approval), tuple(warnings))
    return PreflightResult("ok", (), tuple(warnings))


@dataclass(frozen=True, slots=True)
class DayError:
    """The estimation error of the runs whose estimate was recorded on one UTC day."""

    day: str
    runs: int
    mape_usd: float | None
    mape_tokens: float | None


@dataclass(frozen=True, slots=True)
class EstimationReport:
    """How far estimates were from actual costs: mean absolute percentage error (in %).

    ``mape_usd``/``mape_tokens`` are ``None`` when no finished run spent anything in that
    dimension; ``skipped`` counts runs still holding reservations or with no charged step.
    """

    runs: int
    mape_usd: float | None
    mape_tokens: float | None
    by_day: tuple[DayError, ...]
    skipped: int = 0


def estimation_report(records: Iterable[EstimateRecord]) -> EstimationReport:
    """The estimation error over ``records`` (see ``EstimationReport``)."""
    done, skipped = [], 0
    for record in records:
        if record.pending or not record.steps:
            skipped += 1
        else:
            done.append(record)
    days: dict[str, list[EstimateRecord]] = {}
    for record in done:
        days.setdefault(day_of(record.created_at), []).append(record)
    by_day = tuple(
        DayError(day, len(rs), _mape(rs, "usd"), _mape(rs, "tokens"))
        for day, rs in sorted(days.items())
    )
    return EstimationReport(len(done), _mape(done, "usd"), _mape(done, "tokens"), by_day, skipped)


async def estimation_error(
    ledger: Ledger,
    since: float | dt.date | None = None,
    *,
    tenant: str | None = None,
) -> EstimationReport:
    """The estimation error of the runs whose estimates were recorded since ``since``."""
    records = await ledger.estimate_history(tenant=tenant, since=epoch_of(since))
    return estimation_report(records)


def _mape(records: Sequence[EstimateRecord], dimension: Literal["usd", "tokens"]) -> float | None:
    errors = []
    for r in records:
        actual = r.actual_usd if dimension == "usd" else r.actual_tokens
        estimate = r.estimate_usd if dimension == "usd" else r.estimate_tokens
        if actual > 0:
            errors.append(abs(estimate - actual) / actual * 100)
    return sum(errors) / len(errors) if errors else None


def epoch_of(when: float | dt.date | None) -> float | None:
    """Epoch seconds of a time, a datetime (naive: UTC) or a date (its UTC midnight)."""
    if when is None or isinstance(when, int | float):
        return None if when is None else float(when)
    if not isinstance(when, dt.datetime):
        when = dt.datetime(when.year, when.month, when.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
