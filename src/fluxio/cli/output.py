"""How the CLI talks: one readable red paragraph per error, JSON options, status colours."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from fluxio.errors import FluxioError, UsageError
from fluxio.store.records import TERMINAL, Run, RunStatus

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_WAITING",
    "err",
    "fails_cleanly",
    "out",
    "parse_json",
    "status_text",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING, EXIT_ATTENTION = 0, 1, 2, 3, 4

P = ParamSpec("P")
R = TypeVar("R")

_STATUS_STYLE = {
    RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "red",
    RunStatus.SUPERSEDED: "dim",
    RunStatus.WAITING: "yellow",
    RunStatus.NEEDS_ATTENTION: "magenta",
    RunStatus.RUNNING: "cyan",
    RunStatus.PENDING: "cyan",
}


def out() -> Console:
    """A console on the current stdout (looked up per call, so test runners can swap it)."""
    return Console(highlight=False, soft_wrap=False)


def err() -> Console:
    """A console on the current stderr."""
    return Console(stderr=True, highlight=False)


def shown_status(run: Run) -> RunStatus:
    """What a person should see: a run a worker holds right now is ``running``."""
    live = run.lease_expires_at is not None and run.lease_expires_at >= time.time()
    return RunStatus.RUNNING if live and run.status not in TERMINAL else run.status


def status_text(status: RunStatus) -> str:
    """A run status as rich markup in its colour."""
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status.value}[/]"


def fails_cleanly(fn: Callable[P, R]) -> Callable[P, R]:
    """Make a command print a ``FluxioError`` as one red paragraph and exit 2, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except FluxioError as exc:
            err().print(f"[bold red]error:[/] [red]{escape(str(exc))}[/]", soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def parse_json(value: str | None, option: str) -> Any:
    """The JSON document an option holds, or read from ``@file``; ``None`` if not given.

    Raises:
        UsageError: the text is not JSON or the file cannot be read.
    """
    if value is None:
        return None
    text, source = value, f"{option}"
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"{option} {value}: cannot read {path}: {exc.strerror or exc}; check the path "
                "after '@'"
            ) from exc
        source = f"{option} file {path}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"""pass a JSON document such as {option} '{{"key": "value"}}' or {option} @file.json"""
        ) from exc
