"""The PostgreSQL ledger's tables are tenant-owned: row-level security hides other tenants."""

from __future__ import annotations

import psycopg
import pytest
from budget_steps import Clock, tool_step

from fluxio.governance.budgets import ActualCost, Budget, BudgetEnforcer, estimate_step
from fluxio.governance.budgets.postgres import PostgresLedger
from fluxio.testing.postgres import PostgresSandbox

pytestmark = pytest.mark.anyio

TABLES = ("budget_charges", "budget_counters", "budget_estimates")


async def test_a_tenant_sees_only_its_own_budget_rows(postgres: PostgresSandbox) -> None:
    schema = postgres.new_schema()
    ledger = await PostgresLedger.connect(postgres.app_url, schema=schema, clock=Clock())
    try:
        gate = BudgetEnforcer(ledger, [Budget("cap", "tenant", limit_usd=5)])
        for tenant in ("acme", "globex"):
            step = tool_step(1.0, tenant=tenant, run=f"run-{tenant}")
            await gate.reconcile(await gate.reserve(step, estimate_step(step)), ActualCost(1.0))
            await ledger.record_estimate(tenant, f"run-{tenant}", "wf", 1.0, 0)
        seen = _tenants_seen(postgres.app_url, schema, "acme")
        assert seen == {table: ["acme"] for table in TABLES}
        assert _tenants_seen(postgres.app_url, schema, None) == {table: [] for table in TABLES}
    finally:
        await ledger.close()
        postgres.drop_schema(schema)


def _tenants_seen(url: str, schema: str, tenant: str | None) -> dict[str, list[str]]:
    with psycopg.connect(url, options=f"-c search_path={schema}") as conn:
        if tenant is not None:
            conn.execute("SELECT set_config('fluxio.tenant', %s, false)", (tenant,))
        return {
            table: [r[0] for r in conn.execute(f"SELECT DISTINCT tenant_id FROM {table}")]
            for table in TABLES
        }
