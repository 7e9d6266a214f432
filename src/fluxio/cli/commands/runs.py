"""``fluxio runs list`` and ``fluxio runs show``: what ran, what waits, what each step did."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.output import fails_cleanly, out, shown_status, status_text
from fluxio.cli.progress import approval_step, duration
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import open_workspace
from fluxio.errors import UsageError
from fluxio.store.records import EntryKind, JournalEntry, Run, RunQuery, RunStatus

__all__ = ["app"]

app = typer.Typer(help="List runs and show a run's journal.", no_args_is_help=True)


@app.command("list")
@fails_cleanly
def list_runs(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="Only runs in this status (repeatable)."),
    ] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", "-w")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 20,
) -> None:
    """List runs, newest first."""
    statuses = tuple(_status(s) for s in status or ())
    settings = settings_of(ctx)
    if settings.postgres_url is None and not settings.db_path.exists():
        out().print(f"no runs yet (no database at {escape(str(settings.db_path))})")
        return
    query = RunQuery(settings.tenant, statuses=statuses, workflow=workflow, limit=limit)
    runs = run_async(_list(settings, query))
    if not runs:
        out().print("no runs match")
        return
    table = Table()
    table.add_column("run", no_wrap=True, min_width=len(runs[0].run_id))
    table.add_column("workflow", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("waiting for / error", overflow="fold")
    table.add_column("created", no_wrap=True)
    for run in runs:
        table.add_row(
            run.run_id,
            escape(run.workflow),
            status_text(shown_status(run)),
            escape(_why(run)),
            _when(run.created_at, short=True),
        )
    out().print(table)


async def _list(settings: Settings, query: RunQuery) -> list[Run]:
    async with open_workspace(settings) as ws:
        return await ws.store.list_runs(query)


@app.command("show")
@fails_cleanly
def show(ctx: typer.Context, run_id: Annotated[str, typer.Argument(metavar="RUN")]) -> None:
    """Show a run: its state, why it waits, and the journal timeline of its steps."""
    run, journal = run_async(_show(settings_of(ctx), run_id))
    console = out()
    console.print(f"run [bold]{run.run_id}[/]  workflow [bold]{escape(run.workflow)}[/]")
    console.print(f"status   {status_text(shown_status(run))}")
    console.print(f"created  {_when(run.created_at)}   updated {_when(run.updated_at)}")
    if run.parent_run_id:
        console.print(f"parent   {run.parent_run_id}")
    if run.wait is not None and run.status is RunStatus.WAITING:
        console.print(f"waiting  {escape(_why(run))}")
    if run.attention:
        reason = run.attention.get("reason", "")
        console.print(f"[magenta]attention[/] step {run.attention.get('step_key')}: {reason}")
    if run.error:
        console.print(f"[red]error[/]    {escape(str(run.error.get('message', '')))}")
    if run.status is RunStatus.COMPLETED:
        console.print(f"result   {escape(_short(run.result))}", soft_wrap=True)
    console.print(_timeline(journal))


async def _show(settings: Settings, run_id: str) -> tuple[Run, list[JournalEntry]]:
    async with open_workspace(settings, create=False) as ws:
        run = await ws.get_run(run_id)
        return run, await ws.store.read_journal(ws.tenant, run_id)


def _timeline(journal: list[JournalEntry]) -> Table:
    table = Table("#", "step", "name", "kind", "ok", "attempts", "duration", "detail")
    for entry in journal:
        ok = "" if entry.kind is not EntryKind.OUTCOME else "[green]ok[/]"
        if not entry.ok:
            ok = "[red]error[/]"
        table.add_row(
            str(entry.seq),
            escape(entry.step_key),
            escape(entry.name),
            entry.kind.value,
            ok,
            str(entry.attempts),
            duration(entry) if entry.kind is EntryKind.OUTCOME else "",
            escape(_detail(entry)),
        )
    return table


def _detail(entry: JournalEntry) -> str:
    if not entry.ok and isinstance(entry.value, dict):
        return f"{entry.value.get('type', 'error')}: {entry.value.get('message', '')}"
    if entry.kind is not EntryKind.OUTCOME:
        return _short(entry.value, 60) if entry.value is not None else ""
    return _short(entry.value, 60)


def _why(run: Run) -> str:
    if run.status is RunStatus.WAITING and run.wait is not None:
        wait = run.wait
        due = f" until {_when(wait.until)}" if wait.until else ""
        if wait.reason == "approval":
            return f"approval of {approval_step(wait)}{due}"
        return f"{wait.reason}: {wait.detail}{due}".strip()
    if run.status is RunStatus.NEEDS_ATTENTION and run.attention:
        return f"step {run.attention.get('step_key')}: {run.attention.get('reason', '')}"
    if run.error:
        return str(run.error.get("message", ""))
    return ""


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value.lower())
    except ValueError:
        choices = ", ".join(s.value for s in RunStatus)
        raise UsageError(f"--status {value!r} is not a run status; use one of {choices}") from None


def _when(timestamp: float | None, *, short: bool = False) -> str:
    if not timestamp:
        return ""
    when = dt.datetime.fromtimestamp(timestamp)
    return when.strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
