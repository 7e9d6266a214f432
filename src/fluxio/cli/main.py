"""The ``fluxio`` command: global options, and the commands assembled from ``commands/``."""

from __future__ import annotations

from typing import Annotated

import typer

from fluxio.cli.commands import (
    agents,
    approvals,
    audit,
    control,
    costs,
    db,
    demo,
    governance,
    mcp,
    policy,
    run,
    runs,
    tools,
    worker,
)
from fluxio.cli.settings import ENV_DB, ENV_GOVERNANCE, Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="fluxio",
    help="fluxio: durable, governed workflows and agents on SQLite or PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def options(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar=ENV_DB,
            show_envvar=True,
            help="Database: a file path or sqlite:///path (default ./.fluxio/fluxio.db).",
        ),
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant to act in.")] = "default",
    governance: Annotated[
        str | None,
        typer.Option(
            "--governance",
            envvar=ENV_GOVERNANCE,
            show_envvar=True,
            help="Governance file runs obey (default ./governance.yaml when present).",
        ),
    ] = None,
) -> None:
    """Global options, given before the command: fluxio --db my.db runs list."""
    ctx.obj = Settings(db=db_url, tenant=tenant, governance=governance)


app.command("run")(run.run)
app.command("validate")(run.validate)
app.command("graph")(run.graph)
app.add_typer(runs.app, name="runs")
app.command("signal")(control.signal)
app.command("approve")(control.approve)
app.command("reject")(control.reject)
app.command("resolve")(control.resolve)
app.command("cancel")(control.cancel)
app.command("worker")(worker.worker)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")
app.add_typer(tools.app, name="tools")
app.add_typer(mcp.app, name="mcp")
app.add_typer(agents.app, name="agents")
app.add_typer(policy.app, name="policy")
app.add_typer(governance.app, name="governance")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.command("costs")(costs.costs)


def main() -> None:
    """Entry point of the ``fluxio`` console script."""
    app()


if __name__ == "__main__":
    main()
