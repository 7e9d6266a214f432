"""Store tests run on asyncio: the SQLite store's group commit lives on the asyncio loop."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
