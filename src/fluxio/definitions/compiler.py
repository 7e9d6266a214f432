"""Turn a shape-checked ``WorkflowSpec`` into a ``Plan``, checking every reference on the way.

Each check raises ``DefinitionError`` with the file, the line of the offending value and a
suggestion; nothing here runs user code.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from fluxio.agents import workflow_name
from fluxio.definitions.agents import AgentResolver
from fluxio.definitions.arguments import check_arguments
from fluxio.definitions.graph import find_cycle, reduce_edges
from fluxio.definitions.mapping import DataMapping, MappedValue, compile_mapping, compile_value
from fluxio.definitions.plan import Branch, Plan, PlanStep, WaitPlan
from fluxio.definitions.schema import StepSpec, WorkflowSpec
from fluxio.definitions.source import Path, Source
from fluxio.definitions.tools import ToolResolver, closest
from fluxio.engine.options import RetryPolicy, StepOptions
from fluxio.errors import DefinitionError, UsageError
from fluxio.expressions import CelExpression, compile_cel

__all__ = ["STEP_TYPES", "compile_plan"]

STEP_TYPES = ("tool", "agent", "workflow", "decision", "wait")
DATA_ROOTS = ("input", "steps")
OUTPUT_ROOTS = ("result", "input", "steps")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CEL_STEP_REF = re.compile(r"\bsteps\s*\.\s*([A-Za-z_]\w*)")
_COMMON = {"id", "type", "name", "description", "depends_on", "on_error", "on_error_goto"}
_KIND_FIELDS = {
    "tool": {"tool", "executor", "inputs", "outputs", "timeout", "approval", "retry_config"},
    "workflow": {"workflow", "executor", "inputs", "outputs"},
    "decision": {"branches", "default"},
    "wait": {"wait_for", "timeout", "outputs"},
    "agent": {"agent", "executor", "inputs", "outputs", "timeout"},
}


def compile_plan(
    spec: WorkflowSpec, source: Source, tools: ToolResolver, agents: AgentResolver | None = None
) -> Plan:
    """Check ``spec`` against itself, ``tools`` and ``agents`` and compile it into a ``Plan``.

    Raises:
        DefinitionError: the first problem found, with file, line and a suggestion.
    """
    return _Compiler(spec, source, tools, agents).compile()


class _Compiler:
    def __init__(
        self,
        spec: WorkflowSpec,
        source: Source,
        tools: ToolResolver,
        agents: AgentResolver | None = None,
    ) -> None:
        self.spec = spec
        self.source = source
        self.tools = tools
        self.agents = agents
        self.ids: tuple[str, ...] = ()
        self.deps: dict[str, list[str]] = {}
        self.guards: dict[str, list[str]] = {}

    def compile(self) -> Plan:
        self.ids = self._check_ids()
        for i, step in enumerate(self.spec.steps):
            self._check_fields(i, step)
        approvals = self._approval_points()
        drafts = [self._step(i, s, s.id in approvals) for i, s in enumerate(self.spec.steps)]
        for draft in drafts:
            for target in draft.targets:
                self._depend(target, draft.id)
                self.guards.setdefault(target, []).append(draft.id)
        self._check_cycles()
        self.deps = reduce_edges(self.ids, self.deps)
        steps = tuple(
            replace(
                d,
                depends_on=self._ordered(self.deps[d.id]),
                guarded_by=self._ordered(self.guards.get(d.id, [])),
            )
            for d in drafts
        )
        self._check_trigger()
        self._check_compatible(drafts)
        return Plan(
            self.spec.name,
            self.spec.description,
            self.source.file,
            steps,
            self._workflow_outputs(),
            self.spec.trigger,
            self.spec.version,
        )

    def _check_compatible(self, drafts: list[PlanStep]) -> None:
        """The tools used together must not conflict and must have what they require."""
        check = getattr(self.tools, "check_compatible", None)
        names = sorted({d.tool.name for d in drafts if d.tool is not None})
        if check is None or not names:
            return
        try:
            check(names)
        except UsageError as exc:
            raise self.source.error(str(exc), ("steps",)) from exc

    # -- ids, types, fields ------------------------------------------------------------

    def _check_ids(self) -> tuple[str, ...]:
        first: dict[str, int] = {}
        for i, step in enumerate(self.spec.steps):
            path = ("steps", i, "id")
            if not _ID.match(step.id):
                fixed = re.sub(r"\W", "_", step.id)
                fixed = fixed if _ID.match(fixed) else f"_{fixed}"
                raise self.source.error(
                    f"step id {step.id!r} is not valid: ids are letters, digits and '_' and "
                    "do not start with a digit (expressions refer to them as steps.<id>)",
                    path,
                    suggestion=f"Rename it, e.g. to {fixed!r}.",
                )
            if step.id in first:
                line = self.source.lines.line(("steps", first[step.id]))
                raise self.source.error(
                    f"step id {step.id!r} is used twice (first on line {line})",
                    path,
                    suggestion="Step ids must be unique; rename one of the two steps.",
                )
            first[step.id] = i
        return tuple(first)

    def _check_fields(self, i: int, step: StepSpec) -> None:
        path: Path = ("steps", i, "type")
        if step.type not in STEP_TYPES:
            hint = closest(step.type, list(STEP_TYPES))
            valid = "Valid types: tool, agent, workflow, decision, wait."
            raise self.source.error(
                f"step {step.id!r} has unknown type {step.type!r}",
                path,
                suggestion=f"Did you mean {hint!r}? {valid}" if hint else valid,
            )
        allowed = _COMMON | _KIND_FIELDS[step.type]
        for name in sorted(step.model_fields_set - allowed):
            raise self.source.error(
                f"step {step.id!r}: `{name}` does not apply to {step.type} steps",
                ("steps", i, name),
                suggestion=f"Fields of {step.type} steps: "
                f"{', '.join(sorted(allowed - {'executor'}))}.",
            )

    def _approval_points(self) -> set[str]:
        for j, step_id in enumerate(self.spec.approval_points):
            path = ("approval_points", j)
            self._ref(step_id, path, what="approval point")
            step = self.spec.steps[self.ids.index(step_id)]
            if step.type != "tool":
                raise self.source.error(
                    f"approval point {step_id!r} is a {step.type} step; approval points are "
                    "tool steps",
                    path,
                    suggestion="To pause for a person elsewhere, add a step with "
                    "`type: wait` and `wait_for: approval`.",
                )
        return set(self.spec.approval_points)

    # -- steps -------------------------------------------------------------------------

    def _step(self, i: int, step: StepSpec, approval_point: bool) -> PlanStep:
        path: Path = ("steps", i)
        self.deps[step.id] = []
        for j, dep in enumerate(step.depends_on):
            self._ref(dep, (*path, "depends_on", j), what="depends_on entry", owner=step.id)
            self._depend(step.id, dep)
        self._check_on_error(i, step)
        inputs = self._mapping(step, i, "inputs", step.inputs, ("input", "steps"))
        outputs = None
        if step.outputs is not None:
            outputs = self._mapping(step, i, "outputs", step.outputs, OUTPUT_ROOTS)
        base = PlanStep(
            step.id,
            "tool",
            step.name or step.id,
            self.source.lines.line(path),
            inputs=inputs,
            outputs=outputs,
            on_error=step.on_error,
            on_error_goto=step.on_error_goto,
        )
        if step.type == "tool":
            return self._tool_step(i, step, base, approval_point)
        if step.type == "agent":
            return self._agent_step(i, step, base)
        if step.type == "workflow":
            name = self._executor(i, step, step.workflow, "workflow")
            return replace(base, kind="workflow", workflow=name)
        if step.type == "decision":
            return self._decision_step(i, step, base)
        return self._wait_step(i, step, base)

    def _tool_step(self, i: int, step: StepSpec, base: PlanStep, approval: bool) -> PlanStep:
        name = self._executor(i, step, step.tool, "tool")
        tool = self.tools.get(name)
        path: Path = ("steps", i, "tool" if step.tool else "executor")
        if tool is None:
            known = self.tools.names()
            hint = closest(name, known)
            listing = (
                f"Registered tools: {', '.join(known)}."
                if known
                else "No tools are registered; add them with ToolRegistry.register()."
            )
            raise self.source.error(
                f"step {step.id!r} calls unknown tool {name!r}",
                path,
                suggestion=f"Did you mean {hint!r}? {listing}" if hint else listing,
            )
        check_arguments(
            tool,
            step.id,
            [n for n, _ in base.inputs.entries],
            self.source,
            ("steps", i, "inputs"),
            path,
        )
        explicit = step.retry_config is not None or step.on_error == "retry"
        options = StepOptions(
            retry=_retry_policy(step)
            if explicit
            else (tool.options.retry or RetryPolicy(max_attempts=1)),
            timeout=step.timeout or tool.options.timeout,
            side_effects=tool.options.side_effects,
            idempotent=tool.options.idempotent,
            metadata={**tool.options.metadata, "step": step.id, "workflow": self.spec.name},
        )
        return replace(base, tool=tool, options=options, approval=step.approval or approval)

    def _agent_step(self, i: int, step: StepSpec, base: PlanStep) -> PlanStep:
        name = self._executor(i, step, step.agent, "agent")
        path: Path = ("steps", i, "agent" if step.agent else "executor")
        if self.agents is None:
            raise self.source.error(
                f"step {step.id!r} runs agent {name!r}, but no agents were given to the loader",
                path,
                suggestion="Pass load_workflow(..., agents=<AgentRegistry>) with the agent in it.",
            )
        agent = self.agents.get(name)
        if agent is None:
            known = self.agents.names()
            hint = closest(name, known)
            listing = f"Registered agents: {', '.join(known)}." if known else "No agents exist."
            raise self.source.error(
                f"step {step.id!r} runs unknown agent {name!r}",
                path,
                suggestion=f"Did you mean {hint!r}? {listing}" if hint else listing,
            )
        given = [n for n, _ in base.inputs.entries]
        missing = [k for k in ("task", *agent.required_context) if k not in given]
        if missing:
            raise self.source.error(
                f"agent step {step.id!r} does not give {', '.join(map(repr, missing))}",
                ("steps", i, "inputs") if step.inputs else ("steps", i),
                suggestion="Add them under `inputs`: `task` is the agent's task, every other "
                "input becomes a key of its context.",
            )
        options = StepOptions(timeout=step.timeout)
        return replace(
            base, kind="agent", agent=name, workflow=workflow_name(name), options=options
        )

    def _decision_step(self, i: int, step: StepSpec, base: PlanStep) -> PlanStep:
        path: Path = ("steps", i)
        if not step.branches and not step.default:
            raise self.source.error(
                f"decision step {step.id!r} has no branches",
                path,
                suggestion="Add `branches: [{when: <CEL condition>, goto: [step ids]}]` and "
                "optionally `default: [step ids]`.",
            )
        branches = []
        for k, branch in enumerate(step.branches):
            bpath = (*path, "branches", k)
            when = self._cel(branch.when, (*bpath, "when"), step.id)
            for j, target in enumerate(branch.goto):
                self._ref(target, (*bpath, "goto", j), what="branch target", owner=step.id)
            branches.append(Branch(when, tuple(branch.goto)))
        for j, target in enumerate(step.default):
            self._ref(target, (*path, "default", j), what="default target", owner=step.id)
        return replace(base, kind="decision", branches=tuple(branches), default=tuple(step.default))

    def _wait_step(self, i: int, step: StepSpec, base: PlanStep) -> PlanStep:
        path: Path = ("steps", i, "wait_for")
        spec = step.wait_for
        if spec is None:
            raise self.source.error(
                f"wait step {step.id!r} does not say what to wait for",
                ("steps", i),
                suggestion="Add `wait_for: {type: approval}`, `{type: event, event: <name>}` "
                "or `{type: duration, duration: 30s}`.",
            )
        if step.timeout is not None and spec.timeout is not None:
            raise self.source.error(
                f"wait step {step.id!r} sets a timeout twice",
                ("steps", i, "timeout"),
                suggestion="Keep only `wait_for.timeout`.",
            )
        timeout = spec.timeout if spec.timeout is not None else step.timeout
        problem = _wait_problem(spec.type, spec.event, spec.duration, timeout, spec.on_timeout)
        if problem:
            message, hint = problem
            raise self.source.error(f"wait step {step.id!r}: {message}", path, suggestion=hint)
        plan = WaitPlan(spec.type, spec.event, spec.duration, timeout, spec.on_timeout)
        return replace(base, kind="wait", wait=plan)

    # -- references --------------------------------------------------------------------

    def _executor(self, i: int, step: StepSpec, value: str | None, field: str) -> str:
        if value is not None and step.executor is not None:
            raise self.source.error(
                f"step {step.id!r} sets both `{field}` and `executor`",
                ("steps", i, "executor"),
                suggestion=f"Keep only `{field}`.",
            )
        name = value or step.executor
        if not name:
            raise self.source.error(
                f"{step.type} step {step.id!r} does not say which {field} to run",
                ("steps", i),
                suggestion=f"Add `{field}: <name>`.",
            )
        return name

    def _check_on_error(self, i: int, step: StepSpec) -> None:
        path: Path = ("steps", i, "on_error")
        if step.on_error == "branch" and not step.on_error_goto:
            raise self.source.error(
                f"step {step.id!r} has `on_error: branch` but no step to branch to",
                path,
                suggestion="Add `on_error_goto: <step id>` naming the step that handles it.",
            )
        if step.on_error_goto and step.on_error != "branch":
            raise self.source.error(
                f"step {step.id!r} sets `on_error_goto` but `on_error` is {step.on_error!r}",
                ("steps", i, "on_error_goto"),
                suggestion="Set `on_error: branch`.",
            )
        if step.on_error_goto:
            self._ref(
                step.on_error_goto,
                ("steps", i, "on_error_goto"),
                what="on_error_goto target",
                owner=step.id,
            )
        if step.on_error == "retry" and step.type != "tool":
            raise self.source.error(
                f"step {step.id!r}: only tool steps can retry",
                path,
                suggestion="Use `on_error: fail`, `skip` or `branch` here.",
            )

    def _ref(self, step_id: str, path: Path, *, what: str, owner: str | None = None) -> None:
        if step_id == owner:
            raise self.source.error(
                f"step {owner!r} names itself as its own {what}",
                path,
                suggestion="A step cannot wait for, read or choose itself.",
            )
        if step_id not in self.ids:
            hint = closest(step_id, list(self.ids))
            raise self.source.error(
                f"{what} {step_id!r} is not a step of this workflow",
                path,
                suggestion=f"Did you mean {hint!r}?"
                if hint
                else f"Defined steps: {', '.join(self.ids)}.",
            )

    def _depend(self, step_id: str, dep: str) -> None:
        deps = self.deps.setdefault(step_id, [])
        if dep not in deps:
            deps.append(dep)

    def _mapping(
        self, step: StepSpec, i: int, field: str, raw: dict[str, Any], roots: tuple[str, ...]
    ) -> DataMapping:
        mapping, refs = compile_mapping(
            raw,
            self.source,
            ("steps", i, field),
            label=f"step {step.id!r} {field[:-1]}",
            roots=roots,
            step_ids=self.ids,
        )
        self._reads(step.id, refs, ("steps", i, field))
        return mapping

    def _reads(self, step_id: str, refs: set[str], path: Path) -> None:
        for ref in sorted(refs, key=self.ids.index):
            if ref == step_id:
                raise self.source.error(
                    f"step {step_id!r} reads its own output",
                    path,
                    suggestion="A step's inputs can only read earlier steps and the run input.",
                )
            self._depend(step_id, ref)

    def _cel(self, text: str, path: Path, step_id: str | None) -> CelExpression:
        try:
            expression = compile_cel(text)
        except DefinitionError as exc:
            raise self.source.error(exc.message, path, suggestion=exc.suggestion) from exc
        refs = set(_CEL_STEP_REF.findall(text))
        for ref in refs:
            self._ref(ref, path, what="step", owner=None)
        if step_id is not None:
            self._reads(step_id, refs, path)
        return expression

    def _check_cycles(self) -> None:
        cycle = find_cycle(self.ids, self.deps)
        if cycle is None:
            return
        chain = ", which depends on ".join(repr(s) for s in cycle)
        raise self.source.error(
            f"steps depend on each other in a cycle: {chain}",
            ("steps", self.ids.index(cycle[0])),
            suggestion="Remove one of these dependencies (a depends_on entry, a "
            "`steps.<id>` reference in inputs or conditions, or a branch target).",
        )

    def _ordered(self, ids: list[str]) -> tuple[str, ...]:
        return tuple(sorted(set(ids), key=self.ids.index))

    # -- workflow level ----------------------------------------------------------------

    def _workflow_outputs(self) -> DataMapping | None:
        outputs = self.spec.outputs
        if outputs is None:
            return None
        if isinstance(outputs, dict):
            mapping, _ = compile_mapping(
                outputs,
                self.source,
                ("outputs",),
                label="workflow output",
                roots=DATA_ROOTS,
                step_ids=self.ids,
            )
            return mapping
        entries: list[tuple[str, MappedValue]] = []
        for j, item in enumerate(outputs):
            if any(name == item.name for name, _ in entries):
                raise self.source.error(
                    f"workflow output {item.name!r} is defined twice",
                    ("outputs", j),
                    suggestion="Give each output a distinct name.",
                )
            value, _ = compile_value(
                item.source,
                self.source,
                ("outputs", j, "source"),
                label=f"workflow output {item.name!r}",
                roots=DATA_ROOTS,
                step_ids=self.ids,
            )
            entries.append((item.name, value))
        return DataMapping(tuple(entries))

    def _check_trigger(self) -> None:
        trigger = self.spec.trigger
        spec = trigger.specification
        path: Path = ("trigger",)
        needed = {
            "scheduled": ("cron", spec.cron),
            "event": ("event_type", spec.event_type),
            "condition": ("condition", spec.condition),
        }.get(trigger.type)
        if needed is not None and not needed[1]:
            raise self.source.error(
                f"a {trigger.type} trigger needs `specification.{needed[0]}`",
                path,
                suggestion=f"Add `specification: {{{needed[0]}: ...}}` under `trigger`.",
            )
        if spec.cron is not None and len(spec.cron.split()) not in (5, 6):
            raise self.source.error(
                f"cron expression {spec.cron!r} should have 5 fields",
                ("trigger", "specification", "cron"),
                suggestion="Write minute hour day-of-month month day-of-week, e.g. '0 9 * * 1'.",
            )
        if spec.condition is not None:
            self._cel(spec.condition, ("trigger", "specification", "condition"), None)


def _retry_policy(step: StepSpec) -> RetryPolicy:
    if step.on_error != "retry" and step.retry_config is None:
        return RetryPolicy(max_attempts=1)
    config = step.retry_config
    if config is None:
        return RetryPolicy(max_attempts=3, initial=1.0, max_delay=60.0)
    return RetryPolicy(
        max_attempts=config.max_attempts,
        backoff=config.backoff,
        initial=config.initial_delay,
        multiplier=config.multiplier,
        max_delay=config.max_delay,
    )


def _wait_problem(
    kind: str, event: str | None, duration: float | None, timeout: float | None, on_timeout: str
) -> tuple[str, str] | None:
    if kind == "event" and not event:
        return "waiting for an event needs its name", "Add `event: <signal name>` to wait_for."
    if kind == "duration" and duration is None:
        return "waiting for a duration needs `duration`", "Add e.g. `duration: 10m` to wait_for."
    if kind != "event" and event is not None:
        return f"`event` only applies to event waits, not {kind}", "Remove `event`."
    if kind != "duration" and duration is not None:
        return f"`duration` only applies to duration waits, not {kind}", "Remove `duration`."
    if kind == "duration" and timeout is not None:
        return "a duration wait cannot have a timeout", "Remove `timeout`."
    if on_timeout == "approve" and kind != "approval":
        return "`on_timeout: approve` only applies to approvals", "Use `fail` or `skip`."
    if on_timeout != "fail" and timeout is None:
        return f"`on_timeout: {on_timeout}` needs a `timeout`", "Add e.g. `timeout: 1h`."
    return None
