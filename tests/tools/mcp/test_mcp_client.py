"""MCP tools as fluxio tools: contracts from the server, journaled calls, registered servers."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp_support import sample_config

from fluxio.engine import Engine, RunContext
from fluxio.errors import ToolInputInvalid
from fluxio.store.memory import MemoryStore
from fluxio.store.records import EntryKind
from fluxio.tools import ToolRegistry, call_tool
from fluxio.tools.mcp import (
    MCPServerConfig,
    MCPToolProvider,
    RegisteredServers,
    ToolPins,
    registered_tools,
)

pytestmark = pytest.mark.anyio


def in_process_server() -> MCPServer:
    server = MCPServer("notes")

    @server.tool(description="Count the words of a text.")
    def count_words(text: str) -> int:
        return len(text.split())

    return server


async def approved(provider: MCPToolProvider) -> ToolRegistry:
    await provider.approve()
    return ToolRegistry(await provider.tools())


async def test_tool_contracts_come_from_the_server_listing(tmp_path: Path) -> None:
    async with MCPToolProvider(sample_config(), pins=ToolPins(tmp_path)) as provider:
        registry = await approved(provider)
    weather = registry.require("sample_weather").contract
    assert weather.type == "mcp"
    assert weather.tags == ("mcp", "sample")
    assert weather.description == "Structured weather for a city."
    assert weather.input_schema["required"] == ["city"]
    assert weather.output_schema is not None
    assert weather.output_schema["required"] == ["city", "celsius"]
    assert (weather.side_effects, weather.idempotent) == (False, True)  # read_only_hint
    once = registry.require("sample_crash_once").contract
    assert (once.side_effects, once.idempotent) == (True, True)  # idempotent_hint only
    greet = registry.require("sample_greet").contract
    assert (greet.side_effects, greet.idempotent) == (True, False)  # no hints: assume the worst
    assert greet.timeout == 30.0 + 60.0 + 10.0


async def test_arguments_are_checked_against_the_server_schema_before_any_call(
    tmp_path: Path,
) -> None:
    provider = MCPToolProvider(
        MCPServerConfig(name="notes"), pins=ToolPins(tmp_path), server=in_process_server()
    )
    registry = await approved(provider)
    tool = registry.require("notes_count_words")
    assert await tool.invoke({"text": "one two three"}) == {"result": 3}
    with pytest.raises(ToolInputInvalid, match="argument 'text'"):
        await tool.invoke({"text": 3})


def test_tool_names_get_the_prefix_and_lose_unsafe_characters(tmp_path: Path) -> None:
    provider = MCPToolProvider(sample_config(), pins=ToolPins(tmp_path))
    assert provider.tool_name("get-sum") == "sample_get-sum"
    assert provider.tool_name("files/read all") == "sample_files_read_all"
    custom = MCPToolProvider(sample_config(prefix="s."), pins=ToolPins(tmp_path))
    assert custom.tool_name("add") == "s.add"


async def test_an_mcp_call_in_a_run_is_a_journaled_step_retried_after_the_server_dies(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "crashed-once"

    async with MCPToolProvider(sample_config(), pins=ToolPins(tmp_path)) as provider:
        registry = await approved(provider)

        async def flow(ctx: RunContext, input: Any) -> Any:
            total = await call_tool(ctx, registry.require("sample_add"), {"a": 2, "b": 3})
            again = await call_tool(
                ctx, registry.require("sample_crash_once"), {"marker": str(marker)}
            )
            return {"total": total, "again": again}

        engine = Engine(MemoryStore(), workflows={"flow": flow})
        run = await engine.start("flow", None)
        result = await engine.result(run.run_id)
        journal = await engine.journal(run.run_id)
    assert result == {"total": {"result": 5}, "again": {"result": "recovered"}}
    outcomes = [e for e in journal if e.kind is EntryKind.OUTCOME]
    assert [e.name for e in outcomes] == ["tool:sample_add", "tool:sample_crash_once"]
    assert marker.exists()  # "recovered" only comes from a second call, after the crash


async def test_registered_tools_skips_a_server_that_cannot_be_reached(
    tmp_path: Path, v1_pins: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copy(v1_pins, tmp_path)
    servers = RegisteredServers(tmp_path)
    servers.save(sample_config())
    servers.save(MCPServerConfig(name="gone", command=str(tmp_path / "missing")))
    with caplog.at_level(logging.WARNING, logger="fluxio.tools.mcp"):
        tools = await registered_tools(tmp_path)
    assert "sample_greet" in {t.name for t in tools}
    assert "MCP server gone is left out: cannot start MCP server 'gone'" in caplog.text
