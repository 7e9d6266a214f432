"""Commands that act on a run: ``signal``, ``approve``, ``reject``, ``resolve``, ``cancel``.

In the embedded mode there is no server to continue a run once a message arrives, so after
delivering it these commands drive the run in this process (``--no-wait``: only deliver).
"""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.demo_view import show_outbox
from fluxio.cli.output import EXIT_OK, fails_cleanly, out, parse_json, status_text
from fluxio.cli.progress import approval_step, is_governance_approval
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import Workspace, open_workspace, waiting_leaf
from fluxio.demo import DEMO_WORKFLOW
from fluxio.dsl import APPROVAL_PREFIX
from fluxio.engine import Engine
from fluxio.errors import UsageError
from fluxio.store.records import TERMINAL, Run, RunStatus

__all__ = ["approve", "cancel", "continue_run", "reject", "resolve", "signal"]

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="The run id.")]
StepArg = Annotated[str, typer.Argument(metavar="STEP", help="The approval step's name.")]
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Only deliver; do not continue the run here.")
]
Note = Annotated[str | None, typer.Option("--note", help="Why: kept with the decision.")]

Deliver = Callable[[Engine, Run], Awaitable[Run]]


@fails_cleanly
def signal(
    ctx: typer.Context,
    run_id: RunArg,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The signal's name.")],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="Payload: JSON text or @file.json.")
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Send a named signal (with an optional JSON payload) to a run, then continue the run."""
    payload = parse_json(data, "--data")

    async def deliver(engine: Engine, run: Run) -> Run:
        return await engine.signal(run.run_id, name, payload, tenant_id=run.tenant_id)

    _finish(run_async(_act(settings_of(ctx), run_id, deliver, f"signal {name!r}", no_wait)))


@fails_cleanly
def approve(
    ctx: typer.Context,
    run_id: RunArg,
    step: StepArg,
    note: Note = None,
    edit: Annotated[
        str | None, typer.Option("--edit", help="Approve an edited payload: JSON or @file.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: you).")] = None,
    no_wait: NoWait = False,
) -> None:
    """Approve a run's approval step (optionally with an edited payload), then continue it."""
    decision: dict[str, Any] = {"decision": "approve", "note": note or "", "by": by or _me()}
    edited = parse_json(edit, "--edit")
    if edited is not None:
        decision["payload"] = edited
    _decide(ctx, run_id, step, decision, no_wait)


@fails_cleanly
def reject(
    ctx: typer.Context,
    run_id: RunArg,
    step: StepArg,
    note: Note = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: you).")] = None,
    no_wait: NoWait = False,
) -> None:
    """Reject a run's approval step, then continue the run (which decides what that means)."""
    decision = {"decision": "reject", "note": note or "", "by": by or _me()}
    _decide(ctx, run_id, step, decision, no_wait)


@fails_cleanly
def resolve(
    ctx: typer.Context,
    run_id: RunArg,
    retry: Annotated[bool, typer.Option("--retry", help="Run the step again.")] = False,
    complete: Annotated[
        str | None,
        typer.Option("--complete", help="The step did run: record this JSON as its result."),
    ] = None,
    fail: Annotated[
        str | None, typer.Option("--fail", help="Record the step as failed with this message.")
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Resolve a run that needs attention: retry its step, mark it done, or fail it."""
    chosen = [
        name
        for name, given in (
            ("--retry", retry),
            ("--complete", complete is not None),
            ("--fail", fail is not None),
        )
        if given
    ]
    if len(chosen) != 1:
        raise UsageError(
            "resolve needs exactly one of --retry, --complete JSON or --fail MESSAGE"
            + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    result = parse_json(complete, "--complete")
    action = "retry" if retry else "complete" if complete is not None else "fail"

    async def deliver(engine: Engine, run: Run) -> Run:
        return await engine.resolve(
            run.run_id, action, result=result, message=fail or "", tenant_id=run.tenant_id
        )

    _finish(run_async(_act(settings_of(ctx), run_id, deliver, f"resolution {action}", no_wait)))


@fails_cleanly
def cancel(ctx: typer.Context, run_id: RunArg) -> None:
    """Cancel a run: at once if it is idle, else at its next step boundary."""
    run = run_async(_cancel(settings_of(ctx), run_id))
    if run.status is RunStatus.CANCELLED:
        out().print(f"run [bold]{run.run_id}[/] is {status_text(run.status)}")
    else:
        out().print(
            f"cancel requested: run [bold]{run.run_id}[/] is {status_text(run.status)} in "
            "another process and stops at its next step boundary"
        )


async def _cancel(settings: Settings, run_id: str) -> Run:
    async with open_workspace(settings, create=False) as ws:
        return await ws.engine().cancel(run_id, tenant_id=ws.tenant, reason="cancelled from CLI")


def _decide(
    ctx: typer.Context, run_id: str, step: str, decision: dict[str, Any], no_wait: bool
) -> None:
    settings = settings_of(ctx)

    async def deliver(engine: Engine, run: Run) -> Run:
        target = await waiting_leaf(engine, run)
        name = _approval_signal(target, step, settings.command)
        return await engine.signal(target.run_id, name, decision, tenant_id=run.tenant_id)

    what = f"{decision['decision']} of {step!r}"
    _finish(run_async(_act(settings, run_id, deliver, what, no_wait)))


def _approval_signal(run: Run, step: str, command: Callable[..., str]) -> str:
    """The signal that decides ``step`` for ``run``, checked against what the run waits for."""
    if run.status in TERMINAL:
        raise UsageError(f"run {run.run_id} is already {run.status}; there is nothing to decide")
    wait = run.wait
    if run.status is not RunStatus.WAITING or wait is None or wait.reason == "several":
        return APPROVAL_PREFIX + step
    if wait.reason != "approval":
        raise UsageError(
            f"run {run.run_id} is waiting for {wait.reason} {wait.detail!r}, not for an approval"
        )
    if is_governance_approval(wait):
        approval = approval_step(wait)
        raise UsageError(
            f"run {run.run_id} is held by governance for approval {approval}, which records "
            f"who decided and enforces four-eyes; decide it with "
            f"`{command('approvals', 'approve', approval)}` (or reject)"
        )
    if step in (wait.detail, approval_step(wait)):
        return wait.detail
    expected = approval_step(wait)
    raise UsageError(
        f"run {run.run_id} waits for approval of {expected!r}, not {step!r}; did you mean "
        f"`{command('approve', run.run_id, expected)}`?"
    )


async def _act(
    settings: Settings, run_id: str, deliver: Deliver, what: str, no_wait: bool
) -> tuple[int, Run]:
    console = out()
    async with open_workspace(settings, create=False) as ws:
        run = await ws.get_run(run_id)
        engine, root = (ws.engine(), run) if no_wait else await ws.engine_for_tree(run)
        after = await deliver(engine, run)
        console.print(f"delivered {escape(what)} to run [bold]{after.run_id}[/]")
        if no_wait:
            console.print(f"run is {status_text(after.status)}; a worker continues it")
            return EXIT_OK, after
        return await _continue(ws, engine, root)


async def continue_run(settings: Settings, run_id: str) -> tuple[int, Run]:
    """Drive ``run_id``'s tree in this process and report how it stands (after a decision
    delivered elsewhere, e.g. ``fluxio approvals approve``)."""
    async with open_workspace(settings, create=False) as ws:
        engine, root = await ws.engine_for_tree(await ws.get_run(run_id))
        return await _continue(ws, engine, root)


async def _continue(ws: Workspace, engine: Engine, root: Run) -> tuple[int, Run]:
    console = out()
    demo = root.workflow == DEMO_WORKFLOW
    run, code = await ws.drive(engine, root.run_id, console, report=not demo)
    if demo and run.status is RunStatus.COMPLETED:
        console.print(f"run [bold]{run.run_id}[/] ({DEMO_WORKFLOW}) is {status_text(run.status)}")
        show_outbox(console, run)
    elif demo:
        code = await ws.report(engine, run, console)
    return code, run


def _finish(outcome: tuple[int, Run]) -> None:
    raise typer.Exit(outcome[0])


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
