"""Pictures and summaries of a plan: a Mermaid flowchart and a plain-text description."""

from __future__ import annotations

from fluxio.definitions.plan import Plan, PlanStep

__all__ = ["describe", "to_mermaid"]

_SHAPES = {
    "tool": ('["', '"]'),
    "agent": ('[/"', '"/]'),
    "workflow": ('[["', '"]]'),
    "decision": ('{"', '"}'),
    "wait": ('(["', '"])'),
}


def to_mermaid(plan: Plan) -> str:
    """A Mermaid ``flowchart`` of the plan: one node per step, one arrow per dependency.

    Decision branches are labelled with their condition, default and error branches dotted.
    """
    lines = ["flowchart TD"]
    for step in plan.steps:
        opening, closing = _SHAPES[step.kind]
        label = f"{step.label}<br/>{step.target}" + ("<br/>needs approval" if step.approval else "")
        lines.append(f"    {step.id}{opening}{_escape(label)}{closing}")
    for step in plan.steps:
        for dep in step.depends_on:
            if dep not in step.guarded_by:
                lines.append(f"    {dep} --> {step.id}")
        for guard in step.guarded_by:
            lines.append(_guarded_edge(plan.step(guard), step.id))
    return "\n".join(lines) + "\n"


def _guarded_edge(source: PlanStep, target: str) -> str:
    for branch in source.branches:
        if target in branch.goto:
            return f'    {source.id} -- "{_escape(branch.when.source)}" --> {target}'
    if target in source.default:
        return f"    {source.id} -. default .-> {target}"
    return f"    {source.id} -. on error .-> {target}"


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def describe(plan: Plan) -> str:
    """A few lines saying what the workflow does, step by step (used by ``fluxio validate``)."""
    trigger = plan.trigger.type
    version = f" v{plan.version}" if plan.version else ""
    out = [
        f"workflow {plan.name}{version} ({plan.file}): {len(plan.steps)} steps, trigger {trigger}"
    ]
    if plan.description:
        out.append(f"  {plan.description.strip()}")
    for step in plan.steps:
        facts = [step.target]
        if step.depends_on:
            facts.append(f"after {', '.join(step.depends_on)}")
        if step.approval:
            facts.append("needs approval")
        if step.on_error != "fail":
            goto = f" -> {step.on_error_goto}" if step.on_error_goto else ""
            facts.append(f"on error {step.on_error}{goto}")
        out.append(f"  - {step.id}: {'; '.join(facts)}")
    if plan.outputs is not None:
        names = ", ".join(name for name, _ in plan.outputs.entries)
        out.append(f"  outputs: {names}")
    return "\n".join(out)
