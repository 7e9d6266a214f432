"""The ledger: every step's cost, the holds of steps still running, and roll-ups of both.

``hold`` checks a step's estimate against the counters of the scopes it is charged to and,
if the budgets allow, holds it there, in one atomic change; ``settle`` replaces the hold with
the actual cost; ``release`` returns it. All three are idempotent by reservation id.
Implementations: ``MemoryLedger``, ``SQLiteLedger`` and ``PostgresLedger``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fluxio.governance.budgets.decision import Totals, Verdict
from fluxio.governance.budgets.gate import ActualCost, Reservation
from fluxio.governance.budgets.model import Scope, StepScope
from fluxio.governance.budgets.sql import GroupBy

__all__ = [
    "Charge",
    "Decide",
    "EstimateRecord",
    "Ledger",
    "Rollup",
    "StepAverage",
]

Decide = Callable[[Mapping[str, Totals]], Verdict]
"""Decides a hold from the counters (by scope key); raises ``BudgetExceeded`` to refuse it."""


@dataclass(frozen=True, slots=True)
class Charge:
    """A step's estimated cost, to hold against its scopes until it is settled."""

    id: str
    step: StepScope
    usd: float
    tokens: int


@dataclass(frozen=True, slots=True)
class Rollup:
    """Spend grouped by run, agent, workflow, tenant or day."""

    key: str
    steps: int
    input_tokens: int
    output_tokens: int
    usd: float
    held_usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class StepAverage:
    """What a step of a workflow cost on average, over ``samples`` settled calls."""

    step_name: str
    samples: int
    usd: float
    tokens: float


@dataclass(frozen=True, slots=True)
class EstimateRecord:
    """A run's preflight estimate beside what its steps cost."""

    tenant: str
    run_id: str
    workflow: str
    created_at: float
    estimate_usd: float
    estimate_tokens: int
    actual_usd: float
    actual_tokens: int
    steps: int
    pending: int


@runtime_checkable
class Ledger(Protocol):
    """Where costs, holds and estimates are kept."""

    clock: Callable[[], float]
    """The time source (epoch seconds) that dates charges, estimates and their UTC day."""

    async def hold(self, charge: Charge, scopes: Sequence[Scope], decide: Decide) -> Reservation:
        """Hold ``charge`` in ``scopes`` if ``decide`` allows; an id still held returns its hold."""
        ...

    async def settle(self, id: str, actual: ActualCost, *, tenant: str | None = None) -> None:
        """Replace a hold with the actual cost (once; later calls do nothing)."""
        ...

    async def release(self, id: str, *, tenant: str | None = None) -> None:
        """Return a hold (once; later calls do nothing)."""
        ...

    async def totals(self, tenant: str, scopes: Sequence[Scope]) -> dict[str, Totals]:
        """The counters of ``scopes`` (zero for scopes never charged)."""
        ...

    async def rollup(
        self, by: GroupBy, *, tenant: str | None = None, since: float | None = None
    ) -> list[Rollup]:
        """Spend grouped ``by``, for one tenant (``None``: all) since a time (epoch seconds)."""
        ...

    async def step_averages(self, tenant: str, workflow: str) -> dict[str, StepAverage]:
        """The average settled cost of each step name of ``workflow``."""
        ...

    async def record_estimate(
        self, tenant: str, run_id: str, workflow: str, usd: float, tokens: int
    ) -> None:
        """Keep a run's preflight estimate to compare with its actual cost later."""
        ...

    async def estimate_history(
        self, *, tenant: str | None = None, since: float | None = None
    ) -> list[EstimateRecord]:
        """Recorded estimates beside their runs' actual costs, oldest first."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
