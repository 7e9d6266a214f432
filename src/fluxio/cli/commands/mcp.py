"""``fluxio mcp``: register MCP servers as tool providers, approve their tools, serve fluxio's.

Registered servers live in ``servers.json`` and their approved tool pins in ``pins.json``, both
in the ``mcp`` folder beside the database (``.fluxio/mcp/`` by default).
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.catalog import Catalog
from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.commands.tools import WORKSPACE_TOOLS
from fluxio.cli.loader import load_definitions
from fluxio.cli.output import fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import open_workspace
from fluxio.errors import StepFailed, UsageError
from fluxio.tools import Tool, load_tools
from fluxio.tools.outbound import OutboundClient

if TYPE_CHECKING:
    from fluxio.tools.mcp import MCPServerConfig, ToolPins

__all__ = ["app", "mcp_directory"]

app = typer.Typer(help="Serve fluxio tools over MCP, and manage MCP servers.", no_args_is_help=True)


def mcp_directory(settings: Settings) -> Path:
    """Where registered servers and their pins are kept: ``mcp/`` beside the database."""
    return settings.db_path.parent / "mcp"


def _require_mcp() -> None:
    """Fail with an install hint when the optional MCP SDK is missing."""
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "fluxio mcp needs the MCP SDK, which is not installed; pip install 'fluxio[mcp]'"
        ) from exc


@app.command("add")
@fails_cleanly
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The server's name (tool prefix).")],
    args: Annotated[
        list[str] | None, typer.Argument(metavar="ARGS", help="Arguments of --command, after --.")
    ] = None,
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Start this program (stdio server).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Streamable-HTTP endpoint.")] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="KEY=VALUE for the server, or KEY to pass through."),
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", help="'Name: value' HTTP header.")
    ] = None,
    cwd: Annotated[str | None, typer.Option("--cwd", help="Working directory.")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Tool prefix (NAME_).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per call.")] = 60.0,
    startup_timeout: Annotated[
        float, typer.Option("--startup-timeout", help="Seconds to start and shake hands.")
    ] = 30.0,
    max_output_bytes: Annotated[
        int, typer.Option("--max-output-bytes", help="Largest tool result accepted.")
    ] = 1_000_000,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a server of that name.")
    ] = False,
) -> None:
    """Register an MCP server: connect, list its tools and pin them as approved.

    Example: fluxio mcp add time --command python -- -m mcp_server_time
    """
    _require_mcp()
    from fluxio.tools.mcp import MCPServerConfig, MCPToolProvider, RegisteredServers, ToolPins

    directory = mcp_directory(settings_of(ctx))
    servers = RegisteredServers(directory)
    if not replace and name in servers.all():
        raise UsageError(
            f"an MCP server named {name!r} is already registered; pass --replace to change it, "
            f"or `fluxio mcp remove {name}` first"
        )
    words = shlex.split(command) if command else []
    config = MCPServerConfig.parse(
        {
            "name": name,
            "command": words[0] if words else None,
            "args": [*words[1:], *(args or [])],
            "env": _pairs(env or [], "=", "--env", allow_bare=True),
            "headers": _pairs(header or [], ":", "--header"),
            "cwd": cwd,
            "url": url,
            "prefix": prefix,
            "timeout": timeout,
            "startup_timeout": startup_timeout,
            "max_output_bytes": max_output_bytes,
        },
        source="the server settings",
    )
    if config.transport == "in-process":
        raise UsageError("give --command PROGRAM (a stdio server) or --url URL (an HTTP server)")
    pins = ToolPins(directory)
    approved = run_async(MCPToolProvider(config, pins=pins).approve())
    servers.save(config)
    console = out()
    console.print(
        f"registered MCP server [bold]{escape(name)}[/] ({config.transport}: "
        f"{escape(config.target)}) with {len(approved)} approved tools:"
    )
    for tool in approved:
        console.print(f"  {escape(config.tool_prefix + tool)}")


@app.command("list")
@fails_cleanly
def list_servers(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not connect; show only what is pinned.")
    ] = False,
) -> None:
    """List registered servers: tools, pinned hash, and tools disabled since approval."""
    _require_mcp()
    from fluxio.tools.mcp import RegisteredServers, ToolPins

    directory = mcp_directory(settings_of(ctx))
    servers = RegisteredServers(directory).all()
    if not servers:
        out().print("no MCP servers registered; add one with `fluxio mcp add NAME --command ...`")
        return
    pins = ToolPins(directory)
    table = Table()
    for column in ("server", "transport", "tools", "pinned hash", "disabled tools"):
        table.add_column(column, overflow="fold")
    for name, config in servers.items():
        tools, disabled = _state(config, pins, offline)
        digest = (pins.digest(name) or "none").removeprefix("sha256:")[:12]
        table.add_row(escape(name), config.transport, tools, digest, disabled)
    out().print(table)


def _state(config: MCPServerConfig, pins: ToolPins, offline: bool) -> tuple[str, str]:
    """The tools and disabled-tools cells of one server's row."""
    from fluxio.tools.mcp import MCPToolProvider

    pinned = len(pins.pinned(config.name))
    if offline:
        return f"{pinned} pinned", "[dim]not checked (--offline)[/]"
    try:
        check = run_async(MCPToolProvider(config, pins=pins).check())
    except StepFailed as exc:
        return f"{pinned} pinned", f"[red]unreachable:[/] {escape(str(exc))}"
    listed = len(check.approved) + len(check.disabled)
    notes = [f"{t} ({check.changed[t]} changed)" for t in sorted(check.changed)]
    notes += [f"{t} (new)" for t in check.new]
    notes += [f"{t} (removed)" for t in check.removed]
    cell = escape(", ".join(notes)) if notes else "[green]none[/]"
    return f"{len(check.approved)} of {listed} enabled", cell


@app.command("approve")
@fails_cleanly
def approve(
    ctx: typer.Context,
    server: Annotated[str, typer.Argument(metavar="SERVER")],
    tool: Annotated[
        str | None, typer.Argument(metavar="[TOOL]", help="One tool (its name on the server).")
    ] = None,
) -> None:
    """Approve a server's current tool list (or one tool) after reviewing what changed."""
    _require_mcp()
    from fluxio.tools.mcp import MCPToolProvider, RegisteredServers, ToolPins

    directory = mcp_directory(settings_of(ctx))
    config = RegisteredServers(directory).get(server)
    pins = ToolPins(directory)
    before = pins.pinned(server)
    approved = run_async(MCPToolProvider(config, pins=pins).approve(tool))
    after = pins.pinned(server)
    console = out()
    for name in approved:
        old, new = before.get(name), after[name]
        if old is None:
            console.print(f"approved new tool [bold]{escape(name)}[/]: {escape(new.description)}")
        elif old.digest != new.digest:
            console.print(
                f"re-approved [bold]{escape(name)}[/]: its {new.change_from(old)} changed"
            )
            if old.description != new.description:
                console.print(f"  was: {escape(old.description)}")
                console.print(f"  now: {escape(new.description)}")
    if tool is None:
        for gone in sorted(set(before) - set(after)):
            console.print(f"forgot [bold]{escape(gone)}[/]: the server no longer lists it")
    console.print(f"{len(approved)} tool(s) of {escape(server)} approved")


@app.command("remove")
@fails_cleanly
def remove(ctx: typer.Context, server: Annotated[str, typer.Argument(metavar="SERVER")]) -> None:
    """Forget a registered server and its pins."""
    _require_mcp()
    from fluxio.tools.mcp import RegisteredServers, ToolPins

    directory = mcp_directory(settings_of(ctx))
    RegisteredServers(directory).remove(server)
    ToolPins(directory).forget(server)
    out().print(f"removed MCP server {escape(server)}")


@app.command("serve")
@fails_cleanly
def serve(
    ctx: typer.Context,
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (default) or http.")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="HTTP port; 0 picks a free one.")] = 8000,
    tools_file: Annotated[
        list[Path] | None,
        typer.Option("--tools-file", "-t", help="Tools to serve: a .py (TOOLS) or tool YAML."),
    ] = None,
    workflows: Annotated[
        list[Path] | None,
        typer.Option("--workflows", "-w", help="Workflow files to serve as run_<name> tools."),
    ] = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="Folder the built-in file tools may use.")
    ] = None,
    builtins: Annotated[
        bool, typer.Option("--builtins/--no-builtins", help="Serve the built-in tools.")
    ] = True,
) -> None:
    """Serve tools (built-in and from files) and workflows over MCP, on stdio or HTTP."""
    if transport not in ("stdio", "http"):
        raise UsageError(f"--transport {transport!r} is not known; use stdio or http")
    _require_mcp()
    run_async(
        _serve(
            settings_of(ctx),
            transport=transport,
            host=host,
            port=port,
            tool_files=tools_file or [],
            workflow_files=workflows or [],
            root=root or Path.cwd(),
            builtins=builtins,
        )
    )


async def _serve(
    settings: Settings,
    *,
    transport: str,
    host: str,
    port: int,
    tool_files: Sequence[Path],
    workflow_files: Sequence[Path],
    root: Path,
    builtins: bool,
) -> None:
    from fluxio.tools.mcp.server import WorkflowEndpoints, build_server, serve_http, serve_stdio

    python_tools = [p for p in tool_files if p.suffix == ".py"]
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(OutboundClient()) if builtins else None
        tools = _serve_tools(tool_files, python_tools, root, http)
        endpoints = None
        if workflow_files:
            defs = load_definitions(workflow_files, python_tools)
            Catalog(settings.catalog_path).record(defs)
            workspace = await stack.enter_async_context(open_workspace(settings))
            endpoints = WorkflowEndpoints(
                workspace.engine(defs.workflows), sorted(defs.workflows), settings.tenant
            )
        server = build_server(tools, workflows=endpoints)
        if transport == "stdio":
            await serve_stdio(server, endpoints)
        else:
            await serve_http(server, host=host, port=port, workflows=endpoints, on_ready=_ready)


def _serve_tools(
    files: Sequence[Path],
    python_files: Sequence[Path],
    root: Path,
    http: OutboundClient | None,
) -> list[Tool]:
    """The tools to serve.

    The built-ins (file tools confined to ``root``, HTTP tools through ``http``) unless
    ``http`` is ``None``, then the workspace's ``.fluxio/tools/`` YAML, the YAML ``files`` and
    the ``TOOLS`` of the ``python_files``.
    """
    from fluxio.tools.builtin import builtin_tools

    tools: list[Tool] = list(builtin_tools(root, http)) if http is not None else []
    sources = [WORKSPACE_TOOLS] if WORKSPACE_TOOLS.is_dir() else []
    for source in [*sources, *(f for f in files if f.suffix != ".py")]:
        tools.extend(load_tools(source))
    if python_files:
        tools.extend(load_definitions([], python_files, builtins=False).tools.list())
    return tools


def _ready(url: str) -> None:
    """Say where the HTTP server listens (tests and scripts wait for this line)."""
    out().print(f"serving MCP at {url}")
    sys.stdout.flush()


def _pairs(
    items: list[str], sep: str, option: str, *, allow_bare: bool = False
) -> dict[str, str | None]:
    """``KEY<sep>VALUE`` options as a dict; a bare ``KEY`` maps to ``None`` if allowed."""
    pairs: dict[str, str | None] = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not key.strip() or (not found and not allow_bare):
            raise UsageError(
                f"{option} {item!r} is not KEY{sep}VALUE; write for example {option} "
                f"'{'API_KEY=secret' if sep == '=' else 'Authorization: Bearer TOKEN'}'"
            )
        pairs[key.strip()] = value.strip() if found else None
    return pairs
