"""Budget holds around a governed step: reserve before it runs, settle after it ran.

``reserve`` runs in run code as a journaled step (``governance:budget``), so a replay never
reserves twice. A hard budget with ``on_breach: stop`` refuses there (``BudgetExceeded``,
audited as ``budget.exceeded``); ``approval`` asks for a person (then the hold is made with
``force=True``); ``replan`` fails the step with ``BudgetExceeded`` whose details carry
``breach: replan``. A step that never runs (rejected, denied later) gets its hold back.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from fluxio.engine.context import RunContext
from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.errors import BudgetExceeded
from fluxio.governance.approvals import INTERNAL
from fluxio.governance.audit import AuditResult
from fluxio.governance.budgets.gate import BudgetGate, CostEstimate, Reservation, actual_cost
from fluxio.governance.policies import Actor
from fluxio.governance.trail import AuditTrail, decision_event

__all__ = ["Meter"]


class Meter:
    """Reserves, settles and returns the budget holds of governed steps.

    Args:
        gate: the budget gate (``None``: nothing is metered).
        trail: where budget events are audited.
    """

    def __init__(self, gate: BudgetGate | None, trail: AuditTrail) -> None:
        self.gate = gate
        self.trail = trail
        self._forced = gate is not None and "force" in inspect.signature(gate.reserve).parameters

    async def reserve(
        self,
        ctx: RunContext,
        step: ExecuteStepInput,
        actor: Actor,
        estimate: CostEstimate | None,
        *,
        force: bool = False,
    ) -> tuple[Reservation | None, bool]:
        """Hold ``estimate`` (journaled); returns the hold and whether a person must approve."""
        gate = self.gate
        if gate is None or estimate is None:
            return None, False

        async def reserve(_: Any) -> dict[str, Any]:
            try:
                if force and self._forced:
                    held = await gate.reserve(step, estimate, force=True)  # type: ignore[call-arg]
                else:
                    held = await gate.reserve(step, estimate)
            except BudgetExceeded as exc:
                await self._event(step, actor, "budget.exceeded", "denied", {"reason": exc.message})
                raise
            return dataclasses.asdict(held)

        key = "budget.forced" if force else "budget"
        data = await ctx.step(reserve, None, name="governance:budget", key=key, options=INTERNAL)
        held = _reservation(data)
        for warning in held.warnings:
            await self._event(step, actor, "budget.warning", "success", {"warning": warning})
        if held.breach is not None:
            await self._event(step, actor, "budget.exceeded", "pending", {"breach": held.breach})
        if held.breach == "replan":
            error = BudgetExceeded(
                f"run {step.run_id} step {step.step_key} ({step.name}) would exceed a budget "
                "whose breach action is replan; choose a cheaper plan",
                budget="replan",
            )
            error.details["breach"] = "replan"
            raise error
        if held.breach == "approval":
            return None, True
        return held, False

    async def give_back(self, ctx: RunContext, held: Reservation | None) -> None:
        """Return the hold of a step that will not run (journaled, so only once)."""
        gate = self.gate
        if gate is None or held is None:
            return

        async def release(_: Any) -> None:
            await gate.release(held)

        await ctx.step(release, None, name="governance:budget", key="budget.release",
                       options=INTERNAL)  # fmt: skip

    async def settle(
        self, step: ExecuteStepInput, held: Reservation | None, result: Any, *, failed: bool
    ) -> None:
        """Replace the hold with the actual cost, or return it if the call failed."""
        if held is None or self.gate is None:
            return
        if failed:
            await self.gate.release(held)
        else:
            await self.gate.reconcile(held, actual_cost(step, result))

    async def _event(
        self,
        step: ExecuteStepInput,
        actor: Actor,
        action: str,
        result: AuditResult,
        payload: dict[str, Any],
    ) -> None:
        if self.trail.enabled:
            event = decision_event(step, actor, action, result, None)
            await self.trail.record(dataclasses.replace(event, payload=payload))


def _reservation(data: Mapping[str, Any]) -> Reservation:
    """A ``Reservation`` from its journaled form."""
    values = dict(data)
    values["scopes"], values["warnings"] = tuple(values["scopes"]), tuple(values["warnings"])
    return Reservation(**values)
