"""fluxio tools and workflows served over MCP, checked with the official SDK client."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_support import Launch

from fluxio.engine import Engine, RunContext, Worker
from fluxio.errors import UsageError
from fluxio.store.memory import MemoryStore
from fluxio.tools import tool
from fluxio.tools.mcp.server import WorkflowEndpoints, build_server

pytestmark = pytest.mark.anyio


@tool(side_effects=False)
async def shout(text: str, times: int = 1) -> str:
    """Upper-case text."""
    return text.upper() * times


@tool(side_effects=True, idempotent=False)
def explode() -> str:
    """Fail with a bug."""
    raise ZeroDivisionError("division by zero")


async def double(ctx: RunContext, input: Any) -> Any:
    return {"doubled": input["n"] * 2}


async def hold(ctx: RunContext, input: Any) -> Any:
    return await ctx.wait_for("go")


@contextlib.asynccontextmanager
async def served(engine: Engine) -> AsyncIterator[Client]:
    """An in-process client of a server with the test tools and workflows, runs driven."""
    endpoints = WorkflowEndpoints(engine, ["double", "hold"], wait_seconds=5)
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(engine, poll_interval=0.05).run(stop=stop))
    try:
        async with Client(build_server([shout, explode], workflows=endpoints)) as client:
            yield client
    finally:
        stop.set()
        await worker


@pytest.fixture
def engine() -> Engine:
    return Engine(MemoryStore(), workflows={"double": double, "hold": hold})


async def test_tools_are_listed_with_their_schemas_and_annotations(engine: Engine) -> None:
    async with served(engine) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"shout", "explode", "run_double", "run_hold", "fluxio_run_status"}
    assert tools["shout"].input_schema == shout.contract.input_schema
    assert tools["shout"].description == "Upper-case text."
    assert tools["shout"].annotations is not None
    assert tools["shout"].annotations.read_only_hint is True
    assert tools["explode"].annotations is not None
    assert tools["explode"].annotations.destructive_hint is True
    assert tools["run_double"].output_schema is not None


async def test_calls_run_the_tool_and_failures_come_back_as_tool_errors(engine: Engine) -> None:
    async with served(engine) as client:
        ok = await client.call_tool("shout", {"text": "hi", "times": 2})
        bad = await client.call_tool("shout", {"text": 3})
        bug = await client.call_tool("explode", {})
        unknown = await client.call_tool("whisper", {})
    assert (ok.is_error, ok.content[0].text) == (False, "HIHI")  # type: ignore[union-attr]
    assert bad.is_error
    assert "argument 'text'" in bad.content[0].text  # type: ignore[union-attr]
    assert bug.is_error
    assert "ZeroDivisionError" in bug.content[0].text  # type: ignore[union-attr]
    assert unknown.is_error
    assert "unknown tool 'whisper'" in unknown.content[0].text  # type: ignore[union-attr]


async def test_a_workflow_tool_starts_a_run_and_returns_its_result_when_it_ends(
    engine: Engine,
) -> None:
    async with served(engine) as client:
        answer = await client.call_tool("run_double", {"input": {"n": 21}})
    view = answer.structured_content
    assert view is not None
    assert view["status"] == "completed"
    assert view["result"] == {"doubled": 42}
    assert (await engine.get(view["run_id"])).result == {"doubled": 42}


async def test_a_run_that_waits_answers_its_id_and_its_status_can_be_asked_later(
    engine: Engine,
) -> None:
    async with served(engine) as client:
        started = await client.call_tool("run_hold", {"input": None, "wait_seconds": 0.5})
        run_id = started.structured_content["run_id"]  # type: ignore[index]
        await engine.signal(run_id, "go", "went")
        for _ in range(100):
            status = await client.call_tool("fluxio_run_status", {"run_id": run_id})
            if status.structured_content["status"] == "completed":  # type: ignore[index]
                break
            await asyncio.sleep(0.05)
        missing = await client.call_tool("fluxio_run_status", {"run_id": "nope"})
    assert started.structured_content["status"] in ("pending", "running", "waiting")  # type: ignore[index]
    assert status.structured_content["result"] == "went"  # type: ignore[index]
    assert missing.is_error
    assert "no run 'nope'" in missing.content[0].text  # type: ignore[union-attr]


def test_two_tools_with_one_name_are_refused(engine: Engine) -> None:
    with pytest.raises(UsageError, match="two tools to serve are named 'shout'"):
        build_server([shout, shout])
    named_like_a_workflow = tool(lambda: "x", name="run_double")
    with pytest.raises(UsageError, match="named 'run_double'"):
        build_server([named_like_a_workflow], workflows=WorkflowEndpoints(engine, ["double"]))


TOOLS_FILE = '''
def reverse(text: str) -> str:
    """Reverse text."""
    return text[::-1]


TOOLS = {"reverse": reverse}
'''

FLOWS_FILE = """
async def triple(ctx, input):
    return {"tripled": input["n"] * 3}


WORKFLOWS = {"triple": triple}
"""


@pytest.fixture
def serve_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "tools.py").write_text(textwrap.dedent(TOOLS_FILE))
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS_FILE))
    (tmp_path / "hello.txt").write_text("hello from the workspace")
    return tmp_path / "tools.py", tmp_path / "flows.py"


def serve_args(tmp_path: Path, tools: Path, flows: Path, *extra: str) -> list[str]:
    return [
        "-m", "fluxio.cli.main", "--db", str(tmp_path / "state" / "fluxio.db"),
        "mcp", "serve", "--tools-file", str(tools), "--workflows", str(flows),
        "--root", str(tmp_path), *extra,
    ]  # fmt: skip


async def exercise(client: Client, tmp_path: Path) -> None:
    """What both transports must do: built-ins, file tools and workflows, end to end."""
    names = {t.name for t in (await client.list_tools()).tools}
    assert {"read_file", "http_get", "reverse", "run_triple", "fluxio_run_status"} <= names
    read = await client.call_tool("read_file", {"path": "hello.txt"})
    assert not read.is_error
    assert "hello from the workspace" in str(read.structured_content)
    reversed_ = await client.call_tool("reverse", {"text": "abc"})
    assert reversed_.content[0].text == "cba"  # type: ignore[union-attr]
    run = await client.call_tool("run_triple", {"input": {"n": 5}, "wait_seconds": 10})
    view = run.structured_content
    assert view is not None
    assert (view["status"], view["result"]) == ("completed", {"tripled": 15})
    with contextlib.closing(sqlite3.connect(tmp_path / "state" / "fluxio.db")) as db:
        (status,) = db.execute(
            "SELECT status FROM runs WHERE run_id=?", (view["run_id"],)
        ).fetchone()
    assert status == "completed"


async def test_serve_over_stdio_with_the_sdk_client(
    tmp_path: Path, serve_files: tuple[Path, Path]
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=serve_args(tmp_path, *serve_files), cwd=tmp_path
    )
    async with Client(params) as client:
        await exercise(client, tmp_path)


async def test_serve_over_http_with_the_sdk_client(
    tmp_path: Path, serve_files: tuple[Path, Path], processes: Launch
) -> None:
    args = serve_args(tmp_path, *serve_files, "--transport", "http", "--port", "0")
    proc = processes(sys.executable, *args, cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
    assert line.startswith("serving MCP at http://127.0.0.1:"), line
    async with Client(line.split()[-1]) as client:
        await exercise(client, tmp_path)
    proc.terminate()  # uvicorn shuts down gracefully, then re-raises SIGTERM
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGTERM
    assert "Traceback" not in stderr


async def test_serve_refuses_an_unknown_transport(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fluxio.cli.main import app

    result = CliRunner().invoke(app, ["mcp", "serve", "--transport", "carrier-pigeon"])
    assert result.exit_code == 2
    assert "use stdio or http" in result.output
