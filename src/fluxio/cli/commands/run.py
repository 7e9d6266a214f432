"""``fluxio run``, ``validate`` and ``graph``: work with definition files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.loader import Definitions, load_definitions
from fluxio.cli.output import fails_cleanly, out, parse_json
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import open_workspace
from fluxio.definitions import YamlWorkflow
from fluxio.dsl import Step, to_mermaid
from fluxio.dsl import validate as validate_dsl
from fluxio.errors import DefinitionError

__all__ = ["graph", "run", "validate"]

FileArg = Annotated[Path, typer.Argument(help="A .yaml/.yml/.json workflow or a .py module.")]
ToolsOpt = Annotated[
    list[Path] | None,
    typer.Option("--tools", help="A .py file whose TOOLS the workflow's tool steps call."),
]
WorkflowOpt = Annotated[
    str | None, typer.Option("--workflow", "-w", help="Which workflow, if FILE defines several.")
]


@fails_cleanly
def run(
    ctx: typer.Context,
    file: FileArg,
    input: Annotated[
        str | None, typer.Option("--input", "-i", help="Run input: JSON text or @file.json.")
    ] = None,
    tools: ToolsOpt = None,
    workflow: WorkflowOpt = None,
    key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Reuse the run started with this key, if any."),
    ] = None,
) -> None:
    """Run a workflow with live progress until it ends or waits for someone.

    Exit codes: 0 completed, 1 failed or cancelled, 2 usage error, 3 waiting (the command to
    continue is printed), 4 needs attention.
    """
    data = parse_json(input, "--input")
    defs = load_definitions([file], tools or [])
    raise typer.Exit(run_async(_run(settings_of(ctx), defs, workflow, data, key)))


async def _run(
    settings: Settings, defs: Definitions, workflow: str | None, data: Any, key: str | None
) -> int:
    name, chosen = defs.only(workflow)
    _check(chosen, list(defs.workflows))
    console = out()
    async with open_workspace(settings) as ws:
        ws.catalog.record(defs)
        engine = ws.engine(defs.workflows)
        run = await engine.start(name, data, idempotency_key=key, tenant_id=ws.tenant)
        console.print(f"run [bold]{run.run_id}[/] of [bold]{escape(name)}[/] started")
        _, code = await ws.drive(engine, run.run_id, console)
        return code


@fails_cleanly
def validate(file: FileArg, tools: ToolsOpt = None) -> None:
    """Check a definition file without running anything; print what it defines."""
    defs = load_definitions([file], tools or [])
    console = out()
    if not defs.workflows:
        raise DefinitionError(
            "it defines no workflows",
            file=str(file),
            suggestion="A .py file needs a WORKFLOWS dict or module-level DSL workflows.",
        )
    for name, wf in sorted(defs.workflows.items()):
        _check(wf, list(defs.workflows))
        console.print(f"[green]✓[/] {escape(name)}: valid")
        description = _describe(wf)
        if description:
            console.print(escape(description), soft_wrap=True)


@fails_cleanly
def graph(file: FileArg, tools: ToolsOpt = None, workflow: WorkflowOpt = None) -> None:
    """Print a workflow's graph as a Mermaid flowchart (paste it into any Mermaid viewer)."""
    defs = load_definitions([file], tools or [])
    name, wf = defs.only(workflow)
    _check(wf, list(defs.workflows))
    out().print(escape(_mermaid(wf, name, defs.origins[name])), soft_wrap=True)


def _check(workflow: Any, known: list[str]) -> None:
    """Validate DSL workflows (types, references); YAML workflows were checked on load."""
    if isinstance(workflow, Step):
        validate_dsl(workflow, known_workflows=known)


def _describe(workflow: Any) -> str:
    if isinstance(workflow, YamlWorkflow):
        return workflow.describe()
    return str(getattr(workflow, "description", "") or "")


def _mermaid(workflow: Any, name: str, origin: Path) -> str:
    if isinstance(workflow, YamlWorkflow):
        return workflow.to_mermaid()
    if isinstance(workflow, Step):
        return to_mermaid(workflow)
    raise DefinitionError(
        f"workflow {name!r} is plain run code; only DSL and YAML workflows can be drawn",
        file=str(origin),
        suggestion="Build it from fluxio.dsl steps or write it in YAML to get a graph.",
    )
