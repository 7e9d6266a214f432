"""``fluxio tools``: Discover, inspect and import tools (OpenAPI, MCP).

``list``, ``show`` and ``search`` read the tools the CLI knows (built by ``cli_registry``): the
built-in tools rooted at the working directory, the tool YAML files in its ``.fluxio/tools/``
folder, and any given with ``--tools-file``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.output import fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.tools import Tool, ToolContract, ToolRegistry, load_tools
from fluxio.tools.builtin import builtin_tools
from fluxio.tools.outbound import OutboundClient

__all__ = ["WORKSPACE_TOOLS", "app", "cli_registry"]

app = typer.Typer(help="Discover, inspect and import tools (OpenAPI, MCP).", no_args_is_help=True)

WORKSPACE_TOOLS = Path(".fluxio") / "tools"
"""The folder (relative to the working directory) whose tool YAML files the CLI loads."""

T = TypeVar("T")

ToolsFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--tools-file",
        "-t",
        help="A tool YAML file or folder to load as well (repeatable).",
    ),
]

_STATUS_STYLE = {"active": "green", "draft": "cyan", "deprecated": "yellow", "retired": "red"}


def cli_registry(
    settings: Settings, files: Sequence[Path] = (), *, http: OutboundClient | None = None
) -> ToolRegistry:
    """The tools CLI commands see: built-ins, ``.fluxio/tools/``, then ``files``.

    Args:
        settings: the global CLI options (reserved for per-database tool configuration).
        files: extra tool YAML files or folders (``--tools-file``).
        http: the outbound client the built-in HTTP tools call through (the caller closes
            it); without one those tools are left out.

    Raises:
        DefinitionError: a tool file is invalid.
        UsageError: a file defines a tool name and version that is already registered.
    """
    del settings
    registry = ToolRegistry(builtin_tools(Path.cwd(), http))
    sources = [WORKSPACE_TOOLS] if WORKSPACE_TOOLS.is_dir() else []
    for source in [*sources, *files]:
        for item in load_tools(source):
            registry.register(item)
    return registry


def _with_registry(
    ctx: typer.Context, files: Sequence[Path] | None, use: Callable[[ToolRegistry], T]
) -> T:
    """Build the CLI registry with a live outbound client, and ``use`` it."""

    async def body() -> T:
        async with OutboundClient() as http:
            return use(cli_registry(settings_of(ctx), files or (), http=http))

    return run_async(body())


@app.command("list")
@fails_cleanly
def list_tools(
    ctx: typer.Context,
    tools_file: ToolsFiles = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Show every version, not just the current.")
    ] = False,
) -> None:
    """List the tools: name, version, category, side effects and status."""
    found = _with_registry(ctx, tools_file, lambda r: r.list(all_versions=all_versions))
    _print_table(found, "no tools registered")


@app.command("show")
@fails_cleanly
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME")],
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    tools_file: ToolsFiles = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the contract as JSON.")] = False,
) -> None:
    """Show a tool's contract and its input and output JSON Schemas."""
    item = _with_registry(ctx, tools_file, lambda r: r.require(name, version))
    if as_json:
        out().print_json(json.dumps(item.contract.model_dump(mode="json")))
        return
    console = out()
    for label, value in _facts(item.contract):
        console.print(f"[bold]{label:<14}[/]{value}")
    console.print("[bold]input schema[/]")
    console.print_json(json.dumps(item.contract.input_schema))
    if item.contract.output_schema is not None:
        console.print("[bold]output schema[/]")
        console.print_json(json.dumps(item.contract.output_schema))


@app.command("search")
@fails_cleanly
def search(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Argument(metavar="[TEXT]")] = None,
    category: Annotated[str | None, typer.Option("--category", "-c")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag the tool must carry (repeatable).")
    ] = None,
    capability: Annotated[str | None, typer.Option("--capability")] = None,
    tools_file: ToolsFiles = None,
) -> None:
    """Find tools by words in their name or description, category, tags or capability."""
    found = _with_registry(
        ctx,
        tools_file,
        lambda r: r.search(text, category=category, tags=tag or (), capability=capability),
    )
    _print_table(found, "no tools match")


def _print_table(tools: Sequence[Tool], empty: str) -> None:
    if not tools:
        out().print(empty)
        return
    console = out()
    rows = [_row(item.contract) for item in tools]
    table = Table()
    used = 1
    for i, column in enumerate(("name", "version", "category", "side effects", "status")):
        width = max(len(column), *(len(Text.from_markup(row[i])) for row in rows))
        table.add_column(column, no_wrap=True, min_width=width)
        used += width + 3
    room = console.width - used - 3
    if room >= 20:  # descriptions only when the terminal has room for them
        table.add_column("description", no_wrap=True, overflow="ellipsis", max_width=room)
    for row in rows:
        table.add_row(*row[: len(table.columns)])
    console.print(table)


def _row(contract: ToolContract) -> tuple[str, ...]:
    status = contract.effective_status()
    return (
        escape(contract.name),
        contract.version,
        escape(contract.category),
        _effects(contract),
        f"[{_STATUS_STYLE[status]}]{status}[/]",
        escape(contract.description),
    )


def _effects(contract: ToolContract) -> str:
    if not contract.side_effects:
        return "none"
    return "yes, idempotent" if contract.idempotent else "[yellow]yes, not idempotent[/]"


def _facts(contract: ToolContract) -> list[tuple[str, str]]:
    status: str = contract.effective_status()
    if contract.deprecated_by:
        status += f" (use {contract.deprecated_by})"
    if contract.sunset_date:
        status += f", sunset {contract.sunset_date}"
    retry = contract.retry.model_dump() if contract.retry else "engine default"
    facts: list[tuple[str, Any]] = [
        ("name", f"{contract.name} {contract.version} (id {contract.id})"),
        ("description", contract.description or "-"),
        ("type", f"{contract.type}, {contract.execution_mode}"),
        ("category", contract.category),
        ("tags", ", ".join(contract.tags) or "-"),
        ("capabilities", ", ".join(contract.capabilities) or "-"),
        ("status", status),
        ("side effects", _effects(contract)),
        ("reversible", ("yes" if contract.reversible else "no") + _via(contract.reverse_with)),
        ("timeout", f"{contract.timeout:g}s" if contract.timeout else "none"),
        ("retry", retry),
        ("cost per call", f"${contract.cost_per_call:g}"),
        ("permission", contract.permission_required or "-"),
        ("audit level", contract.audit_level),
        ("requires", ", ".join(contract.requires) or "-"),
        ("conflicts", ", ".join(contract.conflicts_with) or "-"),
        ("errors", ", ".join(_error(e.code, e.recoverable) for e in contract.errors) or "-"),
    ]
    return [
        (label, value if label == "side effects" else escape(str(value))) for label, value in facts
    ]


def _via(reverse_with: str | None) -> str:
    return f", via {reverse_with}" if reverse_with else ""


def _error(code: str, recoverable: bool) -> str:
    return f"{code} (recoverable)" if recoverable else code


# --- fluxio tools import-openapi -------------------------------------------------------------

AUTH_HELP = (
    "How calls authenticate, naming environment variables (never secrets): bearer:ENV_VAR, "
    "apikey:header:NAME:ENV_VAR, apikey:query:NAME:ENV_VAR or basic:USER_ENV:PASS_ENV."
)


@app.command("import-openapi")
@fails_cleanly
def import_openapi(
    spec: Annotated[
        str, typer.Argument(metavar="SPEC", help="An OpenAPI 3.x file (YAML/JSON) or http(s) URL.")
    ],
    prefix: Annotated[str, typer.Option("--prefix", "-p", help="Put before every name.")] = "",
    auth: Annotated[str | None, typer.Option("--auth", help=AUTH_HELP)] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The server to call instead of the spec's.")
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option("--save", help="Remember the import in this folder, e.g. .fluxio/openapi."),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="A private or local host it may reach (repeatable)."),
    ] = None,
) -> None:
    """Turn every operation of an OpenAPI 3.x document into a tool, and list them."""
    from fluxio.cli.commands.common import run_async
    from fluxio.tools.openapi import AuthConfig, SavedImport, http_call_of

    saved = SavedImport.of(
        spec,
        prefix=prefix,
        base_url=base_url,
        auth=AuthConfig.parse(auth).as_option() if auth else None,
        allow_hosts=tuple(allow_host or ()),
    )
    tools = run_async(saved.load())
    if not tools:
        out().print(f"no operations in {escape(spec)}: nothing to import")
        return
    out().print(f"imported {len(tools)} tool{'s' if len(tools) != 1 else ''} from {escape(spec)}")
    out().print(_operations_table(tools))
    if any(call.base_url is None for call in map(http_call_of, tools) if call is not None):
        out().print(
            "[yellow]note:[/] the spec names no absolute server URL; give --base-url so the "
            "tools know where to send calls"
        )
    if save is not None:
        out().print(f"saved to {escape(str(saved.save(save, tools)))}")


def _operations_table(tools: Sequence[Tool]) -> Table:
    from fluxio.tools.openapi import http_call_of

    table = Table()
    table.add_column("tool", overflow="fold")
    table.add_column("method", no_wrap=True)
    table.add_column("path", overflow="fold")
    table.add_column("side effects")
    table.add_column("description", overflow="fold")
    for item in tools:
        call = http_call_of(item)
        summary = item.description.splitlines()[0] if item.description else ""
        if call is not None and summary == f"{call.operation.method} {call.operation.path}":
            summary = ""
        table.add_row(
            escape(item.name),
            call.operation.method if call else "",
            escape(call.operation.path) if call else "",
            _effects(item.contract),
            escape(summary if len(summary) <= 80 else summary[:79] + "…"),
        )
    return table
