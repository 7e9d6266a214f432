"""``BudgetEnforcer``: the ``BudgetGate`` over a ledger and a set of budgets.

Governance calls it around every step: ``reserve`` before the call (hard budgets refuse
there, before anything is spent), ``reconcile`` with the actual cost after it, ``release`` if
the call never ran. ``ledger_for`` opens the ledger that matches an engine's store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.errors import UsageError
from fluxio.governance.budgets.decision import Covered, Totals, Verdict, judge
from fluxio.governance.budgets.gate import ActualCost, CostEstimate, Reservation
from fluxio.governance.budgets.ledger import Charge, Ledger
from fluxio.governance.budgets.memory import MemoryLedger
from fluxio.governance.budgets.model import Budget, Scope, StepScope, agent_of, day_of
from fluxio.governance.budgets.preflight import PreflightResult, WorkflowEstimate, preflight
from fluxio.governance.budgets.sqlite import SQLiteLedger
from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore

__all__ = ["BudgetEnforcer", "BudgetStatus", "ledger_for"]

log = logging.getLogger("fluxio.budgets")


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget covering a step, with what its scope has spent and holds (for policies)."""

    budget: Budget
    scope: Scope
    totals: Totals

    @property
    def remaining_usd(self) -> float | None:
        """Dollars left before the limit (``None`` without a dollar limit)."""
        limit = self.budget.limit_usd
        return None if limit is None else limit - self.totals.committed_usd


class BudgetEnforcer:
    """Holds each step's estimated cost against the budgets covering it, then settles it.

    Args:
        ledger: where costs and holds are kept (``MemoryLedger``, ``SQLiteLedger``,
            ``PostgresLedger``; see ``ledger_for``).
        budgets: the budgets in force (``load_budgets(path)``).
        agent_of: finds the agent a step acts for (default: ``metadata["agent"]``).
    """

    def __init__(
        self,
        ledger: Ledger,
        budgets: Iterable[Budget] = (),
        *,
        agent_of: Callable[[ExecuteStepInput], str | None] = agent_of,
    ) -> None:
        self.ledger = ledger
        self.budgets = tuple(budgets)
        self.agent_of = agent_of
        self._tenants: dict[str, str] = {}

    def scope_of(self, step: ExecuteStepInput) -> StepScope:
        """Who ``step``'s spend belongs to, today."""
        return StepScope.of(step, agent=self.agent_of(step), now=self.ledger.clock())

    async def reserve(
        self, step: ExecuteStepInput, estimate: CostEstimate, *, force: bool = False
    ) -> Reservation:
        """Hold ``estimate`` for ``step`` (id: its idempotency key) in every covering budget.

        Args:
            step: the step about to run.
            estimate: from ``estimate_step``.
            force: an approval allowed this overspend: hard budgets only warn.

        Returns:
            The hold; with ``breach`` set nothing is held (ask for approval, then reserve
            again with ``force=True``; or replan). A hold already made for this id is
            returned as it is.

        Raises:
            BudgetExceeded: a hard budget with ``on_breach: stop`` would be exceeded.
        """
        scope = self.scope_of(step)
        counted = _unique(b.scope_of(scope) for b in self.budgets)
        covered = [Covered(b, s) for b, s in self._covering(scope)]
        what = f"step {step.step_key} ({step.name}) of run {step.run_id}"

        def decide(totals: Mapping[str, Totals]) -> Verdict:
            return judge(covered, totals, estimate.usd, estimate.tokens, what=what, force=force)

        charge = Charge(step.idempotency_key, scope, estimate.usd, estimate.tokens)
        reservation = await self.ledger.hold(charge, counted, decide)
        if reservation.breach is None:
            self._tenants[reservation.id] = step.tenant_id
        for warning in reservation.warnings:
            log.warning("%s: %s", what, warning)
        return reservation

    async def reconcile(self, reservation: Reservation, actual: ActualCost) -> None:
        """Replace the hold with what the step actually cost (idempotent)."""
        tenant = self._tenants.pop(reservation.id, None)
        await self.ledger.settle(reservation.id, actual, tenant=tenant)

    async def release(self, reservation: Reservation) -> None:
        """Return the hold of a step that did not run (idempotent)."""
        tenant = self._tenants.pop(reservation.id, None)
        await self.ledger.release(reservation.id, tenant=tenant)

    async def status(self, step: ExecuteStepInput) -> list[BudgetStatus]:
        """The budgets covering ``step`` and what their scopes have spent and hold now."""
        scope = self.scope_of(step)
        covered = self._covering(scope)
        totals = await self.ledger.totals(step.tenant_id, [s for _, s in covered])
        return [BudgetStatus(b, s, totals[s.key]) for b, s in covered]

    async def preflight(
        self,
        estimate: WorkflowEstimate,
        *,
        tenant: str = "default",
        agent: str = "",
    ) -> PreflightResult:
        """``preflight`` against these budgets and what their scopes have spent so far."""
        scope = StepScope(tenant, "", estimate.workflow, agent, day_of(self.ledger.clock()))
        pairs = self._covering(scope)
        totals = await self.ledger.totals(tenant, [s for _, s in pairs])
        spent = {b.name: totals[s.key] for b, s in pairs}
        return preflight(estimate, self.budgets, tenant=tenant, agent=agent, spent=spent)

    def _covering(self, scope: StepScope) -> list[tuple[Budget, Scope]]:
        """The budgets covering a step of ``scope``, each with the scope it counts in."""
        return [
            (budget, counted)
            for budget in self.budgets
            if (counted := budget.scope_of(scope)) is not None and budget.applies_to(scope)
        ]


def _unique(scopes: Iterable[Scope | None]) -> Sequence[Scope]:
    return list({s.key: s for s in scopes if s is not None}.values())


async def ledger_for(store: Store, *, clock: Callable[[], float] = time.time) -> Ledger:
    """Open the ledger living beside ``store``: the same SQLite file, or the same PostgreSQL
    schema through the store's own connection pool.

    Raises:
        UsageError: the store is of a kind that has no ledger.
    """
    if isinstance(store, MemoryStore):
        return MemoryLedger(clock=clock)
    if isinstance(store, SQLiteStore):
        return SQLiteLedger(store.path, durability=store.durability, clock=clock)
    kind = type(store).__name__
    if kind == "PostgresStore":  # imported only here: it needs the postgres extra
        from fluxio.governance.budgets.postgres import PostgresLedger

        return PostgresLedger.beside(store, clock=clock)  # type: ignore[arg-type]
    raise UsageError(
        f"there is no budget ledger for a {kind}; pass MemoryLedger(), SQLiteLedger(path) or "
        "PostgresLedger.connect(url) to BudgetEnforcer yourself"
    )
