"""Fixtures for the recovery tests: a pool of worker subprocesses, always killed at teardown.

``pool`` runs its workers on a SQLite file, ``pg_pool`` on a PostgreSQL sandbox schema, and
``any_pool`` on each in turn (for the guarantees both stores must keep).
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from recovery_databases import PostgresDatabase
from recovery_harness import WorkerPool

from fluxio.testing.postgres import PostgresSandbox


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[WorkerPool]:
    """A database, a ledger and the worker processes of one test; all killed at teardown."""
    workers = WorkerPool(tmp_path)
    try:
        yield workers
    finally:
        await workers.close()


@pytest.fixture
async def pg_pool(
    tmp_path: Path, postgres: PostgresSandbox, pg_schema: str
) -> AsyncIterator[WorkerPool]:
    """Like ``pool``, on this test's PostgreSQL schema (workers connect as the ordinary role)."""
    workers = WorkerPool(tmp_path, PostgresDatabase(postgres, pg_schema))
    try:
        yield workers
    finally:
        await workers.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_pool(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WorkerPool]:
    """A pool on SQLite, then on PostgreSQL."""
    database = None
    if request.param == "postgres":
        sandbox: PostgresSandbox = request.getfixturevalue("postgres")
        database = PostgresDatabase(sandbox, request.getfixturevalue("pg_schema"))
    workers = WorkerPool(tmp_path, database)
    try:
        yield workers
    finally:
        await workers.close()


@pytest.fixture
def chaos_scale() -> int:
    """How much heavier than CI size to make the chaos tests (``FLUXIO_CHAOS_SCALE``)."""
    return max(1, int(os.environ.get("FLUXIO_CHAOS_SCALE", "1")))


@pytest.fixture
def rng() -> random.Random:
    """A seeded random source; the seed is printed so a failing run can be replayed."""
    seed = int(os.environ.get("FLUXIO_CHAOS_SEED", random.randrange(1_000_000)))
    print(f"FLUXIO_CHAOS_SEED={seed}")
    return random.Random(seed)
