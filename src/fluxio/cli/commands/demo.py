"""``fluxio demo``: triage sample support tickets, stop for approval, send on approval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fluxio.cli.commands import agents
from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.demo_view import show_drafts, show_outbox
from fluxio.cli.output import EXIT_OK, EXIT_WAITING, fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import Workspace, open_workspace
from fluxio.demo import DEMO_WORKFLOW
from fluxio.demo import folder as demo_folder
from fluxio.engine import Engine
from fluxio.errors import UsageError
from fluxio.store.records import TERMINAL, Run, RunQuery, RunStatus

__all__ = ["demo"]


@fails_cleanly
def demo(
    ctx: typer.Context,
    variant: Annotated[
        str | None,
        typer.Argument(metavar="agent", help="`agent`: the same triage by an agent on your model."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="The demo folder (tickets in, replies out).")
    ] = Path("fluxio-demo"),
    reset: Annotated[
        bool, typer.Option("--reset", help="Start over: new tickets, new run.")
    ] = False,
    delay: Annotated[
        float, typer.Option("--delay", min=0.0, max=5.0, help="Seconds each tool takes.")
    ] = 0.15,
) -> None:
    """Run the offline demo: triage support tickets, then wait for your approval to reply.

    Rerunning it on the same folder resumes the same run (also after a crash or Ctrl-C).
    `fluxio demo agent` has an agent triage the same tickets on the configured model.
    """
    if variant is not None:
        raise typer.Exit(_variant(ctx, variant, directory.expanduser().resolve(), reset))
    code = run_async(_demo(settings_of(ctx), directory.expanduser().resolve(), reset, delay))
    raise typer.Exit(code)


def _variant(ctx: typer.Context, variant: str, directory: Path, reset: bool) -> int:
    if variant != "agent":
        raise UsageError(f"unknown demo {variant!r}; run `fluxio demo` or `fluxio demo agent`")
    return agents.demo_agent(settings_of(ctx), directory, reset)


async def _demo(settings: Settings, directory: Path, reset: bool, delay: float) -> int:
    console = out()
    async with open_workspace(settings) as ws:
        engine = ws.engine()
        if reset:
            await _cancel_previous(ws, engine, directory)
        key = demo_folder.prepare(directory, reset=reset)
        run = await engine.start(
            DEMO_WORKFLOW,
            {"dir": str(directory), "delay": delay},
            idempotency_key=key,
            tenant_id=ws.tenant,
        )
        done = [e for e in await ws.store.read_journal(ws.tenant, run.run_id)]
        if run.status in TERMINAL:
            return await _finished(ws, engine, run)
        if done:
            console.print(
                f"resuming demo run [bold]{run.run_id}[/]: {len(done)} journal records kept, "
                "finished steps are not run again"
            )
        else:
            tickets = len(list((directory / "tickets").glob("*.txt")))
            console.print(
                f"triaging {tickets} support tickets in [bold]{escape(str(directory))}[/] "
                f"(run [bold]{run.run_id}[/], database {escape(settings.db_label)})"
            )
        run, _ = await ws.drive(engine, run.run_id, console, report=False)
        return await _finished(ws, engine, run)


async def _finished(ws: Workspace, engine: Engine, run: Run) -> int:
    console = out()
    if run.status is RunStatus.WAITING:
        show_drafts(console, await ws.store.read_journal(ws.tenant, run.run_id))
        await ws.report(engine, run, console)
        console.print(
            "(approve with an edited reply: "
            + escape(
                ws.settings.command(
                    "approve",
                    run.run_id,
                    "send_replies",
                    """--edit '{"T-1004": "Thanks Tom!"}'""",
                )
            )
            + ")"
        )
        return EXIT_OK
    if run.status is RunStatus.COMPLETED:
        console.print(f"run [bold]{run.run_id}[/] ({DEMO_WORKFLOW}) is completed")
        show_outbox(console, run)
        console.print("this demo folder's run is complete; start over with `fluxio demo --reset`")
        return EXIT_OK
    code = await ws.report(engine, run, console)
    return code if code != EXIT_WAITING else EXIT_OK


async def _cancel_previous(ws: Workspace, engine: Engine, directory: Path) -> None:
    if not (directory / demo_folder.MARKER).exists():
        return
    key = demo_folder.idempotency_key(directory)
    runs = await ws.store.list_runs(RunQuery(ws.tenant, workflow=DEMO_WORKFLOW, limit=10_000))
    for run in runs:
        if run.idempotency_key == key and run.status not in TERMINAL:
            await engine.cancel(run.run_id, tenant_id=ws.tenant, reason="demo reset")
            out().print(f"cancelled the previous demo run {run.run_id}")
