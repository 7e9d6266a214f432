"""The ledger's operations, written once over a cursor for both SQL dialects.

Each function runs inside one transaction that its ledger opens (SQLite: ``BEGIN
IMMEDIATE``, so the check and the hold happen under the database's write lock; PostgreSQL: the
counters are read ``FOR UPDATE`` in key order, so concurrent holds on one scope queue up and
never deadlock). ``decide`` may raise ``BudgetExceeded``: the transaction then rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from fluxio.governance.budgets import sql
from fluxio.governance.budgets.decision import Totals
from fluxio.governance.budgets.gate import ActualCost, Reservation
from fluxio.governance.budgets.ledger import (
    Charge,
    Decide,
    EstimateRecord,
    Rollup,
    StepAverage,
)
from fluxio.governance.budgets.model import Scope

__all__ = [
    "Cursor",
    "estimate_history",
    "hold",
    "record_estimate",
    "release",
    "rollup",
    "settle",
    "step_averages",
    "totals",
]

_STATE, _SCOPES, _EST_USD, _EST_TOKENS, _WARNINGS = 7, 8, 9, 10, 14
_TOTALS_FROM_CHARGES = (
    "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(input_tokens + output_tokens), 0) "
    "FROM budget_charges WHERE tenant_id = ?"
)


class Cursor(Protocol):
    """Runs one statement (written with ``?`` placeholders) and returns its rows."""

    lock: bool
    """Whether ``FOR UPDATE`` locks rows (PostgreSQL) or the transaction already does."""

    async def rows(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Execute ``statement`` with ``params``; the rows it returns (``[]`` for none)."""
        ...


async def hold(
    cur: Cursor, charge: Charge, scopes: Sequence[Scope], decide: Decide, now: float
) -> Reservation:
    """See ``Ledger.hold``."""
    found = await cur.rows(sql.GET_CHARGE, [charge.id])
    if found and found[0][_STATE] == "held":
        return _reservation(found[0])
    tenant = charge.step.tenant
    unique = sorted({s.key: s for s in scopes}.values(), key=lambda s: s.key)
    keys = tuple(s.key for s in unique)
    verdict = decide(await _ensured_counters(cur, tenant, unique, now))
    if verdict.breach is not None:
        return Reservation(
            charge.id, keys, charge.usd, charge.tokens, verdict.warnings, verdict.breach
        )
    for key in keys:
        await cur.rows(sql.HOLD_COUNTER, [charge.usd, charge.tokens, now, tenant, key])
    scopes_json, warnings_json = json.dumps(keys), json.dumps(verdict.warnings)
    if found:
        rehold = [scopes_json, charge.usd, charge.tokens, warnings_json, tenant, charge.id]
        await cur.rows(sql.REHOLD_CHARGE, rehold)
    else:
        await cur.rows(sql.INSERT_CHARGE, _charge_row(charge, scopes_json, warnings_json, now))
    return Reservation(charge.id, keys, charge.usd, charge.tokens, verdict.warnings)


async def settle(cur: Cursor, id: str, actual: ActualCost | None, now: float) -> None:
    """See ``Ledger.settle``; ``actual=None`` releases instead."""
    statement = sql.GET_CHARGE + (" FOR UPDATE" if cur.lock else "")
    found = await cur.rows(statement, [id])
    if not found or found[0][_STATE] != "held":
        return
    row = found[0]
    tenant, held_usd, held_tokens = row[0], row[_EST_USD], row[_EST_TOKENS]
    usd, tokens = (actual.usd, actual.tokens) if actual else (0.0, 0)
    for key in sorted(json.loads(row[_SCOPES])):
        change = [held_usd, held_tokens, usd, tokens, now, tenant, key]
        await cur.rows(sql.SETTLE_COUNTER, change)
    if actual is None:
        await cur.rows(sql.RELEASE_CHARGE, [now, tenant, id])
        return
    settled = [actual.usd, actual.input_tokens, actual.output_tokens, now, tenant, id]
    await cur.rows(sql.SETTLE_CHARGE, settled)


async def release(cur: Cursor, id: str, now: float) -> None:
    """See ``Ledger.release``."""
    await settle(cur, id, None, now)


async def totals(cur: Cursor, tenant: str, scopes: Sequence[Scope]) -> dict[str, Totals]:
    """See ``Ledger.totals``: counters, or sums of charges for scopes without one yet."""
    found = await _counters(cur, tenant, tuple(s.key for s in scopes), lock=False)
    result: dict[str, Totals] = {}
    for scope in scopes:
        if scope.key in found:
            result[scope.key] = found[scope.key]
            continue
        clause, params = sql.scope_filter(scope)
        [(usd, tokens)] = await cur.rows(_TOTALS_FROM_CHARGES + clause, [tenant, *params])
        result[scope.key] = Totals(float(usd), int(tokens))
    return result


async def rollup(
    cur: Cursor, by: sql.GroupBy, tenant: str | None, since: float | None
) -> list[Rollup]:
    """See ``Ledger.rollup``."""
    column = sql.GROUP_COLUMNS[by]
    where, params = sql.time_filter(tenant, since)
    rows = await cur.rows(sql.ROLLUP.format(column=column, where=where), params)
    return [
        Rollup(str(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5])) for r in rows
    ]


async def step_averages(cur: Cursor, tenant: str, workflow: str) -> dict[str, StepAverage]:
    """See ``Ledger.step_averages``."""
    rows = await cur.rows(sql.STEP_AVERAGES, [tenant, workflow])
    return {r[0]: StepAverage(r[0], int(r[1]), float(r[2]), float(r[3])) for r in rows}


async def record_estimate(
    cur: Cursor, tenant: str, run_id: str, workflow: str, usd: float, tokens: int, now: float
) -> None:
    """See ``Ledger.record_estimate``."""
    await cur.rows(sql.UPSERT_ESTIMATE, [tenant, run_id, workflow, usd, tokens, now])


async def estimate_history(
    cur: Cursor, tenant: str | None, since: float | None
) -> list[EstimateRecord]:
    """See ``Ledger.estimate_history``."""
    where, params = sql.time_filter(tenant, since, prefix="e.")
    rows = await cur.rows(sql.ESTIMATE_HISTORY.format(where=where), params)
    return [
        EstimateRecord(
            r[0],
            r[1],
            r[2],
            float(r[3]),
            float(r[4]),
            int(r[5]),
            float(r[6]),
            int(r[7]),
            int(r[8]),
            int(r[9]),
        )
        for r in rows
    ]


async def _ensured_counters(
    cur: Cursor, tenant: str, scopes: Sequence[Scope], now: float
) -> dict[str, Totals]:
    """The scopes' counters, locked; a missing one is created from the charges it covers."""
    keys = tuple(s.key for s in scopes)
    present = await _counters(cur, tenant, keys)
    missing = [s for s in scopes if s.key not in present]
    if not missing:
        return present
    for scope in missing:
        clause, params = sql.scope_filter(scope)
        ensure = sql.ENSURE_COUNTER.format(filter=clause)
        await cur.rows(ensure, [tenant, scope.key, now, tenant, *params])
    return await _counters(cur, tenant, keys)


async def _counters(
    cur: Cursor, tenant: str, keys: tuple[str, ...], *, lock: bool = True
) -> dict[str, Totals]:
    if not keys:
        return {}
    statement = sql.GET_COUNTERS.format(marks=", ".join("?" * len(keys)))
    if lock and cur.lock:
        statement += " FOR UPDATE"
    rows = await cur.rows(statement, [tenant, *keys])
    return {r[0]: Totals(float(r[1]), int(r[2]), float(r[3]), int(r[4])) for r in rows}


def _reservation(row: tuple[Any, ...]) -> Reservation:
    scopes = tuple(json.loads(row[_SCOPES]))
    warnings = tuple(json.loads(row[_WARNINGS]))
    return Reservation(row[1], scopes, float(row[_EST_USD]), int(row[_EST_TOKENS]), warnings)


def _charge_row(charge: Charge, scopes: str, warnings: str, now: float) -> list[Any]:
    step = charge.step
    return [
        step.tenant, charge.id, step.run_id, step.workflow, step.agent, step.step_name,
        step.day, scopes, charge.usd, charge.tokens, warnings, now,
    ]  # fmt: skip
