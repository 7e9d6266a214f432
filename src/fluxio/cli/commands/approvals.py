"""``fluxio approvals``: list, show, approve and reject the actions waiting for a person.

Requests live in the database (``--db``), per tenant (``--tenant``). A decision is recorded
once, audited, and wakes the waiting run; a worker (``fluxio worker``) continues it. Who
decides is ``--by`` (default: your login name) with the roles given by ``--role``; agents
never decide, and nobody decides their own request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.commands.control import NoWait, continue_run
from fluxio.cli.output import fails_cleanly, out, parse_json
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import open_store
from fluxio.errors import UsageError
from fluxio.governance.approvals import (
    TERMINAL_STATUSES,
    ApprovalRequest,
    Approvals,
    ApprovalStore,
    Choice,
    SQLiteApprovalStore,
    StoreSignals,
)
from fluxio.governance.audit import AuditLog, SQLiteAuditLog
from fluxio.governance.policies import Actor
from fluxio.governance.redactors import redact_value

__all__ = ["app"]

app = typer.Typer(
    help="List, show, approve and reject actions waiting for a person.", no_args_is_help=True
)

IdArg = Annotated[str, typer.Argument(metavar="APPROVAL", help="The approval id (apr_...).")]
By = Annotated[str | None, typer.Option("--by", help="Who decides (default: your login).")]
Roles = Annotated[
    list[str] | None, typer.Option("--role", help="A role of the decider (repeatable).")
]
Note = Annotated[str, typer.Option("--note", help="Why: kept with the decision.")]
_STATUSES = ("pending", *sorted(TERMINAL_STATUSES))
_STYLE = {"pending": "yellow", "approved": "green", "rejected": "red", "expired": "magenta"}


@app.command("list")
@fails_cleanly
def list_requests(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help=f"{', '.join(_STATUSES)} or all.")] = "pending",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON request per line.")] = False,
) -> None:
    """List approval requests, newest first (pending ones unless --status says)."""
    statuses = _statuses(status)
    settings = settings_of(ctx)
    if settings.postgres_url is None and not settings.db_path.exists():
        out().print(f"no approval requests yet (no database at {escape(str(settings.db_path))})")
        return

    async def body() -> list[ApprovalRequest]:
        async with _desk(settings, decide=False) as desk:
            return await desk.requests(settings.tenant, statuses=statuses, limit=limit)

    found = run_async(body())
    if as_json:
        for request in found:
            out().print(json.dumps(request.to_dict(), ensure_ascii=False), soft_wrap=True)
    elif not found:
        out().print(f"no {'' if status == 'all' else status + ' '}approval requests")
    else:
        out().print(_table(found))


@app.command("show")
@fails_cleanly
def show(
    ctx: typer.Context,
    approval_id: IdArg,
    as_json: Annotated[bool, typer.Option("--json", help="The request as JSON.")] = False,
) -> None:
    """Show one request: the action and its arguments, the route, the votes."""
    settings = settings_of(ctx)

    async def body() -> ApprovalRequest:
        async with _desk(settings, decide=False) as desk:
            return await desk.get(settings.tenant, approval_id)

    request = run_async(body())
    if as_json:
        out().print(json.dumps(request.to_dict(), ensure_ascii=False, indent=2), soft_wrap=True)
        return
    console = out()
    for label, value in _facts(request):
        console.print(f"[bold]{label:<12}[/] {escape(str(value))}", soft_wrap=True)


@app.command("approve")
@fails_cleanly
def approve(
    ctx: typer.Context,
    approval_id: IdArg,
    by: By = None,
    role: Roles = None,
    note: Note = "",
    edit: Annotated[
        str | None,
        typer.Option("--edit", help="Approve with edited arguments: JSON or @file.json."),
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Approve a request (optionally with edited arguments, checked against the tool), then
    continue its run here (``--no-wait``: leave it to a worker)."""
    arguments = parse_json(edit, "--edit")
    if arguments is not None and not isinstance(arguments, dict):
        raise UsageError("--edit must be a JSON object of the tool's arguments")
    _decide(ctx, approval_id, "approve", by, role, note, arguments, no_wait)


@app.command("reject")
@fails_cleanly
def reject(
    ctx: typer.Context,
    approval_id: IdArg,
    by: By = None,
    role: Roles = None,
    note: Note = "",
    no_wait: NoWait = False,
) -> None:
    """Reject a request; the waiting step fails with the rejection (the run continues here
    unless ``--no-wait``)."""
    _decide(ctx, approval_id, "reject", by, role, note, None, no_wait)


def _decide(
    ctx: typer.Context,
    approval_id: str,
    choice: Choice,
    by: str | None,
    roles: list[str] | None,
    note: str,
    arguments: dict[str, Any] | None,
    no_wait: bool,
) -> None:
    settings = settings_of(ctx)
    decider = Actor(by or getpass.getuser(), "user", tuple(roles or ()))

    async def body() -> ApprovalRequest:
        async with _desk(settings, decide=True) as desk:
            return await desk.decide(
                settings.tenant,
                approval_id,
                choice,
                by=decider,
                notes=note,
                arguments=arguments,
            )

    request = run_async(body())
    if request.pending:
        out().print(
            f"recorded {escape(decider.id)}'s {choice} of [bold]{approval_id}[/]; it still needs "
            f"{request.rule} of {escape(', '.join(request.approvers))}"
        )
        return
    decided = f"[bold]{approval_id}[/] is {_status(request.status)} by "
    decided += escape(request.decided_by or "")
    if no_wait:
        out().print(
            f"{decided}; run [bold]{request.run_id}[/] was woken, and a worker continues it"
        )
        return
    out().print(f"{decided}; continuing run [bold]{request.run_id}[/]")
    try:
        code, _ = run_async(continue_run(settings, request.run_id))
    except UsageError as exc:  # e.g. its workflow was started from Python, not the catalog
        out().print(f"it was not continued here ({escape(str(exc))}); a worker continues it")
        return
    raise typer.Exit(code)


def _statuses(status: str) -> tuple[str, ...]:
    if status == "all":
        return ()
    if status not in _STATUSES:
        raise UsageError(f"--status must be one of {', '.join(_STATUSES)} or all, not {status!r}")
    return (status,)


@contextlib.asynccontextmanager
async def _desk(settings: Settings, *, decide: bool) -> AsyncIterator[Approvals]:
    """The approval desk on the settings' database (with signals and audit to decide)."""
    async with contextlib.AsyncExitStack() as stack:
        store = await _approval_store(settings)
        stack.push_async_callback(store.close)
        desk = Approvals(store, redact=redact_value())
        if decide:
            runs = await open_store(settings, create=False)
            stack.push_async_callback(runs.close)
            audit = await _audit_log(settings)
            stack.push_async_callback(audit.close)
            desk.bind(StoreSignals(runs))
            desk.audit = audit
        yield desk


async def _approval_store(settings: Settings) -> ApprovalStore:
    url = settings.postgres_url
    if url is not None:
        from fluxio.governance.approvals.postgres import PostgresApprovalStore

        return await PostgresApprovalStore.connect(url)
    if not settings.db_path.exists():
        raise UsageError(
            f"there is no fluxio database at {settings.db_path}; point --db (or "
            "FLUXIO_DATABASE_URL) at the database your runs use"
        )
    return SQLiteApprovalStore(settings.db_path)


async def _audit_log(settings: Settings) -> AuditLog:
    url = settings.postgres_url
    if url is not None:
        from fluxio.governance.audit.postgres import PostgresAuditLog

        return await PostgresAuditLog.connect(url)
    return SQLiteAuditLog(settings.db_path)


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status(status: str) -> str:
    return f"[{_STYLE.get(status, 'white')}]{status}[/]"


def _table(requests: list[ApprovalRequest]) -> Table:
    table = Table("approval", "status", "action", "requester", "urgency", "approvers",
                  "requested (UTC)", "expires (UTC)")  # fmt: skip
    for r in requests:
        details = r.action_details
        table.add_row(
            r.approval_id,
            _status(r.status),
            escape(f"{details.get('kind')}:{details.get('name')}"),
            escape(r.requester),
            r.urgency,
            escape(f"{r.rule} of {', '.join(r.approvers) or 'any person'}"),
            _when(r.requested_at),
            _when(r.expires_at),
        )
    return table


def _facts(r: ApprovalRequest) -> list[tuple[str, Any]]:
    details = r.action_details
    votes = "; ".join(f"{v.by} {v.choice}s ({v.notes})" if v.notes else f"{v.by} {v.choice}s"
                      for v in r.votes)  # fmt: skip
    return [
        ("approval", r.approval_id),
        ("status", r.status),
        ("action", f"{details.get('kind')}:{details.get('name')} ({r.action_type})"),
        ("arguments", json.dumps(r.arguments, ensure_ascii=False)),
        ("requester", f"{r.requester} ({r.requester_type})"),
        ("reason", r.reason),
        ("urgency", r.urgency),
        ("approvers", f"{r.rule} of {', '.join(r.approvers) or 'any person'}"),
        ("escalation", f"after {r.escalation_after:g}s to {', '.join(r.escalation_to)}"
         if r.escalation_after else "-"),
        ("expires", f"{_when(r.expires_at)} UTC, then {r.on_expiry}" if r.expires_at else "-"),
        ("run", f"{r.run_id} step {r.step_key}"),
        ("votes", votes or "-"),
        ("decided", f"by {r.decided_by} at {_when(r.decided_at)} UTC" if r.decided_by else "-"),
        ("notes", r.notes or "-"),
    ]  # fmt: skip
