"""``fluxio costs``: what runs spent, grouped by agent, workflow, tenant, day or run.

Reads the budget ledger of the CLI's database (the SQLite file or the PostgreSQL URL that
``--db`` / ``FLUXIO_DATABASE_URL`` names). Register with ``app.command("costs")(costs.costs)``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.output import fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.errors import UsageError
from fluxio.governance.budgets import Ledger, Rollup, SQLiteLedger

__all__ = ["By", "costs", "parse_since"]


class By(enum.StrEnum):
    """What ``fluxio costs`` groups by."""

    agent = "agent"
    workflow = "workflow"
    tenant = "tenant"
    day = "day"
    run = "run"


@fails_cleanly
def costs(
    ctx: typer.Context,
    by: Annotated[
        By, typer.Option("--by", help="Group by agent, workflow, tenant, day or run.")
    ] = By.workflow,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only costs from this UTC date or time (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Show token and dollar spend as a table (all tenants with --by tenant)."""
    start = parse_since(since)
    settings = settings_of(ctx)
    if settings.postgres_url is None and not settings.db_path.exists():
        out().print(f"no costs yet (no database at {escape(str(settings.db_path))})")
        return
    tenant = None if by is By.tenant else settings.tenant
    rows = run_async(_rollup(settings, by, tenant, start))
    if not rows:
        when = f" since {since}" if since else ""
        out().print(f"no costs recorded{when} for tenant {escape(settings.tenant)}")
        return
    out().print(_table(by, rows))


def parse_since(value: str | None) -> float | None:
    """Epoch seconds of a ``--since`` value: ``YYYY-MM-DD`` or an ISO time (UTC if naive).

    Raises:
        UsageError: the value is neither.
    """
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"--since {value!r} is not a date; write YYYY-MM-DD (e.g. 2025-01-31) or an ISO "
            "time such as 2025-01-31T12:00"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


async def _rollup(
    settings: Settings, by: By, tenant: str | None, since: float | None
) -> list[Rollup]:
    ledger = await _open(settings)
    try:
        return await ledger.rollup(by.value, tenant=tenant, since=since)
    finally:
        await ledger.close()


async def _open(settings: Settings) -> Ledger:
    url = settings.postgres_url
    if url is not None:
        from fluxio.governance.budgets.postgres import PostgresLedger

        return await PostgresLedger.connect(url)
    return SQLiteLedger(settings.db_path)


def _table(by: By, rows: list[Rollup]) -> Table:
    table = Table(show_footer=len(rows) > 1)
    total = Rollup("total", *(sum(getattr(r, f) for r in rows) for f in _SUMMED))
    table.add_column(by.value, overflow="fold", footer="total")
    for header, field in (
        ("steps", "steps"),
        ("input tokens", "input_tokens"),
        ("output tokens", "output_tokens"),
        ("cost (USD)", "usd"),
        ("held (USD)", "held_usd"),
    ):
        table.add_column(header, justify="right", footer=_cell(field, getattr(total, field)))
    for row in rows:
        cells = [_cell(f, getattr(row, f)) for f in _SUMMED]
        table.add_row(escape(row.key or "-"), *cells)
    return table


_SUMMED = ("steps", "input_tokens", "output_tokens", "usd", "held_usd")


def _cell(field: str, value: float) -> str:
    return f"${value:,.4f}" if field in ("usd", "held_usd") else f"{int(value):,}"
