"""builtin_tools / builtin_registry: every built-in tool, discoverable and described for models."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio.tools.builtin import WorkspaceFileError, builtin_registry
from fluxio.tools.outbound import OutboundClient

pytestmark = pytest.mark.anyio

ALL = [
    "append_file",
    "check_condition",
    "chunk_content",
    "copy_file",
    "delete_file",
    "format_output",
    "http_get",
    "http_request",
    "list_files",
    "move_file",
    "parse_document",
    "read_file",
    "transform_data",
    "validate_schema",
    "write_file",
]


async def test_registry_holds_every_builtin_tool(workspace: Path) -> None:
    async with OutboundClient() as client:
        registry = builtin_registry(workspace, client)
    assert registry.names() == ALL


async def test_every_builtin_tool_is_described_for_models(workspace: Path) -> None:
    async with OutboundClient() as client:
        registry = builtin_registry(workspace, client)
    for item in registry.list():
        definition = item.definition()
        assert definition["description"], item.name
        assert item.contract.output_schema is not None, item.name
        assert item.contract.timeout is not None, item.name
        for name, prop in definition["parameters"]["properties"].items():
            assert prop.get("description"), f"{item.name}.{name} has no description"


def test_builtin_tools_are_discoverable_by_category_and_capability(workspace: Path) -> None:
    registry = builtin_registry(workspace)
    assert [t.name for t in registry.search(category="data")] == [
        "transform_data",
        "validate_schema",
    ]
    assert [t.name for t in registry.search(capability="parse_document")] == ["parse_document"]
    assert "read_file" in [t.name for t in registry.search("read")]


async def test_two_registries_on_two_workspaces_stay_apart(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = builtin_registry(tmp_path / "a"), builtin_registry(tmp_path / "b")
    await first.require("write_file").invoke({"path": "x.txt", "content": "in a"})
    assert (tmp_path / "a" / "x.txt").read_text() == "in a"
    with pytest.raises(WorkspaceFileError, match=r"no such file"):
        await second.require("read_file").invoke({"path": "x.txt"})
