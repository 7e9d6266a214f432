"""The policy engine: evaluates an ``Action`` against a ``PolicySet`` and explains the decision.

For each policy that can apply (active, in its effective window, in scope, scope conditions
true) every rule is checked against the context built from the action:

1. ``require`` and ``forbid`` rules test their condition; ``transform`` rules rewrite a copy of
   the arguments (conditions always see the arguments as called).
2. ``limit`` rules are counted last, and only if the action may run: a denied action consumes
   no limit, an action waiting for approval only checks the count (it is counted when it runs,
   ``evaluate(..., approved=True)``), and hits already counted are given back if a later limit
   blocks the action.
3. Outcomes combine: deny > require_approval > transform > allow.

A condition that cannot be evaluated (a missing field, a wrong type) fails closed: the rule
counts as violated and the explanation carries the error. Guard optional fields with ``has()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from fluxio.errors import UsageError
from fluxio.governance.policies.conditions import Condition
from fluxio.governance.policies.context import Action, build_context
from fluxio.governance.policies.decision import (
    Decision,
    Effect,
    Explanation,
    Verdict,
    Violation,
    combine,
)
from fluxio.governance.policies.limits import LimitCounter, MemoryLimitCounter
from fluxio.governance.policies.model import Policy
from fluxio.governance.policies.policyset import CompiledPolicy, CompiledRule, PolicySet
from fluxio.governance.policies.transforms import Redactor, RedactorFactory, apply_transform

__all__ = ["PolicyEngine"]

_log = logging.getLogger("fluxio.policies")
_Check = tuple[int, int, tuple[Any, ...]]  # policy index, rule position, Explanation fields
SCOPE_RULE = "(scope)"
"""The rule id of a violation raised by a scope condition that could not be evaluated."""


class PolicyEngine:
    """Decides whether actions may run, under a set of policies.

    Args:
        policies: a ``PolicySet`` or the policies to compile into one.
        counter: where ``limit`` rules count; defaults to an in-memory counter (one process).
        redactor_for: makes the ``Redactor`` for a transform's ``redact_entities``.
        clock: seconds since the epoch, for effective dates, limit windows and ``time``.
    """

    def __init__(
        self,
        policies: PolicySet | Iterable[Policy],
        *,
        counter: LimitCounter | None = None,
        redactor_for: RedactorFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policies = policies if isinstance(policies, PolicySet) else PolicySet(policies)
        self.counter: LimitCounter = counter or MemoryLimitCounter()
        self._clock = clock
        self._redactors: dict[tuple[str, ...], Redactor] = {}
        self._read: dict[int, tuple[tuple[CompiledPolicy, ...], frozenset[str]]] = {}
        if redactor_for is not None:
            for policy in self.policies:
                for rule in policy.rules:
                    entities = rule.transform.redact_entities if rule.transform else ()
                    if entities and entities not in self._redactors:
                        self._redactors[entities] = redactor_for(entities)

    def redactor(self, entities: tuple[str, ...]) -> Redactor | None:
        """The redactor made for ``entities``, if a factory was given."""
        return self._redactors.get(entities)

    async def evaluate(self, action: Action, *, approved: bool = False) -> Decision:
        """Decide about ``action``.

        Args:
            action: what is about to happen.
            approved: a person already approved this action; ``escalate`` violations no
                longer hold it, and its limits are counted now.
        """
        now = action.now.timestamp() if action.now is not None else self._clock()
        candidates = self.policies.candidates(action)
        context = build_context(action, now, self._variables(candidates))
        run = _Evaluation(self, action, context, now, approved)
        for policy in candidates:
            run.visit(policy)
        await run.count_limits()
        return run.decision()

    def _variables(self, candidates: tuple[CompiledPolicy, ...]) -> frozenset[str]:
        """The context variables ``candidates`` read (and ``arguments``, which transforms
        rewrite); the context is built with only these."""
        known = self._read.get(id(candidates))
        if known is None or known[0] is not candidates:
            names = frozenset({"arguments"}).union(*(p.names for p in candidates))
            known = self._read[id(candidates)] = (candidates, names)
        return known[1]


class _Evaluation:
    """The working state of one ``evaluate`` call."""

    def __init__(
        self,
        engine: PolicyEngine,
        action: Action,
        context: dict[str, Any],
        now: float,
        approved: bool,
    ) -> None:
        self.engine, self.action, self.context = engine, action, context
        self.now, self.approved = now, approved
        self.checks: list[_Check] = []
        self.violations: list[Violation] = []
        self.effects: list[str] = []
        self.evaluated: list[str] = []
        self.skipped: dict[str, str] = {}
        self.limits: list[tuple[CompiledPolicy, int, CompiledRule]] = []
        self.arguments: dict[str, Any] | None = None
        self.transformed_by: list[str] = []

    # -- scope -----------------------------------------------------------------------

    def visit(self, policy: CompiledPolicy) -> None:
        reason = policy.inactive(self.now)
        if reason is None and not policy.everywhere:
            reason = policy.out_of_scope(self.action)
        if reason is None:
            reason = self._scope_conditions(policy)
        if reason is not None:
            self.skipped[policy.id] = reason
            return
        self.evaluated.append(policy.id)
        if self._scope_error(policy):
            return
        for position, rule in enumerate(policy.rules):
            self._check(policy, position, rule)

    def _scope_conditions(self, policy: CompiledPolicy) -> str | None:
        for condition in policy.conditions:
            holds, error = self._test(condition)
            if error is None and not holds:
                return f"scope condition `{condition.source}` is false"
        return None

    def _scope_error(self, policy: CompiledPolicy) -> bool:
        """A scope condition that cannot be evaluated fails closed: a violation of the policy."""
        for condition in policy.conditions:
            error = self._test(condition)[1]
            if error is not None:
                self._violate(policy, -1, f"scope condition could not be evaluated: {error}")
                return True
        return False

    def _test(self, condition: Condition) -> tuple[bool, str | None]:
        try:
            return condition.test(self.context), None
        except UsageError as exc:
            return False, str(exc)

    # -- rules -----------------------------------------------------------------------

    def _check(self, policy: CompiledPolicy, position: int, rule: CompiledRule) -> None:
        if rule.when is not None:
            applies, error = self._test(rule.when)
            if error is not None:
                self._violate(policy, position, f"`when` could not be evaluated: {error}")
                return
            if not applies:
                reason = f"`when` {rule.when.source} is false"
                self._explain(policy, position, False, "not_applicable", "none", reason)
                return
        kind = rule.rule.type
        if kind == "limit":
            self.limits.append((policy, position, rule))
        elif kind == "transform":
            self._transform(policy, position, rule)
        else:
            self._test_rule(policy, position, rule)

    def _test_rule(self, policy: CompiledPolicy, position: int, rule: CompiledRule) -> None:
        assert rule.condition is not None  # guaranteed by Rule validation
        holds, error = self._test(rule.condition)
        source = rule.condition.source
        if error is not None:
            self._violate(policy, position, f"could not be evaluated, so it fails closed: {error}")
        elif holds == (rule.rule.type == "forbid"):
            verb = "forbidden condition holds" if holds else "required condition is false"
            self._violate(policy, position, f"{verb}: {source}")
        else:
            verb = "forbidden condition is false" if rule.rule.type == "forbid" else "holds"
            self._explain(policy, position, True, "satisfied", "none", f"{verb}: {source}")

    def _transform(self, policy: CompiledPolicy, position: int, rule: CompiledRule) -> None:
        spec = rule.rule.transform
        assert spec is not None  # guaranteed by Rule validation
        base = self.arguments if self.arguments is not None else self.context["arguments"]
        try:
            rewritten, changes = apply_transform(
                base, spec, self.engine.redactor(spec.redact_entities)
            )
        except UsageError as exc:
            self._violate(policy, position, f"the transform could not run: {exc}")
            return
        if not changes:
            self._explain(policy, position, True, "satisfied", "none", "nothing to rewrite")
            return
        mode = policy.policy.enforcement
        if mode != "strict":
            reason = f"would have {'; '.join(changes)} ({mode} only)"
            self._explain(policy, position, True, "transformed", mode, reason)
            return
        self.arguments = rewritten
        self.effects.append("transform")
        self.transformed_by.append(f"{policy.id}/{rule.rule.id}")
        self._explain(policy, position, True, "transformed", "transform", "; ".join(changes))

    # -- limits ----------------------------------------------------------------------

    async def count_limits(self) -> None:
        if not self.limits:
            return
        provisional = combine(self.effects)
        if provisional == "deny":
            for policy, position, _ in self.limits:
                reason = "not counted: the action is denied by another rule"
                self._explain(policy, position, True, "skipped", "none", reason)
            return
        counted: list[tuple[str, int, int]] = []
        for policy, position, rule in self.limits:
            await self._limit(policy, position, rule, provisional, counted)
        if counted and combine(self.effects) not in ("allow", "transform"):
            for key, start, check in counted:
                await self.engine.counter.release(self.action.tenant, key, start)
                index, position, fields = self.checks[check]
                reason = f"{fields[-1]}; given back: the action does not run"
                self.checks[check] = (index, position, (*fields[:-1], reason))

    async def _limit(
        self,
        policy: CompiledPolicy,
        position: int,
        rule: CompiledRule,
        provisional: str,
        counted: list[tuple[str, int, int]],
    ) -> None:
        spec = rule.rule.limit
        assert spec is not None  # guaranteed by Rule validation
        key = limit_key(policy, rule, self.action)
        start = int(self.now // rule.period) * rule.period
        counter, tenant = self.engine.counter, self.action.tenant
        window = f"per {spec.period} for {key}"
        if provisional == "require_approval" and not self.approved:
            used = await counter.count(tenant, key, start)
            if used >= spec.count:
                self._violate(policy, position, f"limit {spec.count} {window} reached")
            else:
                reason = f"{used}/{spec.count} {window}; counted when the action runs"
                self._explain(policy, position, True, "satisfied", "none", reason)
            return
        hit = await counter.hit(tenant, key, start, spec.count)
        if not hit.allowed:
            self._violate(policy, position, f"limit {spec.count} {window} reached")
            return
        counted.append((key, start, len(self.checks)))
        reason = f"{hit.count}/{spec.count} {window}"
        self._explain(policy, position, True, "satisfied", "none", reason)

    # -- results ---------------------------------------------------------------------

    def _violate(self, policy: CompiledPolicy, position: int, reason: str) -> None:
        spec, rule_id = policy.policy, _rule_id(policy, position)
        custom = policy.rules[position].rule.message if position >= 0 else None
        violation = Violation(
            policy.id, rule_id, spec.enforcement, spec.violation_action, custom or reason
        )
        self.violations.append(violation)
        effect: Effect = violation.effect
        if effect == "require_approval" and self.approved:
            effect, reason = "none", f"{reason} (approved)"
        self.effects.append(effect)
        if effect in ("warn", "log"):
            _log.log(
                logging.WARNING if effect == "warn" else logging.INFO,
                "policy %s rule %s violated (%s only): %s",
                policy.id,
                rule_id,
                effect,
                violation.message,
            )
        self._explain(policy, position, True, "violated", effect, reason)

    def _explain(
        self,
        policy: CompiledPolicy,
        position: int,
        matched: bool,
        verdict: Verdict,
        effect: Effect,
        reason: str,
    ) -> None:
        fields = (policy.id, _rule_id(policy, position), matched, verdict, effect, reason)
        self.checks.append((policy.index, position, fields))

    def decision(self) -> Decision:
        outcome = combine(self.effects)
        violated = tuple(dict.fromkeys(v.policy_id for v in self.violations))
        return Decision(
            outcome=outcome,
            arguments=None if outcome == "deny" else self.arguments,
            policies_evaluated=tuple(self.evaluated),
            policies_violated=violated,
            violations=tuple(self.violations),
            reason=self._summary(outcome),
            _checks=self._checks,
            _explain=self._all_explanations,
        )

    def _checks(self) -> tuple[Explanation, ...]:
        """The rule checks in policy order, as explanations (made only when asked for)."""
        ordered = sorted(self.checks, key=_order) if self.limits else self.checks
        return tuple(Explanation(*fields) for _, _, fields in ordered)

    def _summary(self, outcome: str) -> str:
        first = next((v for v in self.violations if v.effect == outcome), None)
        if first is not None and outcome == "deny":
            return f"denied by {first.policy_id}/{first.rule_id}: {first.message}"
        if first is not None:
            return f"needs approval ({first.policy_id}/{first.rule_id}: {first.message})"
        if outcome == "transform":
            return f"allowed with arguments rewritten by {', '.join(self.transformed_by)}"
        n = len(self.evaluated)
        text = f"allowed: {n} {'policy' if n == 1 else 'policies'} applied"
        if not self.violations:
            return f"{text}, none violated"
        return f"{text}, {len(self.violations)} violation(s) recorded without blocking"

    def _all_explanations(self) -> tuple[Explanation, ...]:
        """Every policy in file order: its rule checks, or why it did not apply."""
        by_policy: dict[str, list[Explanation]] = {}
        for explanation in self._checks():
            by_policy.setdefault(explanation.policy_id, []).append(explanation)
        result: list[Explanation] = []
        for policy in self.engine.policies.compiled:
            found = by_policy.get(policy.id)
            if found is None:
                reason = self._why_not(policy)
                found = [Explanation(policy.id, "", False, "skipped", "none", reason)]
            result.extend(found)
        return tuple(result)

    def _why_not(self, policy: CompiledPolicy) -> str:
        reason = self.skipped.get(policy.id)
        return (
            reason
            or policy.inactive(self.now)
            or policy.out_of_scope(self.action)
            or "not in scope"
        )


def _order(check: _Check) -> tuple[int, int]:
    return check[0], check[1]


def _rule_id(policy: CompiledPolicy, position: int) -> str:
    return policy.rules[position].rule.id if position >= 0 else SCOPE_RULE


def limit_key(policy: CompiledPolicy, rule: CompiledRule, action: Action) -> str:
    """The counter key of a limit rule for ``action``: policy/rule plus its ``key`` dimensions."""
    assert rule.rule.limit is not None
    parts = [policy.id, rule.rule.id]
    for dimension in rule.rule.limit.key:
        if dimension != "tenant":  # the tenant is the counter's own column
            parts.append(f"{dimension}={_dimension(dimension, action)}")
    return "/".join(parts)


def _dimension(name: str, action: Action) -> str:
    if name == "agent":
        return action.agent.id if action.agent else "-"
    if name == "tool":
        return action.name if action.kind == "tool" else "-"
    if name == "actor":
        return action.actor.id
    if name == "workflow":
        return action.workflow or "-"
    return action.run_id or "-"
