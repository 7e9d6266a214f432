"""The demo's working folder: sample tickets and customers copied in, replies written out."""

from __future__ import annotations

import secrets
import shutil
from importlib import resources
from pathlib import Path

__all__ = ["MARKER", "idempotency_key", "prepare", "sent_files"]

MARKER = ".fluxio-demo"
"""A file in the demo folder holding this folder's demo generation (changed by ``--reset``)."""


def prepare(directory: Path, *, reset: bool = False) -> str:
    """Fill ``directory`` with the sample tickets unless it is already a demo folder.

    Returns the idempotency key of this folder's demo run: rerunning the demo on the same
    folder finds the same run; ``reset`` empties the folder and starts a new generation.
    """
    marker = directory / MARKER
    if reset and marker.exists():
        for name in ("tickets", "outbox"):
            shutil.rmtree(directory / name, ignore_errors=True)
        marker.unlink()
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True)
        _copy_samples(directory)
        marker.write_text(secrets.token_hex(8) + "\n", encoding="utf-8")
    return idempotency_key(directory)


def idempotency_key(directory: Path) -> str:
    """The key naming this folder's current demo run."""
    generation = (directory / MARKER).read_text(encoding="utf-8").strip()
    return f"demo:{directory.resolve()}:{generation}"


def sent_files(directory: Path) -> list[Path]:
    """The replies in the outbox, in name order."""
    return sorted((directory / "outbox").glob("*.eml"))


def _copy_samples(directory: Path) -> None:
    package = resources.files("fluxio.demo")
    tickets = directory / "tickets"
    tickets.mkdir(exist_ok=True)
    for item in package.joinpath("tickets").iterdir():
        if item.name.endswith(".txt"):
            (tickets / item.name).write_text(item.read_text(encoding="utf-8"), encoding="utf-8")
    customers = package.joinpath("customers.json").read_text(encoding="utf-8")
    (directory / "customers.json").write_text(customers, encoding="utf-8")
