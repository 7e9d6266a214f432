"""MCPConnection against a real MCP server process (the sample server) over stdio and HTTP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp_support import sample_config

from fluxio.errors import StepFailed, StepTimeout, ToolUnavailable, UsageError
from fluxio.tools.mcp import MCPConnection, MCPServerConfig

pytestmark = pytest.mark.anyio


async def test_calls_return_structured_content_when_the_server_sends_it() -> None:
    async with MCPConnection(sample_config()) as conn:
        assert await conn.call_tool("weather", {"city": "Oslo"}) == {
            "city": "Oslo",
            "celsius": 21.5,
        }
        assert await conn.call_tool("add", {"a": 2, "b": 3}) == {"result": 5}


async def test_a_tool_error_fails_the_call_without_retry_and_carries_the_server_text() -> None:
    with pytest.raises(StepFailed) as caught:
        await MCPConnection(sample_config()).call_tool("refuse", {"reason": "not today"})
    assert caught.value.retryable is False
    assert "refused: not today" in str(caught.value)
    assert "tool 'refuse' on MCP server 'sample' reported an error" in str(caught.value)


async def test_a_server_dying_mid_call_is_a_retryable_failure_and_the_next_call_reconnects() -> (
    None
):
    async with MCPConnection(sample_config()) as conn:
        assert await conn.call_tool("greet", {"name": "a"}) == {"result": "hello a"}
        with pytest.raises(StepFailed) as caught:
            await conn.call_tool("crash", {})
        assert await conn.call_tool("greet", {"name": "b"}) == {"result": "hello b"}
    message = str(caught.value)
    assert caught.value.retryable is True
    assert not isinstance(caught.value, StepTimeout)
    assert "closed the connection while calling tool 'crash'" in message
    assert "exited with code 3" in message
    assert "crashing on purpose" in message  # the server's last stderr line
    assert "the next call reconnects" in message


async def test_without_a_held_session_each_call_starts_the_server_again() -> None:
    conn = MCPConnection(sample_config())
    with pytest.raises(StepFailed, match="exited with code 3"):
        await conn.call_tool("crash", {})
    assert await conn.call_tool("greet", {"name": "c"}) == {"result": "hello c"}


async def test_an_oversized_message_is_cut_off_at_the_transport_with_a_clear_error() -> None:
    config = sample_config(max_output_bytes=10_000)
    async with MCPConnection(config) as conn:
        with pytest.raises(StepFailed) as caught:
            await conn.call_tool("blob", {"size": 5_000_000})
        assert await conn.call_tool("blob", {"size": 10}) == {"result": "x" * 10}
    assert caught.value.retryable is False
    assert "more than 10000 bytes" in str(caught.value)
    assert "max-output-bytes" in str(caught.value)


async def test_a_result_over_the_cap_but_under_the_transport_limit_fails_with_its_size() -> None:
    conn = MCPConnection(sample_config(max_output_bytes=10_000))
    with pytest.raises(StepFailed, match=r"answered 12014 bytes .* over the limit of 10000"):
        await conn.call_tool("blob", {"size": 12_000})


async def test_a_slow_tool_times_out_and_the_session_stays_usable() -> None:
    async with MCPConnection(sample_config(timeout=0.3)) as conn:
        with pytest.raises(
            StepTimeout, match=r"did not answer within 0.3s while calling tool 'nap'"
        ):
            await conn.call_tool("nap", {"seconds": 1.0})
        assert await conn.call_tool("add", {"a": 1, "b": 1}) == {"result": 2}


async def test_a_missing_command_is_unavailable_not_retryable(tmp_path: Path) -> None:
    config = MCPServerConfig(name="ghost", command=str(tmp_path / "no-such-server"))
    with pytest.raises(ToolUnavailable, match="cannot start MCP server 'ghost'"):
        await MCPConnection(config).list_tools()


async def test_a_server_that_exits_at_startup_reports_its_exit_code_and_stderr() -> None:
    script = "import sys; print('missing API key', file=sys.stderr); sys.exit(2)"
    config = MCPServerConfig(name="broken", command=sys.executable, args=("-c", script))
    with pytest.raises(StepFailed, match=r"exited with code 2.*missing API key"):
        await MCPConnection(config).list_tools()


async def test_a_server_that_never_answers_the_handshake_hits_the_startup_timeout() -> None:
    config = MCPServerConfig(
        name="mute",
        command=sys.executable,
        args=("-c", "import sys; sys.stdin.read()"),
        startup_timeout=0.5,
    )
    with pytest.raises(StepTimeout, match=r"did not start and finish its handshake within 0\.5s"):
        await MCPConnection(config).list_tools()
    async with MCPConnection(config) as held:
        with pytest.raises(StepTimeout, match=r"within 0\.5s"):
            await held.call_tool("anything", {})


async def test_a_config_without_command_or_url_is_refused() -> None:
    with pytest.raises(UsageError, match="neither a command nor a url"):
        MCPConnection(MCPServerConfig(name="nothing"))


async def test_http_server_calls_and_errors(sample_http: str) -> None:
    config = MCPServerConfig(name="web", url=sample_http, max_output_bytes=10_000)
    async with MCPConnection(config) as conn:
        names = {t.name for t in await conn.list_tools()}
        assert {"greet", "weather", "blob"} <= names
        assert await conn.call_tool("greet", {"name": "web"}) == {"result": "hello web"}
        with pytest.raises(StepFailed, match="more than 10000 bytes") as caught:
            await conn.call_tool("blob", {"size": 100_000})
        assert caught.value.retryable is False
        assert await conn.call_tool("add", {"a": 20, "b": 22}) == {"result": 42}


async def test_an_unreachable_http_server_is_a_retryable_failure() -> None:
    config = MCPServerConfig(name="away", url="http://127.0.0.1:9/mcp")
    with pytest.raises(StepFailed, match="cannot reach MCP server 'away'") as caught:
        await MCPConnection(config).list_tools()
    assert caught.value.retryable is True
