"""A store failure on one parallel branch's commit must not wedge the run for good.

Found by the PostgreSQL chaos test: a commit refused by the store (there: a batch that kept
deadlocking) while a sibling branch's later commit went through left a hole in the journal's
``seq``; every later claim then numbered its next entry ``len(journal) + 1``, hit the
existing entry's primary key and gave the run up again, forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext, RunStatus
from fluxio.errors import StoreError
from fluxio.store.base import Store
from fluxio.store.records import Commit, EntryKind
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing.postgres import PostgresSandbox

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The stores that refuse a second entry with the same ``seq`` (memory does not)."""
    if request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "fluxio.db", durability="normal")
        yield sqlite
        await sqlite.close()
        return
    from fluxio.store.postgres import PostgresStore

    sandbox: PostgresSandbox = request.getfixturevalue("postgres")
    schema = request.getfixturevalue("pg_schema")
    pg = await PostgresStore.connect(sandbox.app_url, schema=schema, pool_size=2)
    yield pg
    await pg.close()


class FirstBranchCommitFails:
    """A real store whose first outcome commit of branch 1 fails, after its sibling's went out."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def commit(self, commit: Commit) -> None:
        first = any(
            e.kind is EntryKind.OUTCOME and e.step_key == "1.parallel.1.1" for e in commit.entries
        )
        if first and not self.failed:
            self.failed = True
            await asyncio.sleep(0.05)  # the sibling branch commits meanwhile
            raise StoreError("the write kept conflicting, giving up (injected)")
        await self.inner.commit(commit)


async def quick(n: int) -> int:
    return n


async def slower(n: int) -> int:
    await asyncio.sleep(0.01)
    return n


async def two_branches(ctx: RunContext, _: object) -> list[Any]:
    async def first(c: RunContext) -> int:
        return await c.step(quick, 1)

    async def second(c: RunContext) -> int:
        return await c.step(slower, 2)

    return await ctx.parallel([first, second])


async def test_run_finishes_after_a_failed_commit_in_one_parallel_branch(store: Store) -> None:
    flaky = FirstBranchCommitFails(store)
    engine = Engine(flaky, workflows={"two": two_branches}, lease_seconds=0.3)
    await engine.start("two", run_id="r")
    result = await asyncio.wait_for(engine.result("r"), 3)
    assert flaky.failed, "the injected failure must have happened"
    assert result == [1, 2]
    run = await engine.get("r")
    assert run.status is RunStatus.COMPLETED
    seqs = [e.seq for e in await engine.journal("r")]
    assert seqs == sorted(set(seqs))  # unique and in order; a failed commit may leave a gap
