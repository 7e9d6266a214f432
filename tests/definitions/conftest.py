"""Fixtures for the YAML/JSON workflow tests: an anyio backend, tools, engines."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from fluxio import Engine
from fluxio.definitions import ToolRegistry
from fluxio.store.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_example_tools() -> ModuleType:
    """Import examples/tools.py (not a package) by path."""
    spec = importlib.util.spec_from_file_location(
        "fluxio_example_tools", ROOT / "examples/tools.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example_tools() -> ToolRegistry:
    return load_example_tools().register(ToolRegistry())


@pytest.fixture
def engine() -> Engine:
    return Engine(MemoryStore())
