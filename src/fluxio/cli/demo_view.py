"""How the demo's runs look in the terminal: the drafts awaiting approval, then the outbox."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fluxio.demo.folder import sent_files
from fluxio.store.records import EntryKind, JournalEntry, Run

__all__ = ["show_drafts", "show_outbox"]

_PRIORITY_STYLE = {"urgent": "bold red", "high": "red", "normal": "yellow", "low": "dim"}


def show_drafts(console: Console, journal: list[JournalEntry]) -> None:
    """A table of the drafted replies recorded in the journal, in ticket order."""
    drafts = [
        e.value for e in journal if e.kind is EntryKind.OUTCOME and e.name == "draft_reply" and e.ok
    ]
    table = Table(
        "ticket",
        "category",
        "priority",
        "tier",
        "sentiment",
        "reply subject",
        title=f"{len(drafts)} replies drafted",
    )
    for draft in sorted(drafts, key=lambda d: str(d["ticket"])):
        style = _PRIORITY_STYLE.get(draft["priority"], "")
        table.add_row(
            draft["ticket"],
            draft["category"],
            f"[{style}]{draft['priority']}[/]" if style else draft["priority"],
            draft["tier"],
            draft["sentiment"],
            escape(draft["subject"]),
        )
    console.print(table)


def show_outbox(console: Console, run: Run) -> None:
    """The replies the completed demo wrote to its outbox, and its summary."""
    directory = Path(str((run.input or {}).get("dir", ".")))
    files = sent_files(directory)
    result = run.result if isinstance(run.result, dict) else {}
    if not files:
        console.print(f"nothing was sent (decision: {escape(str(result.get('decision', '?')))})")
        return
    table = Table("file", "to", "subject", title=f"outbox: {escape(str(directory / 'outbox'))}")
    for path in files:
        head = path.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
        fields = dict(line.split(": ", 1) for line in head if ": " in line)
        table.add_row(path.name, escape(fields.get("To", "")), escape(fields.get("Subject", "")))
    console.print(table)
    by_category = ", ".join(f"{k} {v}" for k, v in result.get("by_category", {}).items())
    console.print(f"{len(files)} replies sent; by category: {escape(by_category)}")
