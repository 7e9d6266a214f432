"""Remembered verdicts: a step judged again gets the same answer, never a stale one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fluxio import Engine, RunContext
from fluxio.errors import StepFailed
from fluxio.governance import AutonomySettings, Governance, PolicyEngine, parse_policies
from fluxio.store.memory import MemoryStore
from fluxio.tools import call_tool, tool

pytestmark = pytest.mark.anyio

SENT: list[float] = []


@tool(side_effects=True, idempotent=True)
async def refund(amount: float) -> str:
    """Refund an amount."""
    SENT.append(amount)
    return "refunded"


async def noop(flag: Any) -> Any:
    return flag


def refunds(*amounts: float) -> Any:
    async def workflow(ctx: RunContext, _: object) -> list[str]:
        results = []
        for amount in amounts:
            try:
                results.append(await call_tool(ctx, refund, {"amount": amount}))
            except StepFailed as failed:
                results.append(failed.error_type)
        return results

    return workflow


def governed(policies: str, **settings: Any) -> Governance:
    return Governance(
        policies=PolicyEngine(parse_policies(policies), **settings),
        autonomy=AutonomySettings(default=5),
    )


async def test_the_arguments_are_part_of_what_is_remembered() -> None:
    SENT.clear()
    governance = governed("""
- id: cap
  rules: [{id: max, type: forbid, condition: 'arguments.amount > 100.0'}]
""")
    engine = Engine(MemoryStore(), workflows={"w": refunds(10.0, 500.0, 10.0, 500.0, 20.0)},
                    interceptors=[governance])  # fmt: skip
    assert await engine.run("w") == [
        "refunded", "PolicyDenied", "refunded", "PolicyDenied", "refunded"
    ]  # fmt: skip
    assert SENT == [10, 10, 20]
    assert len(governance.judge._verdicts) == 2  # the two clean allows; denials are not kept


async def test_one_and_true_and_one_point_oh_are_different_arguments() -> None:
    governance = governed("""
- id: strict-flag
  rules: [{id: bool, type: require, condition: 'arguments.args[0] == true'}]
""")

    async def workflow(ctx: RunContext, _: object) -> list[Any]:
        results = []
        for flag in (True, 1, True, 1.0):
            try:
                results.append(await ctx.step(noop, flag))
            except StepFailed as failed:
                results.append(failed.error_type)
        return results

    engine = Engine(MemoryStore(), workflows={"w": workflow}, interceptors=[governance])
    assert await engine.run("w") == [True, "PolicyDenied", True, "PolicyDenied"]


async def test_policies_that_read_the_time_are_judged_every_time() -> None:
    now = [dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC).timestamp()]
    governance = governed("""
- id: office-hours
  rules: [{id: day, type: require, condition: 'time.hour < 18'}]
""", clock=lambda: now[0])  # fmt: skip

    async def workflow(ctx: RunContext, _: object) -> list[Any]:
        first = await ctx.step(noop, 1)
        now[0] += 10 * 3600  # 19:00: the same step is now out of hours
        try:
            return [first, await ctx.step(noop, 1)]
        except StepFailed as failed:
            return [first, failed.error_type]

    engine = Engine(MemoryStore(), workflows={"w": workflow}, interceptors=[governance])
    assert await engine.run("w") == [1, "PolicyDenied"]
    assert governance.judge._verdicts == {}


async def test_limits_are_counted_on_every_call_not_remembered() -> None:
    SENT.clear()
    governance = governed("""
- id: two-a-day
  rules: [{id: n, type: limit, limit: {count: 2, period: day}}]
""")
    engine = Engine(MemoryStore(), workflows={"w": refunds(1, 1, 1)}, interceptors=[governance])
    assert await engine.run("w") == ["refunded", "refunded", "PolicyDenied"]
    assert SENT == [1, 1]
