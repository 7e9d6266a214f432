"""Fixtures for the agent tests: a SQLite store in tmp_path and a small tool registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxio.store.sqlite import SQLiteStore
from fluxio.tools import ToolRegistry, tool


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "agents.db", durability="normal")
    yield store
    await store.close()


def make_tools() -> ToolRegistry:
    """``shout`` and ``add`` (pure), ``stamp`` (requires shout), ``erase`` (conflicts with it)."""

    @tool(category="text")
    def shout(text: str) -> str:
        """Upper-case text."""
        return text.upper()

    @tool(category="math")
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tool(requires=("shout",))
    def stamp(text: str) -> str:
        """Stamp a text."""
        return f"[{text}]"

    @tool(conflicts_with=("shout",))
    def erase(text: str) -> str:
        """Erase a text."""
        return ""

    return ToolRegistry([shout, add, stamp, erase])


@pytest.fixture
def tools() -> ToolRegistry:
    return make_tools()
