"""What the policy engine decided about one action, and why, rule by rule.

Outcomes combine by severity: ``deny`` beats ``require_approval`` beats ``transform`` beats
``allow``. Violations under ``warn`` or ``log`` enforcement are recorded in ``violations``
(and in ``policies_violated``) without changing the outcome.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from fluxio.governance.policies.model import Enforcement, ViolationAction

__all__ = ["SEVERITY", "Decision", "Effect", "Explanation", "Outcome", "Verdict", "Violation"]

Outcome = Literal["allow", "deny", "require_approval", "transform"]
Verdict = Literal["violated", "satisfied", "transformed", "not_applicable", "skipped"]
Effect = Literal["deny", "require_approval", "transform", "notify", "warn", "log", "none"]

SEVERITY: dict[str, int] = {"allow": 0, "transform": 1, "require_approval": 2, "deny": 3}
"""How outcomes combine: the most severe one wins."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one rule (or, with ``rule_id == ""``, a whole policy) did what it did.

    Attributes:
        policy_id: the policy.
        rule_id: the rule, or ``""`` when the policy as a whole did not apply.
        matched: whether the rule looked at this action (in scope, active, ``when`` true).
        verdict: ``violated``, ``satisfied``, ``transformed``, ``not_applicable`` or ``skipped``.
        effect: what it contributes to the decision (``deny``, ``require_approval``,
            ``transform``, ``notify``, ``warn``, ``log`` or ``none``).
        reason: the explanation in words.
    """

    policy_id: str
    rule_id: str
    matched: bool
    verdict: Verdict
    effect: Effect
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """This explanation as JSON-compatible data."""
        return {
            "policy": self.policy_id,
            "rule": self.rule_id,
            "matched": self.matched,
            "verdict": self.verdict,
            "effect": self.effect,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule an action broke. ``enforced`` is false under ``warn`` and ``log`` enforcement."""

    policy_id: str
    rule_id: str
    enforcement: Enforcement
    action: ViolationAction
    message: str

    @property
    def enforced(self) -> bool:
        """Whether the violation changes the outcome (strict enforcement)."""
        return self.enforcement == "strict"

    @property
    def effect(self) -> Effect:
        """What the violation does: deny, require approval, notify, or only warn/log."""
        if self.enforcement != "strict":
            return self.enforcement
        return _ACTION_EFFECT[self.action]

    def to_dict(self) -> dict[str, Any]:
        """This violation as JSON-compatible data."""
        return {
            "policy": self.policy_id,
            "rule": self.rule_id,
            "enforcement": self.enforcement,
            "action": self.action,
            "message": self.message,
        }


_ACTION_EFFECT: dict[str, Effect] = {
    "block": "deny",
    "escalate": "require_approval",
    "notify": "notify",
}


def combine(effects: Iterable[str]) -> Outcome:
    """The most severe outcome among ``effects`` (``allow`` if none is an outcome)."""
    outcome: Outcome = "allow"
    for effect in effects:
        if effect in SEVERITY and SEVERITY[effect] > SEVERITY[outcome]:
            outcome = effect  # type: ignore[assignment]
    return outcome


@dataclass(frozen=True)
class Decision:
    """The policy engine's answer for one action.

    Attributes:
        outcome: ``allow``, ``deny``, ``require_approval`` or ``transform``.
        arguments: the rewritten arguments when a transform changed them (also kept with
            ``require_approval``, so an approver sees the redacted call), else ``None``.
        policies_evaluated: ids of the policies that applied to the action.
        policies_violated: ids of the policies with a violation, enforced or not.
        violations: every violation, including the ``warn``/``log`` ones that did not block.
        checks: one explanation per rule of every evaluated policy.
        reason: a one-line summary.
    """

    outcome: Outcome
    arguments: dict[str, Any] | None
    policies_evaluated: tuple[str, ...]
    policies_violated: tuple[str, ...]
    violations: tuple[Violation, ...]
    reason: str
    _checks: Callable[[], tuple[Explanation, ...]] = field(default=tuple, repr=False, compare=False)
    _explain: Callable[[], tuple[Explanation, ...]] | None = field(
        default=None, repr=False, compare=False
    )

    @functools.cached_property
    def checks(self) -> tuple[Explanation, ...]:
        """One explanation per rule of every evaluated policy (made when first read)."""
        return self._checks()

    @property
    def allowed(self) -> bool:
        """Whether the action may run now (``allow`` or ``transform``)."""
        return self.outcome in ("allow", "transform")

    @property
    def notifications(self) -> tuple[Violation, ...]:
        """Enforced violations whose action is ``notify``: someone should hear about them."""
        return tuple(v for v in self.violations if v.effect == "notify")

    @functools.cached_property
    def explanations(self) -> tuple[Explanation, ...]:
        """Every policy's story in file order: its rules' checks, or why it did not apply."""
        return self._explain() if self._explain is not None else self.checks

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-compatible data (for audit entries and ``--json`` output)."""
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "arguments": self.arguments,
            "policies_evaluated": list(self.policies_evaluated),
            "policies_violated": list(self.policies_violated),
            "violations": [v.to_dict() for v in self.violations],
            "explanations": [e.to_dict() for e in self.explanations],
        }
