"""The ledger's SQL, shared by SQLite and PostgreSQL (written with ``?``; see ``postgres``).

Tables (migration 5 of ``fluxio.store.migrations``):

- ``budget_charges``: one row per step: who it belongs to, its estimate (held while
  ``state = 'held'``), what it cost once settled, and the scope keys it is counted in.
- ``budget_counters``: per tenant and scope key, dollars and tokens spent and held: what a
  hold is checked against. A counter is created on first use from the charges it covers.
- ``budget_estimates``: a run's preflight estimate, to compare with what it cost.
"""

from __future__ import annotations

from typing import Any, Literal

from fluxio.governance.budgets.model import Scope

__all__ = [
    "ENSURE_COUNTER",
    "GET_CHARGE",
    "GROUP_COLUMNS",
    "GroupBy",
    "postgres",
    "scope_filter",
]

GroupBy = Literal["run", "agent", "workflow", "tenant", "day"]
GROUP_COLUMNS: dict[str, str] = {
    "run": "run_id",
    "agent": "agent",
    "workflow": "workflow",
    "tenant": "tenant_id",
    "day": "day",
}

CHARGE_COLUMNS = (
    "tenant_id, reservation_id, run_id, workflow, agent, step_name, day, state, scopes, "
    "estimate_usd, estimate_tokens, usd, input_tokens, output_tokens, warnings, created_at, "
    "settled_at"
)
GET_CHARGE = f"SELECT {CHARGE_COLUMNS} FROM budget_charges WHERE reservation_id = ?"  # noqa: S608
INSERT_CHARGE = (
    f"INSERT INTO budget_charges ({CHARGE_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, 0, 0, 0, ?, ?, NULL)"
)
REHOLD_CHARGE = (
    "UPDATE budget_charges SET state = 'held', scopes = ?, estimate_usd = ?, "
    "estimate_tokens = ?, warnings = ? WHERE tenant_id = ? AND reservation_id = ?"
)
SETTLE_CHARGE = (
    "UPDATE budget_charges SET state = 'settled', usd = usd + ?, "
    "input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, settled_at = ? "
    "WHERE tenant_id = ? AND reservation_id = ?"
)
RELEASE_CHARGE = (
    "UPDATE budget_charges SET state = 'released', settled_at = ? "
    "WHERE tenant_id = ? AND reservation_id = ?"
)
ENSURE_COUNTER = (
    "INSERT INTO budget_counters "
    "(tenant_id, scope_key, usd, tokens, held_usd, held_tokens, updated_at) "
    "SELECT ?, ?, COALESCE(SUM(usd), 0), COALESCE(SUM(input_tokens + output_tokens), 0), "
    "0, 0, ? FROM budget_charges WHERE tenant_id = ?{filter} "
    "ON CONFLICT (tenant_id, scope_key) DO NOTHING"
)
GET_COUNTERS = (
    "SELECT scope_key, usd, tokens, held_usd, held_tokens FROM budget_counters "
    "WHERE tenant_id = ? AND scope_key IN ({marks}) ORDER BY scope_key"
)
HOLD_COUNTER = (
    "UPDATE budget_counters SET held_usd = held_usd + ?, held_tokens = held_tokens + ?, "
    "updated_at = ? WHERE tenant_id = ? AND scope_key = ?"
)
SETTLE_COUNTER = (
    "UPDATE budget_counters SET held_usd = held_usd - ?, held_tokens = held_tokens - ?, "
    "usd = usd + ?, tokens = tokens + ?, updated_at = ? WHERE tenant_id = ? AND scope_key = ?"
)
ROLLUP = (
    "SELECT {column}, COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
    "COALESCE(SUM(usd), 0), "
    "COALESCE(SUM(CASE WHEN state = 'held' THEN estimate_usd ELSE 0 END), 0) "
    "FROM budget_charges WHERE {where} GROUP BY {column} ORDER BY {column}"
)
STEP_AVERAGES = (
    "SELECT step_name, COUNT(*), AVG(usd), AVG(input_tokens + output_tokens) "
    "FROM budget_charges WHERE tenant_id = ? AND workflow = ? AND state = 'settled' "
    "GROUP BY step_name ORDER BY step_name"
)
UPSERT_ESTIMATE = (
    "INSERT INTO budget_estimates (tenant_id, run_id, workflow, usd, tokens, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, run_id) DO UPDATE SET "
    "workflow = excluded.workflow, usd = excluded.usd, tokens = excluded.tokens"
)
ESTIMATE_HISTORY = (
    "SELECT e.tenant_id, e.run_id, e.workflow, e.created_at, e.usd, e.tokens, "
    "COALESCE(SUM(c.usd), 0), COALESCE(SUM(c.input_tokens + c.output_tokens), 0), "
    "COUNT(c.reservation_id), "
    "COALESCE(SUM(CASE WHEN c.state = 'held' THEN 1 ELSE 0 END), 0) "
    "FROM budget_estimates e LEFT JOIN budget_charges c "
    "ON c.tenant_id = e.tenant_id AND c.run_id = e.run_id "
    "WHERE {where} "
    "GROUP BY e.tenant_id, e.run_id, e.workflow, e.created_at, e.usd, e.tokens "
    "ORDER BY e.created_at, e.run_id"
)


def scope_filter(scope: Scope) -> tuple[str, list[Any]]:
    """The ``AND ...`` clause selecting the charges a scope covers, with its parameters."""
    clause = ""
    params: list[Any] = []
    column = {"run": "run_id", "agent": "agent", "workflow": "workflow"}.get(scope.kind)
    if column is not None:
        clause += f" AND {column} = ?"
        params.append(scope.subject)
    if scope.day is not None:
        clause += " AND day = ?"
        params.append(scope.day)
    return clause, params


def time_filter(tenant: str | None, since: float | None, prefix: str = "") -> tuple[str, list[Any]]:
    """A ``WHERE`` body for an optional tenant and an optional start time."""
    parts: list[str] = ["1 = 1"]
    params: list[Any] = []
    if tenant is not None:
        parts.append(f"{prefix}tenant_id = ?")
        params.append(tenant)
    if since is not None:
        parts.append(f"{prefix}created_at >= ?")
        params.append(since)
    return " AND ".join(parts), params


def postgres(statement: str) -> str:
    """A statement with PostgreSQL's ``%s`` placeholders instead of ``?``."""
    return statement.replace("?", "%s")
