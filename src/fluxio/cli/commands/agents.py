"""``fluxio agents``: Define, deploy and run agents.

The CLI keeps the agent registry (definitions, versions, lifecycle states) in ``agents.json``
next to the database; concurrency limits and pauses are set in the database itself, so every
worker on it obeys them. ``run`` uses the model the environment configures
(``FLUXIO_MODEL``...), else the one the agent's definition names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fluxio.agents import (
    AgentDefinition,
    AgentRecord,
    AgentRegistry,
    AgentResult,
    AgentRuntime,
    load_agents,
)
from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.commands.tools import cli_registry
from fluxio.cli.output import EXIT_FAILED, EXIT_OK, fails_cleanly, out, parse_json
from fluxio.cli.settings import Settings
from fluxio.cli.workspace import Workspace, open_workspace
from fluxio.errors import UsageError
from fluxio.models import Model, model_from_env
from fluxio.store.records import RunStatus
from fluxio.tools.outbound import OutboundClient

__all__ = ["AgentsFile", "app", "print_result"]

app = typer.Typer(help="Define, deploy and run agents.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The agent's name.")]
ToolsFiles = Annotated[
    list[Path] | None,
    typer.Option("--tools-file", "-t", help="A tool YAML file or folder to load as well."),
]
_STATE_STYLE = {
    "registered": "cyan",
    "deployed": "blue",
    "active": "green",
    "paused": "yellow",
    "terminated": "red",
}


class AgentsFile:
    """The CLI's agent registry, kept as JSON in ``agents.json`` beside the database."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.db_path.parent / "agents.json"

    def load(self) -> AgentRegistry:
        """The registry (empty when nothing was deployed yet)."""
        if not self.path.exists():
            return AgentRegistry()
        try:
            return AgentRegistry.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"the agent registry {self.path} is unreadable ({exc}); delete it and "
                "`fluxio agents deploy` your agent files again"
            ) from exc

    def save(self, registry: AgentRegistry) -> None:
        """Write the registry atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(registry.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


@app.command("list")
@fails_cleanly
def list_agents(ctx: typer.Context) -> None:
    """List the deployed agents with their state, version, model and tools."""
    registry = AgentsFile(settings_of(ctx)).load()
    if not len(registry):
        out().print("no agents yet; deploy one with `fluxio agents deploy FILE`")
        return
    table = Table("agent", "version", "type", "state", "status", "model", "tools")
    for record in registry.list():
        agent = record.current
        table.add_row(
            escape(agent.name),
            agent.version,
            agent.type,
            _state(record),
            agent.status,
            escape(agent.model_name or "(configured)"),
            escape(", ".join(agent.tools + agent.delegates) or "-"),
        )
    out().print(table)


@app.command("show")
@fails_cleanly
def show(ctx: typer.Context, name: NameArg) -> None:
    """Show an agent's definition, lifecycle state and versions."""
    record = AgentsFile(settings_of(ctx)).load().record(name)
    agent = record.current
    console = out()
    console.print(f"agent [bold]{escape(agent.name)}[/] {agent.version}  {_state(record)}")
    for label, value in _facts(agent, record):
        console.print(f"  {label:<18} {escape(value)}", soft_wrap=True)
    if agent.system_prompt:
        console.print("  system prompt:")
        console.print(escape(agent.system_prompt), soft_wrap=True)


@app.command("deploy")
@fails_cleanly
def deploy(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An agent YAML file.")],
    tools_file: ToolsFiles = None,
) -> None:
    """Register the agents of FILE (checking their tools) and deploy them."""
    records = run_async(_deploy(settings_of(ctx), file.resolve(), tools_file or ()))
    for record in records:
        out().print(
            f"deployed agent [bold]{escape(record.name)}[/] {record.deployed_version} "
            f"({_state(record)})"
        )


async def _deploy(settings: Settings, file: Path, files: Sequence[Path]) -> list[AgentRecord]:
    source = str(file)
    agents_file = AgentsFile(settings)
    registry = agents_file.load()
    async with OutboundClient() as http, open_workspace(settings) as ws:
        tools = cli_registry(settings, files, http=http)
        loaded = load_agents(file, tools=tools)
        runtime = AgentRuntime(ws.engine(), registry, tools=tools)
        records = []
        for agent in loaded:
            known = registry.get(agent.name, agent.version)
            if known is not None and known != agent:
                raise UsageError(
                    f"agent {agent.name!r} {agent.version} is already deployed with another "
                    f"definition; raise `version` in {file} to deploy the change"
                )
            if known is None:
                registry.register(agent, source=source)
            records.append(await runtime.deploy(agent.name, agent.version))
    agents_file.save(registry)
    return records


@app.command("pause")
@fails_cleanly
def pause(ctx: typer.Context, name: NameArg) -> None:
    """Pause an agent: new tasks are refused, queued ones wait until it is resumed."""
    _lifecycle(ctx, name, "pause")


@app.command("resume")
@fails_cleanly
def resume(ctx: typer.Context, name: NameArg) -> None:
    """Resume a paused agent."""
    _lifecycle(ctx, name, "resume")


@app.command("terminate")
@fails_cleanly
def terminate(ctx: typer.Context, name: NameArg) -> None:
    """Terminate an agent: refuse new tasks and cancel its unfinished runs."""
    _lifecycle(ctx, name, "terminate")


def _lifecycle(ctx: typer.Context, name: str, action: str) -> None:
    settings = settings_of(ctx)

    async def act() -> tuple[AgentRecord, int]:
        agents_file = AgentsFile(settings)
        registry = agents_file.load()
        async with open_workspace(settings) as ws:
            runtime = AgentRuntime(ws.engine(), registry)
            cancelled = 0
            if action == "terminate":
                cancelled = len(await runtime.terminate(name, tenant_id=ws.tenant))
            else:
                await getattr(runtime, action)(name)
        agents_file.save(registry)
        return registry.record(name), cancelled

    record, cancelled = run_async(act())
    extra = f"; {cancelled} unfinished run(s) cancelled" if action == "terminate" else ""
    out().print(f"agent [bold]{escape(name)}[/] is {_state(record)}{extra}")


@app.command("run")
@fails_cleanly
def run(
    ctx: typer.Context,
    name: NameArg,
    input: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help='The task: text, JSON ({"task": ..., "context": {...}}) or @file.json.',
        ),
    ],
    tools_file: ToolsFiles = None,
) -> None:
    """Run a task of agent NAME on the configured model and print its result."""
    code = run_async(_run(settings_of(ctx), name, _task(input), tools_file or ()))
    raise typer.Exit(code)


def _task(value: str) -> dict[str, Any]:
    text = value.strip()
    data = parse_json(value, "--input") if text[:1] in ("{", "[", '"', "@") else value
    if isinstance(data, dict) and "task" in data:
        return data
    return {"task": data}


async def _run(settings: Settings, name: str, task: dict[str, Any], files: Sequence[Path]) -> int:
    agents_file = AgentsFile(settings)
    registry = agents_file.load()
    model = _model(registry.check_accepting(name).current)
    async with OutboundClient() as http, open_workspace(settings) as ws:
        tools = cli_registry(settings, files, http=http)
        engine = ws.engine()
        runtime = AgentRuntime(engine, registry, tools=tools, model=model)
        run = await runtime.start(
            name,
            task["task"],
            context=task.get("context"),
            constraints=task.get("constraints"),
            tenant_id=ws.tenant,
        )
        agents_file.save(registry)
        out().print(f"agent [bold]{escape(name)}[/] task: run [bold]{run.run_id}[/]")
        return await finish(ws, runtime, run.run_id, out())


async def finish(ws: Workspace, runtime: AgentRuntime, run_id: str, console: Console) -> int:
    """Drive an agent task's run with progress, then print its result; the exit code."""
    run, _ = await ws.drive(runtime.engine, run_id, console, report=False)
    if run.status is RunStatus.COMPLETED or (run.error or {}).get("type") == "AgentStopped":
        result = await runtime.result(run_id, tenant_id=ws.tenant)
        print_result(console, result)
        return EXIT_OK if result.ok else EXIT_FAILED
    return await ws.report(runtime.engine, run, console)


def print_result(console: Console, result: AgentResult) -> None:
    """An agent's execution record: outcome, tool calls, errors, usage, answer."""
    colour = "green" if result.ok else "red"
    console.print(
        f"[{colour}]{result.status}[/] ({result.stop_reason}) after {result.iterations} model "
        f"call(s) and {len(result.tool_calls)} tool call(s); {result.usage.input_tokens} tokens "
        f"in, {result.usage.output_tokens} out, ${result.usage.cost_usd:.4f}"
    )
    if result.tool_calls:
        table = Table("#", "tool", "ok", "error")
        for i, use in enumerate(result.tool_calls, 1):
            ok = "[green]ok[/]" if use.ok else "[red]error[/]"
            table.add_row(str(i), escape(use.tool), ok, escape(use.error or ""))
        console.print(table)
    for error in result.errors:
        console.print(f"[yellow]note[/] {escape(error)}", soft_wrap=True)
    if result.output is not None:
        shown = (
            result.output if isinstance(result.output, str) else json.dumps(result.output, indent=2)
        )
        console.print("[bold]answer[/]")
        console.print(escape(shown), soft_wrap=True)


def _model(agent: AgentDefinition) -> Model | None:
    """The environment's model; else ``None`` when the agent names its own."""
    try:
        return model_from_env()
    except UsageError:
        if agent.model is None:
            raise
        return None


def _state(record: AgentRecord) -> str:
    return f"[{_STATE_STYLE[record.state.value]}]{record.state.value}[/]"


def _facts(agent: AgentDefinition, record: AgentRecord) -> list[tuple[str, str]]:
    limit = agent.concurrency_limit
    facts = [
        ("type / role", f"{agent.type} / {agent.role or '-'}"),
        ("description", agent.description or "-"),
        ("status", agent.status),
        ("versions", ", ".join(sorted(record.versions))),
        ("model", json.dumps(agent.model) if agent.model is not None else "(configured)"),
        ("required tools", ", ".join(agent.required_tools) or "-"),
        ("optional tools", ", ".join(agent.optional_tools) or "-"),
        ("delegates", ", ".join(agent.delegates) or "-"),
        ("required context", ", ".join(agent.required_context) or "-"),
        (
            "limits",
            f"{agent.max_iterations} iterations, {agent.max_tool_calls} tool calls, "
            f"timeout {agent.timeout or 'none'}s, concurrency {limit or 'unlimited'}",
        ),
        (
            "approval",
            f"required by {', '.join(agent.approval_roles) or 'anyone'}"
            if agent.approval_required
            else "not required",
        ),
        ("policies", ", ".join(agent.policies) or "-"),
        ("owner", agent.owner or "-"),
    ]
    if record.source:
        facts.append(("defined in", record.source))
    return facts


NO_DEMO_MODEL = (
    "`fluxio demo agent` needs a model: the agent, not a rule, decides each ticket's category, "
    "priority and reply. (`fluxio demo` runs the same triage as a workflow, with no model.)\n"
)


def demo_agent(settings: Settings, directory: Path, reset: bool) -> int:
    """``fluxio demo agent``: the agentic triage on the configured model; the exit code."""
    try:
        model = model_from_env()
    except UsageError as exc:
        raise UsageError(
            NO_DEMO_MODEL
            + str(exc)
            + "\n  (a server that needs a key: also FLUXIO_MODEL_API_KEY=...)"
        ) from None
    return run_async(_demo_agent(settings, directory, reset, model))


async def _demo_agent(settings: Settings, directory: Path, reset: bool, model: Model) -> int:
    from fluxio.demo import folder
    from fluxio.demo.agent import start_agent_demo

    console = out()
    async with open_workspace(settings) as ws:
        key = folder.prepare(directory, reset=reset) + ":agent"
        runtime, run = await start_agent_demo(
            ws.engine(), directory, model, idempotency_key=key, tenant_id=ws.tenant
        )
        console.print(
            f"agent [bold]ticket-triager[/] triages the tickets in [bold]{escape(str(directory))}"
            f"[/] on model [bold]{escape(model.name)}[/] (run [bold]{run.run_id}[/])"
        )
        code = await finish(ws, runtime, run.run_id, console)
    drafts = sorted((directory / "drafts").glob("*.txt"))
    if drafts:
        console.print(f"{len(drafts)} draft replies in {escape(str(directory / 'drafts'))}")
    return code
