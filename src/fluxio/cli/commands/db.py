"""``fluxio db status`` and ``fluxio db upgrade``: the database's schema version."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import typer
from rich.markup import escape

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.output import fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.errors import IncompatibleDatabase
from fluxio.store.migrations import LATEST
from fluxio.store.records import RunQuery
from fluxio.store.sqlite import SQLiteStore

__all__ = ["app"]

app = typer.Typer(help="Inspect and upgrade the database schema.", no_args_is_help=True)


@app.command("status")
@fails_cleanly
def status(ctx: typer.Context) -> None:
    """Show the database, its schema version and its runs by status."""
    settings = settings_of(ctx)
    console = out()
    if settings.postgres_url is not None:
        run_async(_postgres_status(settings))
        return
    path = settings.db_path
    if not path.exists():
        console.print(f"no database at {escape(str(path))} yet; it is created on first use")
        return
    version, counts = _inspect(path)
    console.print(f"database        {escape(str(path))}")
    console.print(f"schema version  {version} (this fluxio knows up to {LATEST})")
    if version < LATEST:
        console.print("[yellow]an upgrade is available:[/] fluxio db upgrade")
    runs = ", ".join(f"{status} {n}" for status, n in counts) or "none"
    console.print(f"runs            {runs}")


@app.command("upgrade")
@fails_cleanly
def upgrade(ctx: typer.Context) -> None:
    """Create the database or migrate it to the newest schema version."""
    settings = settings_of(ctx)
    if settings.postgres_url is not None:
        run_async(_postgres_upgrade(settings))
        return
    path = settings.db_path
    before = _inspect(path)[0] if path.exists() else 0

    async def open_and_close() -> int:
        store = SQLiteStore(path)
        try:
            return store.schema_version()
        finally:
            await store.close()

    after = run_async(open_and_close())
    if after == before:
        out().print(f"{escape(str(path))} is up to date (schema version {after})")
    else:
        out().print(f"{escape(str(path))}: schema version {before} → {after}")


async def _postgres_status(settings: Settings) -> None:
    from fluxio.store.postgres import PostgresStore

    url = settings.postgres_url or ""
    store = await PostgresStore.connect(url, migrate=False)
    try:
        version = await store.schema_version()
        runs = await store.list_runs(RunQuery(settings.tenant, limit=1_000_000)) if version else []
    finally:
        await store.close()
    console = out()
    console.print(f"database        {escape(settings.db_label)}")
    console.print(f"schema version  {version} (this fluxio knows up to {LATEST})")
    if version < LATEST:
        console.print("[yellow]an upgrade is available:[/] fluxio db upgrade")
    counts = Counter(str(r.status) for r in runs)
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "none"
    console.print(f"runs            {summary} (tenant {escape(settings.tenant)})")


async def _postgres_upgrade(settings: Settings) -> None:
    from fluxio.store.postgres import PostgresStore

    url = settings.postgres_url or ""
    probe = await PostgresStore.connect(url, migrate=False)
    try:
        before = await probe.schema_version()
    finally:
        await probe.close()
    store = await PostgresStore.connect(url)
    try:
        after = await store.schema_version()
    finally:
        await store.close()
    label = escape(settings.db_label)
    if after == before:
        out().print(f"{label} is up to date (schema version {after})")
    else:
        out().print(f"{label}: schema version {before} → {after}")


def _inspect(path: Path) -> tuple[int, list[tuple[str, int]]]:
    """The schema version and run counts, read without changing the file."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise IncompatibleDatabase(f"cannot open {path}: {exc}") from exc
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "fluxio_meta" not in tables:
            raise IncompatibleDatabase(
                f"{path} is not a fluxio database (no fluxio_meta table); point --db or "
                "FLUXIO_DATABASE_URL at your fluxio database"
            )
        row = conn.execute("SELECT value FROM fluxio_meta WHERE key='schema_version'").fetchone()
        counts = []
        if "runs" in tables:
            counts = conn.execute(
                "SELECT status, COUNT(*) FROM runs GROUP BY status ORDER BY status"
            ).fetchall()
        return (int(row[0]) if row else 0), [(str(s), int(n)) for s, n in counts]
    except sqlite3.DatabaseError as exc:
        raise IncompatibleDatabase(
            f"{path} is not a fluxio database or is damaged ({exc}); the file was not changed"
        ) from exc
    finally:
        conn.close()
