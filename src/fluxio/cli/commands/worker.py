"""``fluxio worker``: execute runs from the database until stopped (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.loader import load_definitions
from fluxio.cli.output import err, fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import open_workspace
from fluxio.engine import Worker
from fluxio.errors import FluxioError

__all__ = ["worker"]


@fails_cleanly
def worker(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Workflow files to serve (default: every workflow in the catalog)."),
    ] = None,
    tools: Annotated[
        list[Path] | None, typer.Option("--tools", help="Python files with TOOLS.")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=10_000)] = 100,
) -> None:
    """Execute runnable runs until stopped; Ctrl-C or SIGTERM stops it gracefully."""
    settings = settings_of(ctx)
    workflows = load_definitions(paths, tools or []).workflows if paths else _catalogued(settings)
    run_async(_serve(settings, workflows, concurrency))


def _catalogued(settings: Settings) -> dict[str, Any]:
    """Every catalogued workflow that still loads; broken entries are reported and skipped."""
    from fluxio.cli.catalog import Catalog

    workflows: dict[str, Any] = {}
    for name, entry in Catalog(settings.catalog_path).entries().items():
        try:
            workflows.update(load_definitions([entry.file], entry.tools).workflows)
        except FluxioError as exc:
            err().print(f"[yellow]skipping workflow {escape(name)}:[/] {escape(str(exc))}")
    return workflows


async def _serve(settings: Settings, workflows: dict[str, Any], concurrency: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    console = out()
    async with open_workspace(settings) as ws:
        engine = ws.engine(workflows)
        runner = Worker(engine, concurrency=concurrency, poll_interval=0.2)
        console.print(
            f"worker [bold]{escape(engine.worker_id)}[/] serving "
            f"{escape(', '.join(engine.workflows))} from {escape(settings.db_label)}; "
            "Ctrl-C to stop"
        )
        try:
            await runner.run(stop=stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        console.print(f"worker stopped after executing {runner.executed} run executions")
