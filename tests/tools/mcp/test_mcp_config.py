"""Server settings, result mapping, and servers that misbehave in smaller ways."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp.server import Server
from mcp_support import SAMPLE, sample_config
from typer.testing import CliRunner

from fluxio.cli.main import app
from fluxio.errors import NotFound, StepFailed, ToolUnavailable, UsageError
from fluxio.tools.mcp import (
    MCPConnection,
    MCPServerConfig,
    MCPToolProvider,
    RegisteredServers,
    ToolPins,
)
from fluxio.tools.mcp.results import tool_value

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "9lives", "command": "x"}, "is not a usable server name"),
        ({"name": "both", "command": "x", "url": "http://h/mcp"}, "not both"),
        ({"name": "slow", "command": "x", "timeout": 0}, "timeout: Input should be greater"),
        ({"name": "odd", "command": "x", "colour": "red"}, "colour: Extra inputs"),
    ],
)
def test_invalid_settings_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        MCPServerConfig.parse(fields)


def test_env_values_are_given_or_passed_through_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FROM_CALLER", "secret")
    monkeypatch.delenv("NOT_SET", raising=False)
    config = MCPServerConfig(
        name="s", command="x", env={"FIXED": "1", "FROM_CALLER": None, "NOT_SET": None}
    )
    env = config.launch_env()
    assert (env["FIXED"], env["FROM_CALLER"]) == ("1", "secret")
    assert "NOT_SET" not in env
    assert "PATH" in env


def test_registered_servers_round_trip_and_explain_a_damaged_file(tmp_path: Path) -> None:
    servers = RegisteredServers(tmp_path)
    servers.save(sample_config(timeout=5))
    assert servers.get("sample") == sample_config(timeout=5)
    with pytest.raises(NotFound, match=r"registered: sample\)"):
        servers.get("other")
    (tmp_path / "servers.json").write_text('{"servers": []}')
    with pytest.raises(UsageError, match="unreadable"):
        servers.all()


def test_damaged_pin_entries_ask_for_re_approval(tmp_path: Path) -> None:
    (tmp_path / "pins.json").write_text('{"servers": {"docs": {"tools": {"a": {}}}}}')
    with pytest.raises(UsageError, match="`fluxio mcp approve docs`"):
        ToolPins(tmp_path).pinned("docs")


def result(*blocks: Any, **fields: Any) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=list(blocks), **fields)


def test_content_blocks_become_one_string() -> None:
    text = mcp_types.TextContent(type="text", text="line one")
    audio = mcp_types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav")
    embedded = mcp_types.EmbeddedResource(
        type="resource",
        resource=mcp_types.TextResourceContents(uri="file:///n.txt", text="inlined"),
    )
    link = mcp_types.ResourceLink(type="resource_link", name="spec", uri="file:///spec.md")
    value = tool_value(result(text, audio, embedded, link), server="s", tool="t", limit=1000)
    assert value == (
        "line one\n[audio audio/wav, 4 base64 characters]\ninlined\n"
        "[resource link file:///spec.md spec]"
    )


def test_structured_content_wins_over_text() -> None:
    text = mcp_types.TextContent(type="text", text='{"a": 1}')
    assert tool_value(
        result(text, structured_content={"a": 1}), server="s", tool="t", limit=99
    ) == {"a": 1}


async def test_a_tool_with_an_unusable_schema_is_disabled_with_the_reason(tmp_path: Path) -> None:
    broken = {"type": "object", "properties": {"x": {"type": "wat"}}}

    async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(
            tools=[mcp_types.Tool(name="odd", description="Odd.", input_schema=broken)]
        )

    provider = MCPToolProvider(
        MCPServerConfig(name="odd"),
        pins=ToolPins(tmp_path),
        server=Server("odd", on_list_tools=list_tools),
    )
    await provider.approve()
    [odd] = await provider.tools()
    with pytest.raises(ToolUnavailable, match="its schema is unusable"):
        await odd.invoke({"x": 1})


async def test_a_server_printing_a_banner_on_stdout_still_works() -> None:
    script = (
        f"print('starting up!'); import runpy; runpy.run_path({str(SAMPLE)!r}, run_name='__main__')"
    )
    config = MCPServerConfig(name="chatty", command=sys.executable, args=("-c", script))
    assert await MCPConnection(config).call_tool("add", {"a": 1, "b": 2}) == {"result": 3}


def test_the_cli_says_how_to_install_the_mcp_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # what `import mcp` does when it is missing
    result = CliRunner().invoke(app, ["mcp", "list"])
    assert result.exit_code == 2
    assert "pip install 'fluxio[mcp]'" in result.output


async def test_an_error_result_without_text_still_says_which_tool_failed() -> None:
    with pytest.raises(StepFailed, match="tool 't' on MCP server 's' reported an error: no error"):
        tool_value(result(is_error=True), server="s", tool="t", limit=10)
