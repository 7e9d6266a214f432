"""``fluxio governance check``: validate the governance file and show what it puts in force.

Every command that starts or continues runs obeys the workspace's governance file
(``./governance.yaml``, or ``--governance FILE``); ``check`` reads it and every file it names
exactly as they do, and prints one row per setting, so a mistake shows before any run does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import settings_of
from fluxio.cli.output import fails_cleanly, out
from fluxio.errors import UsageError
from fluxio.governance.approvals import ApprovalRoute
from fluxio.governance.audit import fingerprint
from fluxio.governance.autonomy import AutonomyLevel
from fluxio.governance.budgets import Budget
from fluxio.governance.config import AuditSpec, GovernanceFile, load_governance

__all__ = ["app"]

app = typer.Typer(help="Check the governance file runs obey.", no_args_is_help=True)


@app.command("check")
@fails_cleanly
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]", help="The governance file (default: the one runs here obey)."
        ),
    ] = None,
) -> None:
    """Validate a governance file and everything it names; show what it puts in force."""
    path = file or settings_of(ctx).governance_path
    if path is None:
        raise UsageError(
            "there is no ./governance.yaml here and --governance names none; runs started here "
            "are not governed. Write one (see docs/governance.md) or pass its path"
        )
    loaded = load_governance(path)
    table = Table()
    for column in ("section", "in force"):
        table.add_column(column, overflow="fold")
    for section, text in _rows(loaded):
        table.add_row(section, escape(text))
    console = out()
    console.print(table)
    console.print(f"{escape(str(path))}: valid; runs started or continued here obey it")


def _rows(file: GovernanceFile) -> list[tuple[str, str]]:
    spec = file.spec
    policies = ", ".join(p.id for p in file.policies) or "none"
    rows = [("policies", f"{len(file.policies)}: {policies}")]
    if spec.autonomy is not None:
        autonomy = spec.autonomy
        parts = [f"default {_level(autonomy.default)}"]
        parts += [f"tenant {t} {_level(v)}" for t, v in autonomy.tenants.items()]
        parts += [f"agent {a} {_level(v)}" for a, v in autonomy.agents.items()]
        parts += [f"tool {t} {_level(v)}" for t, v in autonomy.tools.items()]
        if autonomy.allow_list:
            parts.append(f"allow-listed {', '.join(autonomy.allow_list)}")
        if autonomy.pre_approved:
            parts.append(f"{len(autonomy.pre_approved)} pre-approved routine(s)")
        rows.append(("autonomy", "; ".join(parts)))
    if spec.checkpoints is not None and spec.checkpoints.active:
        cp = spec.checkpoints
        on = [name for name in ("side_effects", "external_calls", "messages", "data_mutation")
              if getattr(cp, name)]  # fmt: skip
        if cp.cost_above is not None:
            on.append(f"cost above ${cp.cost_above:g}")
        skip = f" (never: {', '.join(cp.skip)})" if cp.skip else ""
        rows.append(("checkpoints", ", ".join(on) + skip))
    routes = spec.approvals
    if routes is not None:
        rows.append(("approvals", f"by default {_route(routes.route)}"))
        rows += [("", f"{tool}: {_route(route)}") for tool, route in routes.routes.items()]
    rows += [("budgets" if i == 0 else "", _budget(b)) for i, b in enumerate(file.budgets)]
    rows.append(("audit", _audit(file)))
    rows.append(("redaction", "audit payloads and approval details" if spec.redact else "off"))
    return rows


def _level(level: AutonomyLevel) -> str:
    return f"{int(level)} ({level.name.lower().replace('_', ' ')})"


def _route(route: ApprovalRoute) -> str:
    who = ", ".join(route.approvers) or "any person"
    text = f"{who}, rule {route.rule}"
    if route.escalate_after is not None:
        text += f", escalate after {_span(route.escalate_after)} to {', '.join(route.escalate_to)}"
    if route.expires_after is not None:
        text += f", expires after {_span(route.expires_after)} ({route.on_expiry})"
    return text


def _span(seconds: float) -> str:
    """``2d``, ``4h``, ``30m`` or ``45s``: the largest unit that divides the span."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _budget(budget: Budget) -> str:
    limits = [f"${budget.limit_usd:g}" if budget.limit_usd is not None else ""]
    limits.append(f"{budget.limit_tokens} tokens" if budget.limit_tokens is not None else "")
    limit = " and ".join(x for x in limits if x) or "no limit"
    return (
        f"{budget.name}: {limit} per {budget.scope} ({budget.per}), {budget.mode}, "
        f"on breach {budget.on_breach}"
    )


def _audit(file: GovernanceFile) -> str:
    if not file.audited:
        return "off"
    text = "on: every decision, call, approval, budget event and run"
    spec = file.spec.audit if isinstance(file.spec.audit, AuditSpec) else AuditSpec()
    if file.signing_key is not None:
        text += f"; signed by {fingerprint(file.signing_key)}"
    if spec.checkpoint_every:
        text += f", a checkpoint every {spec.checkpoint_every} entries"
    return text
