"""What the user sees while a run is driven, and when it stops: steps, waits, next commands."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from fluxio.cli.output import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_WAITING,
    status_text,
)
from fluxio.cli.settings import Settings
from fluxio.store.records import JournalEntry, Run, RunStatus, Wait

__all__ = ["ConsoleReporter", "approval_step", "duration", "report_outcome"]


def duration(entry: JournalEntry) -> str:
    """How long a journaled step took, for people."""
    if not entry.started_at or not entry.finished_at:
        return "—"
    seconds = max(entry.finished_at - entry.started_at, 0.0)
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def approval_step(wait: Wait) -> str:
    """The step name to pass to ``fluxio approve`` for an approval wait on signal ``detail``
    (for a governance hold: the approval id, decided with ``fluxio approvals``)."""
    return wait.detail.rsplit(":", 1)[-1]


def is_governance_approval(wait: Wait) -> bool:
    """Whether the run waits for a governance approval request (``approval:apr_…``)."""
    return wait.reason == "approval" and wait.detail.startswith("approval:apr_")


class ConsoleReporter:
    """Prints one line per completed step as the driver reports it."""

    def __init__(self, console: Console, root_run_id: str) -> None:
        self.console = console
        self.root = root_run_id
        self.steps = 0

    def step(self, run: Run, entry: JournalEntry) -> None:
        """Print a completed step: tick or cross, key, name, duration, error."""
        self.steps += 1
        where = "" if run.run_id == self.root else f"[dim]{escape(run.workflow)}[/] "
        if ":guard" in entry.step_key and entry.ok:  # governance's own bookkeeping, quieter
            name = f"{escape(entry.name):<16}"
            key = escape(entry.step_key)
            self.console.print(f"  [dim]· {where}{name} {duration(entry):>6}  {key}[/]")
            return
        mark = "[green]✓[/]" if entry.ok else "[red]✗[/]"
        line = f"  {mark} {where}{escape(entry.name):<16} {duration(entry):>6}  "
        line += f"[dim]{escape(entry.step_key)}[/]"
        if not entry.ok:
            message = (
                (entry.value or {}).get("message", "") if isinstance(entry.value, dict) else ""
            )
            line += f"  [red]{escape(str(message))}[/]"
        self.console.print(line, soft_wrap=True)

    def note(self, text: str) -> None:
        """Print an informational line."""
        self.console.print(f"  [dim]… {escape(text)}[/]", soft_wrap=True)


def report_outcome(console: Console, run: Run, settings: Settings, waiting_for: Run) -> int:
    """Say how the run stands and what to do next; return the matching exit code.

    ``waiting_for`` is the run that actually waits (the run itself or a child run).
    """
    head = f"run [bold]{run.run_id}[/] ({escape(run.workflow)}) is {status_text(run.status)}"
    if run.status is RunStatus.COMPLETED:
        console.print(head)
        console.print(f"result: {escape(_short_json(run.result))}", soft_wrap=True)
        return EXIT_OK
    if run.status is RunStatus.NEEDS_ATTENTION:
        _attention(console, head, run, settings)
        return EXIT_ATTENTION
    if run.status is RunStatus.WAITING:
        console.print(head)
        _waiting(console, waiting_for, settings)
        return EXIT_WAITING
    if run.status in (RunStatus.PENDING, RunStatus.RUNNING):
        console.print(head + "; a worker continues it: " + settings.command("worker"))
        return EXIT_WAITING
    message = (run.error or {}).get("message", "no error recorded")
    console.print(head)
    console.print(f"[red]{escape(str(message))}[/]", soft_wrap=True)
    return EXIT_FAILED


def _attention(console: Console, head: str, run: Run, settings: Settings) -> None:
    attention: dict[str, Any] = run.attention or {}
    console.print(head)
    console.print(f"[magenta]{escape(str(attention.get('reason', '')))}[/]", soft_wrap=True)
    console.print("Decide what happened, then one of:")
    for flag in ("--retry", "--complete '<result JSON>'", "--fail '<message>'"):
        console.print("  " + escape(settings.command("resolve", run.run_id, flag)))


def _waiting(console: Console, run: Run, settings: Settings) -> None:
    wait = run.wait or Wait("unknown")
    rid = run.run_id
    until = f" (times out in {wait.until - run.updated_at:.0f}s)" if wait.until else ""
    if wait.reason == "approval" and is_governance_approval(wait):
        approval = approval_step(wait)
        console.print(f"held by governance for approval [bold]{escape(approval)}[/]{until}; "
                      "a person decides with:")  # fmt: skip
        console.print("  " + escape(settings.command("approvals", "show", approval)))
        console.print("  " + escape(settings.command("approvals", "approve", approval)))
        console.print("  " + escape(settings.command("approvals", "reject", approval,
                                                     "--note '<why>'")))  # fmt: skip
    elif wait.reason == "approval":
        step = approval_step(wait)
        console.print(f"waiting for approval of [bold]{escape(step)}[/]{until}. Continue with:")
        console.print("  " + escape(settings.command("approve", rid, step)))
        console.print("  " + escape(settings.command("reject", rid, step, "--note '<why>'")))
    elif wait.reason in ("signal", "event"):
        console.print(f"waiting for signal [bold]{escape(wait.detail)}[/]{until}. Continue with:")
        console.print("  " + escape(settings.command("signal", rid, wait.detail, "--data '{}'")))
    elif wait.reason == "timer" or wait.until is not None:
        console.print(
            f"waiting for a timer ({escape(wait.detail)}) due in "
            f"{(wait.until or run.updated_at) - run.updated_at:.0f}s; it continues with: "
            + escape(settings.command("worker"))
        )
    else:
        console.print(f"waiting: {escape(wait.reason)} {escape(wait.detail)}")


def _short_json(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
