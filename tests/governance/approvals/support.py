"""What the approval tests share: people, a refund tool that needs approval, a governed desk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxio import Engine, RunContext
from fluxio.errors import PolicyDenied
from fluxio.governance import (
    Actor,
    ApprovalRoute,
    Approvals,
    ApprovalStore,
    Governance,
    LearnedApproval,
    MemoryAuditLog,
    PolicyEngine,
    parse_policies,
)
from fluxio.store.base import Store
from fluxio.store.postgres import PostgresStore
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeClock
from fluxio.tools import call_tool, tool

ALICE = Actor("alice", "user", ("finance",))
BOB = Actor("bob", "user", ("finance",))
CAROL = Actor("carol", "user", ("manager",))
EVE = Actor("eve", "user", ("intern",))

POLICIES = """
- id: refunds-need-approval
  scope: {applies_to: {tools: [refund]}}
  violation_action: escalate
  rules:
    - {id: small-only, type: require, condition: 'arguments.amount <= 100.0'}
"""


@tool(side_effects=True, idempotent=False)
async def refund(order: str, amount: float) -> str:
    """Refund an order.

    Args:
        order: the order id.
        amount: dollars to give back.
    """
    REFUNDED.append((order, amount))
    return f"refunded {amount:g} on {order}"


REFUNDED: list[tuple[str, float]] = []
"""Every refund the tool really made (emptied before each test)."""


async def refund_flow(ctx: RunContext, request: dict[str, Any]) -> str:
    """Refunds an order; a denied or rejected refund is an answer, not a crash."""
    try:
        result: str = await call_tool(ctx, refund, request)
    except PolicyDenied as denied:
        return f"not refunded: {denied.message}"
    return result


@dataclass
class Desk:
    """An engine governed by policies that send big refunds to the approval desk."""

    store: Store
    approvals_store: ApprovalStore
    clock: Any = field(default_factory=FakeClock)  # a FakeClock, or the system clock
    route: ApprovalRoute = field(default_factory=lambda: ApprovalRoute(approvers=("role:finance",)))
    learning: LearnedApproval | None = None
    audit: Any = field(default_factory=MemoryAuditLog)  # any AuditLog

    def __post_init__(self) -> None:
        self.approvals = Approvals(
            self.approvals_store,
            route=self.route,
            audit=self.audit,
            learning=self.learning,
            clock=self.clock,
        )
        self.governance = Governance(
            policies=PolicyEngine(parse_policies(POLICIES)),
            approvals=self.approvals,
            audit=self.audit,
            clock=self.clock,
        )
        self.engine = Engine(
            self.store,
            workflows={"refund": refund_flow},
            interceptors=[self.governance],
            clock=self.clock,
        )
        self.approvals.bind(self.engine)

    async def held(self, amount: float = 250.0, order: str = "A-1") -> str:
        """Start a refund that needs approval; returns the approval id it waits for."""
        run = await self.engine.start("refund", {"order": order, "amount": amount})
        await self.engine.drive()
        waiting = await self.engine.get(run.run_id)
        assert waiting.wait is not None, waiting
        assert waiting.wait.reason == "approval", waiting
        return waiting.wait.detail.removeprefix("approval:")

    async def run_of(self, approval_id: str) -> str:
        return (await self.approvals.get("default", approval_id)).run_id


async def reopen(store: Store, tmp_path: Path) -> Store:
    """A fresh store on the same database (what a restarted process opens)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, durability="normal")
    assert isinstance(store, PostgresStore)
    return await PostgresStore.connect(store.url, schema=store.schema, pool_size=2)
