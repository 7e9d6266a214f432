"""Serve fluxio tools and workflows over MCP, for any MCP client (an IDE, another agent).

Each tool is listed with its contract's JSON Schemas and annotations derived from the
contract (``read_only_hint`` when it has no side effects, ``idempotent_hint``). A call runs
``Tool.invoke``: arguments are checked against the schema, and any failure comes back as an
``isError`` result whose text says what went wrong.

Each workflow becomes a tool ``run_<workflow>`` taking ``{"input": ..., "wait_seconds": n}``: it
starts a durable run and answers ``{"run_id", "status"}``, plus ``result`` (or ``error``) when the
run ends within the wait. ``fluxio_run_status`` answers the same for a run id later. Runs are
driven by a worker inside the serving process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import mcp_types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server

from fluxio.engine import Engine, Worker
from fluxio.errors import FluxioError, UsageError
from fluxio.store.records import TERMINAL, Run, RunStatus
from fluxio.tools.runtime import Tool

__all__ = ["RUN_STATUS_TOOL", "WorkflowEndpoints", "build_server", "serve_http", "serve_stdio"]

log = logging.getLogger("fluxio.tools.mcp")

RUN_STATUS_TOOL = "fluxio_run_status"
_WAIT_LIMIT = 60.0
_RUN_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "run_id": {"type": "string"},
        "workflow": {"type": "string"},
        "status": {"type": "string"},
        "result": {},
        "error": {"type": ["object", "null"]},
    },
    "required": ["run_id", "status"],
}


@dataclass(frozen=True)
class WorkflowEndpoints:
    """Workflows served as tools: the engine that runs them and which ones to expose.

    Args:
        engine: an engine that knows the workflows (and the store their runs go to).
        workflows: the workflow names to expose.
        tenant_id: the tenant the runs are created in.
        wait_seconds: how long a call waits for the run to end by default.
    """

    engine: Engine
    workflows: Sequence[str]
    tenant_id: str = "default"
    wait_seconds: float = 2.0

    def tool_name(self, workflow: str) -> str:
        """The MCP tool that starts ``workflow``."""
        return f"run_{workflow}"

    def listing(self) -> list[mcp_types.Tool]:
        """The MCP tools: one per workflow, and the run-status tool."""
        tools = [
            mcp_types.Tool(
                name=self.tool_name(name),
                description=(
                    f"Start a durable run of the fluxio workflow {name!r}; answers its run id "
                    f"and status, and its result if it ends within wait_seconds."
                ),
                input_schema={
                    "type": "object",
                    "properties": {
                        "input": {"description": "The workflow's input."},
                        "wait_seconds": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": _WAIT_LIMIT,
                            "description": f"How long to wait for the result "
                            f"(default {self.wait_seconds:g}).",
                        },
                    },
                },
                output_schema=_RUN_OUTPUT,
                annotations=mcp_types.ToolAnnotations(read_only_hint=False),
            )
            for name in self.workflows
        ]
        tools.append(
            mcp_types.Tool(
                name=RUN_STATUS_TOOL,
                description="The status of a fluxio run, and its result or error once it ended.",
                input_schema={
                    "type": "object",
                    "properties": {"run_id": {"type": "string"}},
                    "required": ["run_id"],
                },
                output_schema=_RUN_OUTPUT,
                annotations=mcp_types.ToolAnnotations(read_only_hint=True),
            )
        )
        return tools

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Handle a call to one of these tools; ``None`` if ``name`` is not one of them."""
        if name == RUN_STATUS_TOOL:
            run = await self.engine.get(str(arguments.get("run_id", "")), tenant_id=self.tenant_id)
            return _run_view(run)
        workflow = next((w for w in self.workflows if self.tool_name(w) == name), None)
        if workflow is None:
            return None
        run = await self.engine.start(workflow, arguments.get("input"), tenant_id=self.tenant_id)
        wait = min(float(arguments.get("wait_seconds", self.wait_seconds)), _WAIT_LIMIT)
        return _run_view(await self._settled(run, wait))

    async def _settled(self, run: Run, wait: float) -> Run:
        """The run once it ended, or as it stands after ``wait`` seconds."""
        with anyio.move_on_after(wait):
            while run.status not in TERMINAL:
                await anyio.sleep(0.05)
                run = await self.engine.get(run.run_id, tenant_id=self.tenant_id)
        return run


def _run_view(run: Run) -> dict[str, Any]:
    view: dict[str, Any] = {"run_id": run.run_id, "workflow": run.workflow, "status": run.status}
    if run.status is RunStatus.COMPLETED:
        view["result"] = run.result
    elif run.status in TERMINAL:
        view["error"] = run.error
    return view


def build_server(
    tools: Iterable[Tool],
    *,
    workflows: WorkflowEndpoints | None = None,
    name: str = "fluxio",
    version: str = "",
) -> Server[Any]:
    """An MCP server (the SDK's low-level ``Server``) exposing ``tools`` and ``workflows``.

    Raises:
        UsageError: two tools share a name, or a tool is named like a workflow tool.
    """
    by_name = _unique(tools, workflows)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        listed = [_listing(t) for t in by_name.values()]
        return mcp_types.ListToolsResult(tools=listed + (workflows.listing() if workflows else []))

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        arguments = dict(params.arguments or {})
        try:
            if params.name in by_name:
                return _result(await by_name[params.name].invoke(arguments))
            answer = await workflows.call(params.name, arguments) if workflows else None
        except FluxioError as exc:
            return _error(str(exc))
        except Exception as exc:  # a tool's own bug: the client gets it as a tool error
            log.exception("tool %s raised", params.name)
            return _error(f"tool {params.name!r} failed: {type(exc).__name__}: {exc}")
        if answer is None:
            known = ", ".join(
                [*by_name, *(t.name for t in workflows.listing())] if workflows else by_name
            )
            return _error(f"unknown tool {params.name!r}; this server has: {known or 'no tools'}")
        return _result(answer)

    return Server(name, version=version, on_list_tools=list_tools, on_call_tool=call_tool)


def _unique(tools: Iterable[Tool], workflows: WorkflowEndpoints | None) -> dict[str, Tool]:
    by_name: dict[str, Tool] = {}
    reserved = {t.name for t in workflows.listing()} if workflows else set()
    for item in tools:
        if item.name in by_name or item.name in reserved:
            raise UsageError(
                f"two tools to serve are named {item.name!r}; serve only one of them (or rename "
                "one)"
            )
        by_name[item.name] = item
    return by_name


def _listing(item: Tool) -> mcp_types.Tool:
    contract = item.contract
    output = contract.output_schema
    return mcp_types.Tool(
        name=item.name,
        description=contract.description,
        input_schema=contract.input_schema,
        output_schema=output if output and output.get("type") == "object" else None,
        annotations=mcp_types.ToolAnnotations(
            read_only_hint=not contract.side_effects,
            idempotent_hint=contract.idempotent,
            destructive_hint=contract.side_effects and not contract.reversible,
        ),
    )


def _result(value: Any) -> mcp_types.CallToolResult:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)],
        structured_content=value if isinstance(value, dict) else None,
    )


def _error(message: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=message)], is_error=True
    )


async def serve_stdio(server: Server[Any], workflows: WorkflowEndpoints | None = None) -> None:
    """Serve over stdin/stdout until the client closes stdin (runs are driven meanwhile)."""
    async with anyio.create_task_group() as tg:
        stop = _drive(tg, workflows)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
        stop()


async def serve_http(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workflows: WorkflowEndpoints | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until cancelled.

    Args:
        server: the server from ``build_server``.
        host: the interface to listen on (keep ``127.0.0.1`` unless you put auth in front).
        port: the port; ``0`` picks a free one.
        workflows: drive their runs in this process while serving.
        on_ready: called with the endpoint URL once the port accepts connections.
    """
    import uvicorn

    app = server.streamable_http_app(streamable_http_path="/mcp", host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    web = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        stop = _drive(tg, workflows)
        tg.start_soon(_announce, web, host, on_ready)
        try:
            await web.serve()
        finally:
            stop()


async def _announce(web: Any, host: str, on_ready: Callable[[str], None] | None) -> None:
    with anyio.move_on_after(30):
        while not web.started:  # noqa: ASYNC110 - uvicorn offers no "started" event
            await anyio.sleep(0.02)
    if web.started and on_ready is not None:
        port = web.servers[0].sockets[0].getsockname()[1]
        on_ready(f"http://{host}:{port}/mcp")


def _drive(tg: anyio.abc.TaskGroup, workflows: WorkflowEndpoints | None) -> Callable[[], None]:
    """Start a worker for the workflows' runs; return the function that stops it."""
    if workflows is None:
        return lambda: None
    stop = asyncio.Event()
    tg.start_soon(lambda: Worker(workflows.engine).run(stop=stop))
    return stop.set
