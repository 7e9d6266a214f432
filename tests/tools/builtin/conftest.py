"""Fixtures for the built-in tools: a real workspace folder and its tools by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio.tools import Tool
from fluxio.tools.builtin import builtin_tools


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder, with a sibling folder outside it holding a secret."""
    root = tmp_path / "workspace"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("top secret")
    return root


@pytest.fixture
def tools(workspace: Path) -> dict[str, Tool]:
    """The built-in tools (without HTTP) bound to ``workspace``, by name."""
    return {t.name: t for t in builtin_tools(workspace)}
