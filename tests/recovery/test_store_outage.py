"""A transient store failure (locked database) delays a run; it never fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio import Engine, RunContext
from fluxio.errors import DatabaseLocked
from fluxio.store.records import Commit, EntryKind
from fluxio.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


class LockedOnceStore(SQLiteStore):
    """A real SQLite store whose first outcome commit meets a database locked by someone else."""

    failed = False

    async def commit(self, commit: Commit) -> None:
        if not self.failed and any(e.kind is EntryKind.OUTCOME for e in commit.entries):
            self.failed = True
            raise DatabaseLocked(f"{self.path} stayed locked by another process (injected)")
        await super().commit(commit)


async def test_locked_database_during_a_step_commit_does_not_fail_the_run(
    tmp_path: Path,
) -> None:
    store = LockedOnceStore(tmp_path / "fluxio.db", durability="normal")
    calls: list[int] = []

    async def work(n: int) -> int:
        calls.append(n)
        return n * 2

    async def wf(ctx: RunContext, n: int) -> int:
        return await ctx.step(work, n)

    engine = Engine(store, workflows={"wf": wf}, lease_seconds=0.2)
    try:
        assert await engine.run("wf", 21) == 42
        run = (await engine.list_runs())[0]
        outcomes = [e for e in await engine.journal(run.run_id) if e.kind is EntryKind.OUTCOME]
        assert [(e.step_key, e.value) for e in outcomes] == [("1", 42)]
        assert calls == [21, 21], "the step re-runs once the store is back"
    finally:
        await store.close()
