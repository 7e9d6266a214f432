"""One verdict per action: policies, the autonomy ladder and checkpoint triggers, combined.

- the policies (``PolicyEngine``) rule first: ``deny`` ends it; ``require_approval`` (an
  ``escalate`` violation) asks for a person; ``transform`` rewrites the arguments;
- the autonomy ladder (``AutonomySettings``): level 0 refuses side effects (a deny, recorded
  as policy ``autonomy``), level 1 turns the action into a draft, levels 2-4 may ask for a
  person (``autonomy``);
- checkpoint triggers (``Checkpoints``) ask for a person on risky calls
  (``checkpoint:<trigger>``).

Outcomes combine as ``deny`` > ``draft`` > ``approval`` > ``allow``. An approved action is
judged again with ``approved=True``: escalations no longer hold it and its limits count, but
a ``deny`` still stops it (also an approver's edit that breaks a policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.governance.approvals import Checkpoints
from fluxio.governance.autonomy import AutonomyDecision, AutonomyOutcome, AutonomySettings
from fluxio.governance.budgets.gate import CostEstimate
from fluxio.governance.policies import Action, Actor, AgentRef, PolicyEngine
from fluxio.governance.policies.context import step_action, tool_facts

__all__ = ["Judge", "Verdict"]

VerdictOutcome = Literal["allow", "deny", "draft", "approval"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What governance decided about one action, and why (JSON-able for the journal).

    Attributes:
        outcome: ``allow``, ``deny``, ``draft`` or ``approval``.
        decision: the policy engine's outcome (``allow``, ``transform``, ...) or the ladder's.
        reasons: why, in words.
        evaluated: the policies that applied.
        violated: the policies violated (``autonomy`` for the ladder).
        required_by: what asks for approval (policy ids, ``autonomy``, ``checkpoint:...``).
        arguments: arguments rewritten by ``transform`` rules, if any.
        autonomy: the effective autonomy level, when settings exist.
        violations: every violation, for the audit entry.
    """

    outcome: VerdictOutcome = "allow"
    decision: str = "allow"
    reasons: tuple[str, ...] = ()
    evaluated: tuple[str, ...] = ()
    violated: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    arguments: dict[str, Any] | None = None
    autonomy: int | None = None
    violations: tuple[dict[str, Any], ...] = field(default=())

    @property
    def reason(self) -> str:
        """The reasons as one sentence."""
        return "; ".join(self.reasons)

    @property
    def plain(self) -> bool:
        """An allow with nothing to report (its audit entry needs no payload)."""
        return self.outcome == "allow" and self.decision == "allow" and not self.violated

    def notes(self) -> dict[str, Any]:
        """The payload of the audit entry about this verdict."""
        notes: dict[str, Any] = {"decision": self.decision, "reasons": list(self.reasons)}
        if self.violations:
            notes["violations"] = list(self.violations)
        if self.autonomy is not None:
            notes["autonomy"] = self.autonomy
        return notes

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data (what the journal records)."""
        return {
            "outcome": self.outcome,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "evaluated": list(self.evaluated),
            "violated": list(self.violated),
            "required_by": list(self.required_by),
            "arguments": self.arguments,
            "autonomy": self.autonomy,
            "violations": list(self.violations),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Read what ``to_dict`` wrote."""
        return cls(
            outcome=data["outcome"],
            decision=data["decision"],
            reasons=tuple(data["reasons"]),
            evaluated=tuple(data["evaluated"]),
            violated=tuple(data["violated"]),
            required_by=tuple(data["required_by"]),
            arguments=data["arguments"],
            autonomy=data["autonomy"],
            violations=tuple(data["violations"]),
        )


class Judge:
    """Combines policies, the autonomy ladder and checkpoint triggers into a ``Verdict``.

    Verdicts that can only depend on who acts, what is called and with which arguments are
    remembered (``remembered``/``remember``): when no policy that applies to the action reads
    the run, the budget or the time, counts a limit, rewrites arguments or has effective
    dates, and no checkpoint or ``pre_approved`` condition is set, the same step judged again
    gets the same clean ``allow`` without evaluating anything.
    """

    def __init__(
        self,
        policies: PolicyEngine | None,
        autonomy: AutonomySettings | None,
        checkpoints: Checkpoints,
    ) -> None:
        self.policies = policies
        self.autonomy = autonomy
        self.checkpoints = checkpoints
        self._limited: dict[tuple[str, str], bool] = {}
        self._ladders: dict[tuple[Any, ...], AutonomyDecision] = {}
        self._static: dict[tuple[str, str], tuple[bool, bool, bool]] = {}
        self._verdicts: dict[tuple[Any, ...], tuple[Any, Verdict]] = {}
        self._reads: dict[tuple[str, str, str], bool] = {}

    # -- remembered verdicts ---------------------------------------------------------------

    def verdict_key(
        self, step: ExecuteStepInput, actor: Actor, agent: AgentRef | None
    ) -> tuple[Any, ...] | None:
        """The key under which ``step``'s verdict may be remembered, or ``None``."""
        meta = step.options.metadata
        kind, name = step_action(step)
        static = self._static.get((kind, name))
        if static is None:
            static = self._static[(kind, name)] = self._staticity(kind, name)
        cacheable, reads_arguments, reads_tool = static
        if not cacheable:
            return None
        arguments: Any = None
        if reads_arguments:
            try:
                arguments = _frozen((step.args, step.kwargs))
                hash(arguments)
            except TypeError:
                return None
        contract = id(meta.get("tool_contract")) if reads_tool or kind == "tool" else None
        return (
            kind, name, step.tenant_id, step.workflow, actor, agent,
            step.options.side_effects, contract, arguments,
        )  # fmt: skip

    def remembered(self, key: tuple[Any, ...], step: ExecuteStepInput) -> Verdict | None:
        """The verdict remembered under ``key`` (for the same tool contract object)."""
        found = self._verdicts.get(key)
        if found is None or found[0] is not step.options.metadata.get("tool_contract"):
            return None
        return found[1]

    def remember(self, key: tuple[Any, ...], step: ExecuteStepInput, verdict: Verdict) -> None:
        """Remember a clean ``allow`` (nothing violated, nothing rewritten)."""
        if not verdict.plain or verdict.arguments is not None:
            return
        if len(self._verdicts) >= 10_000:
            self._verdicts.clear()
        self._verdicts[key] = (step.options.metadata.get("tool_contract"), verdict)

    def reads(self, kind: str, name: str, variable: str) -> bool:
        """Whether a policy that may apply to ``kind`` ``name`` reads context ``variable``."""
        if self.policies is None:
            return False
        slot = (kind, name, variable)
        known = self._reads.get(slot)
        if known is None:
            probe = Action(kind=kind, name=name)  # type: ignore[arg-type]
            candidates = self.policies.policies.candidates(probe)
            known = self._reads[slot] = any(variable in p.names for p in candidates)
        return known

    def _staticity(self, kind: str, name: str) -> tuple[bool, bool, bool]:
        """(remembering is safe, the policies read ``arguments``, they read ``tool``)."""
        if self.checkpoints.active or (self.autonomy is not None and self.autonomy.pre_approved):
            return False, False, False
        if self.policies is None:
            return True, False, False
        probe = Action(kind=kind, name=name)  # type: ignore[arg-type]
        names: set[str] = set()
        for policy in self.policies.policies.candidates(probe):
            if policy.starts is not None or policy.ends is not None:
                return False, False, False
            if any(rule.rule.type in ("limit", "transform") for rule in policy.rules):
                return False, False, False
            names |= policy.names
        if names - _STATIC_VARIABLES:
            return False, False, False
        return True, "arguments" in names, "tool" in names

    def counts_limits(self, action: Action) -> bool:
        """Whether judging ``action`` may count a ``limit`` rule (then journal the verdict)."""
        if self.policies is None:
            return False
        slot = (action.kind, action.name)
        known = self._limited.get(slot)
        if known is None:
            known = any(
                rule.rule.type == "limit"
                for policy in self.policies.policies.candidates(action)
                for rule in policy.rules
            )
            self._limited[slot] = known
        return known

    async def judge(
        self, action: Action, estimate: CostEstimate | None, *, approved: bool = False
    ) -> Verdict:
        """The verdict on ``action`` (``approved``: a person already said yes)."""
        parts = _Parts()
        if self.policies is not None:
            decision = await self.policies.evaluate(action, approved=approved)
            parts.decision, parts.arguments = decision.outcome, decision.arguments
            parts.evaluated = list(decision.policies_evaluated)
            parts.violated = list(decision.policies_violated)
            parts.violations = [v.to_dict() for v in decision.violations]
            parts.required += [
                v.policy_id for v in decision.violations if v.effect == "require_approval"
            ]
            if decision.outcome in ("deny", "require_approval"):
                parts.reasons.append(decision.reason)
            if decision.outcome == "deny":
                parts.outcome = "deny"
                return parts.verdict()
        if not approved:
            self._ladder(action, parts)
            self._triggers(action, estimate, parts)
        if parts.outcome == "allow" and parts.required:
            parts.outcome = "approval"
        return parts.verdict()

    def _ladder(self, action: Action, parts: _Parts) -> None:
        if self.autonomy is None:
            return
        ladder = self._ladder_for(action)
        parts.autonomy = int(ladder.level)
        said = f"autonomy level {int(ladder.level)} ({ladder.source}): {ladder.reason}"
        if ladder.outcome is AutonomyOutcome.REFUSE:
            parts.outcome = parts.decision = "deny"
            parts.violated.append("autonomy")
            parts.reasons.append(said)
        elif ladder.outcome is AutonomyOutcome.DRAFT:
            parts.outcome = parts.decision = "draft"
            parts.reasons.append(said)
        elif ladder.waits_for_a_person:
            parts.required.append("autonomy")
            parts.reasons.append(said)

    def _ladder_for(self, action: Action) -> AutonomyDecision:
        """The ladder's decision; remembered per kind of action when no ``pre_approved``
        condition (which reads the whole context) can change it."""
        assert self.autonomy is not None
        if self.autonomy.pre_approved:
            return self.autonomy.decide(action)
        agent = action.agent
        key = (
            action.tenant, action.kind, action.name, action.changes_world,
            (agent.id, agent.name, agent.autonomy) if agent is not None else None,
        )  # fmt: skip
        known = self._ladders.get(key)
        if known is None:
            known = self.autonomy.decide(action)
            if len(self._ladders) < 10_000:
                self._ladders[key] = known
        return known

    def _triggers(self, action: Action, estimate: CostEstimate | None, parts: _Parts) -> None:
        if not self.checkpoints.active or parts.outcome != "allow":
            return
        facts = tool_facts(action.tool, action.name) if action.kind == "tool" else {}
        cost = estimate.usd if estimate is not None else 0.0
        hits = self.checkpoints.triggered(action.kind, action.name, facts, cost)
        if hits:
            parts.required += hits
            parts.reasons.append(f"checkpoint: {', '.join(h.split(':', 1)[1] for h in hits)}")


_STATIC_VARIABLES = frozenset({"actor", "tenant", "agent", "tool", "arguments", "action"})
"""The context variables a remembered verdict may depend on (all are in its key)."""


def _frozen(value: Any) -> Any:
    """A hashable stand-in for ``value`` that tells ``1``, ``1.0`` and ``True`` apart."""
    kind = type(value)
    if kind is dict:
        return (dict, tuple((k, _frozen(v)) for k, v in value.items()))
    if kind is list or kind is tuple:
        return (kind, tuple(_frozen(v) for v in value))
    if kind in (str, int, float, bool) or value is None:
        return (kind, value)
    raise TypeError(f"not frozen: {kind.__name__}")


@dataclass
class _Parts:
    """A verdict while it is being put together."""

    outcome: VerdictOutcome = "allow"
    decision: str = "allow"
    reasons: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    violated: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    arguments: dict[str, Any] | None = None
    autonomy: int | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)

    def verdict(self) -> Verdict:
        return Verdict(
            self.outcome,
            self.decision,
            tuple(self.reasons),
            tuple(self.evaluated),
            tuple(self.violated),
            tuple(dict.fromkeys(self.required)),
            self.arguments if self.outcome != "deny" else None,
            self.autonomy,
            tuple(self.violations),
        )
