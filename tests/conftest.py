"""Shared fixtures: the async backend and stores to run engine tests against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """Every engine test runs on the in-memory store and on a real SQLite file."""
    if request.param == "memory":
        yield MemoryStore()
        return
    sqlite = SQLiteStore(tmp_path / "fluxio.db", durability="normal")
    yield sqlite
    await sqlite.close()
