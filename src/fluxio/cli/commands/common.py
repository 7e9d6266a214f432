"""What every command shares: its settings, running async bodies, and Ctrl-C handling."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

from fluxio.cli.output import err
from fluxio.cli.settings import Settings

__all__ = ["run_async", "settings_of"]

T = TypeVar("T")


def settings_of(ctx: typer.Context) -> Settings:
    """The global options given before the command (``--db``, ``--tenant``)."""
    root = ctx.find_root()
    settings = root.obj
    return settings if isinstance(settings, Settings) else Settings()


def run_async(body: Coroutine[Any, Any, T]) -> T:
    """Run a command's async body; on Ctrl-C say that the run is safe and exit 130."""
    try:
        return asyncio.run(body)
    except KeyboardInterrupt:
        err().print(
            "[yellow]interrupted.[/] Everything recorded so far is in the journal; rerun the "
            "command or start `fluxio worker` to continue.",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
