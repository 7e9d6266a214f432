"""``fluxio policy``: Check policy files and explain their decisions.

``fluxio policy check FILE`` validates a file (schema, CEL, unique ids).
``fluxio policy test FILE --action JSON`` evaluates one action and explains every rule; it
exits 0 when the action is allowed (or allowed with rewritten arguments), 1 when it is denied,
3 when it needs approval, and 2 when the file or the action is invalid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import run_async
from fluxio.cli.output import EXIT_FAILED, EXIT_OK, EXIT_WAITING, fails_cleanly, out, parse_json
from fluxio.governance.policies import (
    Decision,
    Policy,
    PolicyEngine,
    action_from_json,
    load_policies,
)

__all__ = ["app"]

app = typer.Typer(help="Check policy files and explain their decisions.", no_args_is_help=True)

EXIT_CODES = {"allow": EXIT_OK, "transform": EXIT_OK, "deny": EXIT_FAILED}
_OUTCOME_STYLE = {
    "allow": "green",
    "transform": "cyan",
    "require_approval": "yellow",
    "deny": "red",
}
_VERDICT_STYLE = {"violated": "red", "transformed": "cyan", "satisfied": "green"}

PolicyFile = Annotated[
    Path, typer.Argument(metavar="FILE", help="A YAML or JSON file of policies.")
]


@app.command("check")
@fails_cleanly
def check(file: PolicyFile) -> None:
    """Validate a policy file: its schema, every CEL condition, and unique ids."""
    policies = load_policies(file)
    table = Table()
    for column in ("policy", "status", "enforcement", "on violation", "rules", "applies to"):
        table.add_column(column, overflow="fold")
    for policy in policies:
        table.add_row(
            escape(policy.id),
            policy.status,
            policy.enforcement,
            policy.violation_action,
            escape(", ".join(f"{r.id} ({r.type})" for r in policy.rules)),
            escape(_scope(policy)),
        )
    console = out()
    console.print(table)
    rules = sum(len(p.rules) for p in policies)
    console.print(f"{escape(str(file))}: {len(policies)} policies, {rules} rules, all valid")


@app.command("test")
@fails_cleanly
def explain(
    file: PolicyFile,
    action: Annotated[
        str,
        typer.Option(
            "--action",
            "-a",
            help='The action as JSON (or @file.json): {"tool": {...}, "arguments": {...}, '
            '"actor": {...}, "agent": {...}, "tenant": ..., "run": {...}, "budget": {...}, '
            '"time": {"now": ...}}.',
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Evaluate one action against a policy file and explain every rule.

    Exit code: 0 allowed (or allowed with rewritten arguments), 1 denied, 3 needs approval,
    2 invalid file or action. Limits are counted in memory, so each test starts at zero.
    """
    policies = load_policies(file)
    subject = action_from_json(parse_json(action, "--action"))
    decision = run_async(PolicyEngine(policies).evaluate(subject))
    if as_json:
        out().print_json(json.dumps(decision.to_dict(), default=str))
    else:
        _show(decision)
    raise typer.Exit(EXIT_CODES.get(decision.outcome, EXIT_WAITING))


def _show(decision: Decision) -> None:
    console = out()
    style = _OUTCOME_STYLE[decision.outcome]
    console.print(f"decision  [bold {style}]{decision.outcome}[/]  {escape(decision.reason)}")
    console.print(f"evaluated {escape(', '.join(decision.policies_evaluated) or 'none')}")
    console.print(f"violated  {escape(', '.join(decision.policies_violated) or 'none')}")
    if decision.arguments is not None:
        console.print(f"arguments {escape(json.dumps(decision.arguments, default=str))}")
    table = Table()
    table.add_column("policy", overflow="fold")
    table.add_column("rule", overflow="fold")
    table.add_column("matched?", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("why", overflow="fold")
    for item in decision.explanations:
        verdict_style = _VERDICT_STYLE.get(item.verdict, "dim")
        effect = f" → {item.effect}" if item.effect != "none" else ""
        table.add_row(
            escape(item.policy_id),
            escape(item.rule_id or "-"),
            "yes" if item.matched else "no",
            f"[{verdict_style}]{item.verdict}[/]{effect}",
            escape(item.reason),
        )
    console.print(table)


def _scope(policy: Policy) -> str:
    applies = policy.scope.applies_to
    dimensions: dict[str, str | tuple[str, ...]] = {
        "tools": applies.tools,
        "agents": applies.agents,
        "workflows": applies.workflows,
        "kinds": applies.kinds,
    }
    parts = [f"{name} {', '.join(v)}" for name, v in dimensions.items() if v != "*"]
    if policy.scope.users != "*" or policy.scope.roles != "*":
        parts.append("some actors")
    if policy.scope.conditions:
        parts.append("when " + " && ".join(policy.scope.conditions))
    return "; ".join(parts) or "everything"
