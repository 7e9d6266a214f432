"""Shared fixtures: the async backend and the stores every engine test runs against.

``FLUXIO_TEST_STORES`` selects the stores (default ``memory,sqlite,postgres``). PostgreSQL
tests never skip: if PostgreSQL is selected and not reachable, they fail saying how to start
one (see docs/postgres.md) or how to leave it out.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing.postgres import PostgresSandbox

STORES = [
    s.strip()
    for s in os.environ.get("FLUXIO_TEST_STORES", "memory,sqlite,postgres").split(",")
    if s.strip()
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres() -> PostgresSandbox:
    """The PostgreSQL sandbox: per-test schemas owned by an ordinary role."""
    sandbox = PostgresSandbox()
    problem = sandbox.problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    sandbox.ensure_role()
    return sandbox


@pytest.fixture
def pg_schema(postgres: PostgresSandbox) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    name = postgres.new_schema()
    yield name
    postgres.drop_schema(name)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """Every engine test runs on each selected store: memory, a SQLite file, PostgreSQL."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "fluxio.db", durability="normal")
        yield sqlite
        await sqlite.close()
        return
    from fluxio.store.postgres import PostgresStore

    sandbox: PostgresSandbox = request.getfixturevalue("postgres")
    schema = sandbox.new_schema()
    pg = await PostgresStore.connect(sandbox.app_url, schema=schema, pool_size=4)
    try:
        yield pg
    finally:
        await pg.close()
        sandbox.drop_schema(schema)
