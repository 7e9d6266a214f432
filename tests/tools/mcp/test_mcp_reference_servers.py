"""fluxio's MCP client against the official reference servers (PyPI and npm).

Each test registers the server (pins its tool list), builds the tools and calls them through
``Tool.invoke``, as a workflow or agent would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fluxio.errors import StepFailed
from fluxio.tools import Tool, ToolRegistry
from fluxio.tools.mcp import MCPServerConfig, MCPToolProvider, ToolPins

pytestmark = pytest.mark.anyio


async def registry_of(
    config: MCPServerConfig, pins_dir: Path
) -> tuple[MCPToolProvider, ToolRegistry]:
    provider = MCPToolProvider(config, pins=ToolPins(pins_dir))
    await provider.approve()
    return provider, ToolRegistry(await provider.tools())


def tool(registry: ToolRegistry, name: str) -> Tool:
    return registry.require(name)


async def test_time_server_answers_the_current_time_in_a_timezone(tmp_path: Path) -> None:
    config = MCPServerConfig(name="time", command=sys.executable, args=("-m", "mcp_server_time"))
    async with MCPToolProvider(config, pins=ToolPins(tmp_path)) as provider:
        await provider.approve()
        registry = ToolRegistry(await provider.tools())
        now = await tool(registry, "time_get_current_time").invoke({"timezone": "Europe/Paris"})
        with pytest.raises(StepFailed, match="Invalid timezone") as caught:
            await tool(registry, "time_get_current_time").invoke({"timezone": "Mars/Olympus"})
    assert now["timezone"] == "Europe/Paris"
    assert {"datetime", "day_of_week", "is_dst"} <= set(now)
    assert caught.value.retryable is False


async def test_git_server_reports_the_status_of_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        [
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=T",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "start",
        ],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "notes.txt").write_text("draft\n")
    config = MCPServerConfig(
        name="git", command=sys.executable, args=("-m", "mcp_server_git", "--repository", str(repo))
    )
    async with MCPToolProvider(config, pins=ToolPins(tmp_path)) as provider:
        await provider.approve()
        registry = ToolRegistry(await provider.tools())
        status = await tool(registry, "git_git_status").invoke({"repo_path": str(repo)})
    assert isinstance(status, str)
    assert "notes.txt" in status
    assert "Untracked files" in status
    assert tool(registry, "git_git_status").contract.side_effects is False  # read_only_hint
    assert tool(registry, "git_git_commit").contract.idempotent is False


async def test_everything_server_echo_sum_structured_content_and_images(
    npm_servers: Path, tmp_path: Path
) -> None:
    config = MCPServerConfig(
        name="everything", command="node", args=(str(npm_servers / "mcp-server-everything"),)
    )
    async with MCPToolProvider(config, pins=ToolPins(tmp_path)) as provider:
        await provider.approve()
        registry = ToolRegistry(await provider.tools())
        echo = await tool(registry, "everything_echo").invoke({"message": "hello"})
        total = await tool(registry, "everything_get-sum").invoke({"a": 2, "b": 40})
        weather = await tool(registry, "everything_get-structured-content").invoke(
            {"location": "Chicago"}
        )
        image = await tool(registry, "everything_get-tiny-image").invoke({})
    assert echo == "Echo: hello"
    assert "42" in total
    assert set(weather) == {"temperature", "conditions", "humidity"}
    assert "[image image/png," in image
    structured = tool(registry, "everything_get-structured-content").contract
    assert structured.output_schema is not None
    assert structured.output_schema["required"] == ["temperature", "conditions", "humidity"]


async def test_everything_server_oversized_output_fails_clearly(
    npm_servers: Path, tmp_path: Path
) -> None:
    config = MCPServerConfig(
        name="everything",
        command="node",
        args=(str(npm_servers / "mcp-server-everything"),),
        env={f"FLUXIO_BIG_{i}": "y" * 90_000 for i in range(4)},  # one var is capped at 128 KiB
        max_output_bytes=50_000,
    )
    _, registry = await registry_of(config, tmp_path)
    with pytest.raises(StepFailed, match="over the limit of 50000 bytes") as caught:
        await tool(registry, "everything_get-env").invoke({})
    assert caught.value.retryable is False


async def test_filesystem_server_reads_inside_its_allowed_folder_and_refuses_outside(
    npm_servers: Path, tmp_path: Path
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "plan.md").write_text("# Plan\nship it\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2")
    config = MCPServerConfig(
        name="fs",
        command="node",
        args=(str(npm_servers / "mcp-server-filesystem"), str(allowed)),
    )
    async with MCPToolProvider(config, pins=ToolPins(tmp_path)) as provider:
        await provider.approve()
        registry = ToolRegistry(await provider.tools())
        read = tool(registry, "fs_read_text_file")
        plan = await read.invoke({"path": str(allowed / "plan.md")})
        with pytest.raises(StepFailed, match="outside allowed directories") as caught:
            await read.invoke({"path": str(secret)})
    assert "ship it" in plan["content"]
    assert "hunter2" not in str(caught.value)
    assert caught.value.retryable is False
