"""``MemoryLedger``: the ledger in this process's memory, for tests, examples and one process.

Its operations never await, so each is atomic on the event loop, like a transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from fluxio.governance.budgets.decision import Totals
from fluxio.governance.budgets.gate import ActualCost, Reservation
from fluxio.governance.budgets.ledger import (
    Charge,
    Decide,
    EstimateRecord,
    Rollup,
    StepAverage,
)
from fluxio.governance.budgets.model import Scope, StepScope
from fluxio.governance.budgets.sql import GroupBy

__all__ = ["MemoryLedger"]


@dataclass
class _Row:
    charge: Charge
    state: str
    scopes: tuple[str, ...]
    warnings: tuple[str, ...]
    created_at: float
    usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0


class MemoryLedger:
    """A ledger in this process's memory: for tests, examples and single-process use.

    Args:
        clock: the time source (epoch seconds) for charges and estimates.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._rows: dict[str, _Row] = {}
        self._counters: dict[tuple[str, str], Totals] = {}
        self._estimates: dict[tuple[str, str], tuple[str, float, int, float]] = {}

    async def hold(self, charge: Charge, scopes: Sequence[Scope], decide: Decide) -> Reservation:
        """See ``Ledger.hold``: atomic because it never awaits."""
        row = self._rows.get(charge.id)
        if row is not None and row.state == "held":
            return _reservation(row)
        tenant = charge.step.tenant
        for scope in scopes:
            if (tenant, scope.key) not in self._counters:
                self._counters[(tenant, scope.key)] = self._initial(tenant, scope)
        keys = tuple(dict.fromkeys(s.key for s in scopes))
        verdict = decide({k: self._counters[(tenant, k)] for k in keys})
        if verdict.breach is not None:
            return Reservation(
                charge.id, keys, charge.usd, charge.tokens, verdict.warnings, verdict.breach
            )
        for key in keys:
            self._add(tenant, key, Totals(held_usd=charge.usd, held_tokens=charge.tokens))
        if row is None:
            row = _Row(charge, "held", keys, verdict.warnings, self.clock())
            self._rows[charge.id] = row
        else:
            row.charge, row.state, row.scopes, row.warnings = charge, "held", keys, verdict.warnings
        return _reservation(row)

    async def settle(self, id: str, actual: ActualCost, *, tenant: str | None = None) -> None:
        """See ``Ledger.settle``."""
        row = self._rows.get(id)
        if row is None or row.state != "held":
            return
        change = Totals(actual.usd, actual.tokens, -row.charge.usd, -row.charge.tokens)
        for key in row.scopes:
            self._add(row.charge.step.tenant, key, change)
        row.state = "settled"
        row.usd += actual.usd
        row.input_tokens += actual.input_tokens
        row.output_tokens += actual.output_tokens

    async def release(self, id: str, *, tenant: str | None = None) -> None:
        """See ``Ledger.release``."""
        row = self._rows.get(id)
        if row is None or row.state != "held":
            return
        for key in row.scopes:
            self._add(
                row.charge.step.tenant, key, Totals(0, 0, -row.charge.usd, -row.charge.tokens)
            )
        row.state = "released"

    async def totals(self, tenant: str, scopes: Sequence[Scope]) -> dict[str, Totals]:
        """See ``Ledger.totals``."""
        found = {s.key: self._counters.get((tenant, s.key)) for s in scopes}
        return {s.key: found[s.key] or self._initial(tenant, s) for s in scopes}

    async def rollup(
        self, by: GroupBy, *, tenant: str | None = None, since: float | None = None
    ) -> list[Rollup]:
        """See ``Ledger.rollup``."""
        groups: dict[str, Rollup] = {}
        for row in self._select(tenant, since):
            key = _group_key(row.charge.step, by)
            held = row.charge.usd if row.state == "held" else 0.0
            add = Rollup(key, 1, row.input_tokens, row.output_tokens, row.usd, held)
            groups[key] = _merge(groups.get(key), add)
        return [groups[k] for k in sorted(groups)]

    async def step_averages(self, tenant: str, workflow: str) -> dict[str, StepAverage]:
        """See ``Ledger.step_averages``."""
        samples: dict[str, list[_Row]] = {}
        for row in self._select(tenant, None):
            if row.charge.step.workflow == workflow and row.state == "settled":
                samples.setdefault(row.charge.step.step_name, []).append(row)
        return {name: _average(name, rows) for name, rows in sorted(samples.items())}

    async def record_estimate(
        self, tenant: str, run_id: str, workflow: str, usd: float, tokens: int
    ) -> None:
        """See ``Ledger.record_estimate``."""
        created = self._estimates.get((tenant, run_id), ("", 0.0, 0, self.clock()))[3]
        self._estimates[(tenant, run_id)] = (workflow, usd, tokens, created)

    async def estimate_history(
        self, *, tenant: str | None = None, since: float | None = None
    ) -> list[EstimateRecord]:
        """See ``Ledger.estimate_history``."""
        records = [
            self._record(t, run_id, *value)
            for (t, run_id), value in self._estimates.items()
            if tenant in (None, t) and (since is None or value[3] >= since)
        ]
        return sorted(records, key=lambda r: (r.created_at, r.run_id))

    async def close(self) -> None:
        """Nothing to release."""

    def _record(
        self, tenant: str, run_id: str, workflow: str, usd: float, tokens: int, created: float
    ) -> EstimateRecord:
        rows = [
            r
            for r in self._rows.values()
            if r.charge.step.tenant == tenant and r.charge.step.run_id == run_id
        ]
        actual_usd = sum(r.usd for r in rows)
        actual_tokens = sum(r.input_tokens + r.output_tokens for r in rows)
        pending = sum(r.state == "held" for r in rows)
        return EstimateRecord(
            tenant,
            run_id,
            workflow,
            created,
            usd,
            tokens,
            actual_usd,
            actual_tokens,
            len(rows),
            pending,
        )

    def _select(self, tenant: str | None, since: float | None) -> list[_Row]:
        return [
            r
            for r in self._rows.values()
            if tenant in (None, r.charge.step.tenant) and (since is None or r.created_at >= since)
        ]

    def _initial(self, tenant: str, scope: Scope) -> Totals:
        rows = [r for r in self._select(tenant, None) if _covers(scope, r.charge.step)]
        return Totals(sum(r.usd for r in rows), sum(r.input_tokens + r.output_tokens for r in rows))

    def _add(self, tenant: str, key: str, change: Totals) -> None:
        now = self._counters.get((tenant, key), Totals())
        self._counters[(tenant, key)] = Totals(
            now.usd + change.usd,
            now.tokens + change.tokens,
            now.held_usd + change.held_usd,
            now.held_tokens + change.held_tokens,
        )


def _reservation(row: _Row) -> Reservation:
    return Reservation(row.charge.id, row.scopes, row.charge.usd, row.charge.tokens, row.warnings)


def _covers(scope: Scope, step: StepScope) -> bool:
    subject = {"run": step.run_id, "agent": step.agent, "workflow": step.workflow}
    if scope.kind != "tenant" and subject[scope.kind] != scope.subject:
        return False
    return scope.day is None or scope.day == step.day


def _group_key(step: StepScope, by: GroupBy) -> str:
    values = {
        "run": step.run_id,
        "agent": step.agent,
        "workflow": step.workflow,
        "tenant": step.tenant,
        "day": step.day,
    }
    return values[by]


def _merge(total: Rollup | None, add: Rollup) -> Rollup:
    if total is None:
        return add
    return replace(
        total,
        steps=total.steps + add.steps,
        input_tokens=total.input_tokens + add.input_tokens,
        output_tokens=total.output_tokens + add.output_tokens,
        usd=total.usd + add.usd,
        held_usd=total.held_usd + add.held_usd,
    )


def _average(name: str, rows: list[_Row]) -> StepAverage:
    count = len(rows)
    tokens = sum(r.input_tokens + r.output_tokens for r in rows)
    return StepAverage(name, count, sum(r.usd for r in rows) / count, tokens / count)
