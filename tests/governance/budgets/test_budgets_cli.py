"""``fluxio costs``: spend as a table, grouped as asked, from the CLI's database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest
import typer
from budget_steps import DAY, Clock, tool_step
from typer.testing import CliRunner, Result

from fluxio.cli.commands import costs
from fluxio.cli.main import options
from fluxio.governance.budgets import (
    ActualCost,
    BudgetEnforcer,
    Ledger,
    SQLiteLedger,
    estimate_step,
)
from fluxio.governance.budgets.postgres import PostgresLedger
from fluxio.testing.postgres import PostgresSandbox

app = typer.Typer()
app.callback()(options)
app.command("costs")(costs.costs)

CALLS = [  # tenant, workflow, agent, run, dollars
    ("default", "triage", "support", "r1", 0.25),
    ("default", "triage", "support", "r1", 0.5),
    ("default", "report", None, "r2", 1.0),
    ("acme", "triage", None, "r3", 2.0),
]


def fluxio(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


async def record(ledger: Ledger, clock: Clock) -> None:
    gate = BudgetEnforcer(ledger)
    for i, (tenant, workflow, agent, run, usd) in enumerate(CALLS):
        step = tool_step(usd, key=str(i), tenant=tenant, workflow=workflow, run=run, agent=agent)
        reservation = await gate.reserve(step, estimate_step(step))
        await gate.reconcile(reservation, ActualCost(usd, input_tokens=1000, output_tokens=10))
        clock.advance(DAY)
    await ledger.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "fluxio.db"
    clock = Clock()
    asyncio.run(record(SQLiteLedger(path, durability="normal", clock=clock), clock))
    return path


def test_costs_are_grouped_by_workflow_by_default_with_a_total(db: Path) -> None:
    result = fluxio("--db", str(db), "costs")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    report = next(line for line in lines if "report" in line)
    triage = next(line for line in lines if "triage" in line)
    assert [cell.strip() for cell in report.split("│")[1:7]] == [
        "report", "1", "1,000", "10", "$1.0000", "$0.0000"
    ]  # fmt: skip
    assert [cell.strip() for cell in triage.split("│")[1:7]] == [
        "triage", "2", "2,000", "20", "$0.7500", "$0.0000"
    ]  # fmt: skip
    assert "$1.7500" in next(line for line in lines if "total" in line)
    assert "acme" not in result.output
    assert "$2.0000" not in result.output


@pytest.mark.parametrize(
    ("by", "expected", "absent"),
    [
        ("agent", ["support", "$0.7500", "-", "$1.0000"], []),
        ("tenant", ["acme", "$2.0000", "default", "$1.7500", "$3.7500"], []),
        ("run", ["r1", "r2"], ["r3"]),
        ("day", ["2025-03-03", "2025-03-04", "2025-03-05"], ["2025-03-06"]),
    ],
)
def test_costs_group_by_agent_tenant_run_or_day(
    db: Path, by: str, expected: list[str], absent: list[str]
) -> None:
    result = fluxio("--db", str(db), "costs", "--by", by)
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output
    for text in absent:
        assert text not in result.output


def test_since_keeps_only_later_costs(db: Path) -> None:
    result = fluxio("--db", str(db), "costs", "--by", "day", "--since", "2025-03-04")
    assert result.exit_code == 0, result.output
    assert "2025-03-03" not in result.output
    assert "2025-03-04" in result.output
    assert "$0.5000" in result.output
    later = fluxio("--db", str(db), "--tenant", "acme", "costs", "--since", "2025-03-06T00:00")
    assert "triage" in later.output
    assert "$2.0000" in later.output


def test_a_bad_since_or_grouping_is_a_clear_error(db: Path) -> None:
    bad = fluxio("--db", str(db), "costs", "--since", "last tuesday")
    assert bad.exit_code == 2
    assert "--since 'last tuesday' is not a date; write YYYY-MM-DD" in bad.output
    grouping = fluxio("--db", str(db), "costs", "--by", "week")
    assert grouping.exit_code == 2
    assert "week" in grouping.output


def test_no_database_or_no_costs_says_so(tmp_path: Path) -> None:
    missing = fluxio("--db", str(tmp_path / "none.db"), "costs")
    assert missing.exit_code == 0
    assert "no costs yet (no database at" in missing.output
    assert not (tmp_path / "none.db").exists()
    empty = tmp_path / "empty.db"
    asyncio.run(SQLiteLedger(empty).close())
    asyncio.run(SQLiteLedger(empty).rollup("day"))
    quiet = fluxio("--db", str(empty), "costs", "--since", "2025-01-01")
    assert "no costs recorded since 2025-01-01 for tenant default" in quiet.output


def test_costs_read_a_postgresql_database(postgres: PostgresSandbox) -> None:
    schema = postgres.new_schema()
    try:
        url = f"{postgres.app_url}?options={quote(f'-csearch_path={schema}')}"
        asyncio.run(_record_in_postgres(postgres.app_url, schema))
        result = fluxio("--db", url, "costs", "--by", "tenant")
        assert result.exit_code == 0, result.output
        assert "acme" in result.output
        assert "$3.7500" in result.output
    finally:
        postgres.drop_schema(schema)


async def _record_in_postgres(url: str, schema: str) -> None:
    clock = Clock()
    await record(await PostgresLedger.connect(url, schema=schema, clock=clock), clock)
