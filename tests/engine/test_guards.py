"""Step guards: admission before a step is journaled (the seam governance plugs into)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fluxio import Engine, ExecuteStepInput, RunContext, RunStatus, StepOptions
from fluxio.engine import Next
from fluxio.errors import PolicyDenied, RunFailed, StepFailed
from fluxio.store.base import Store

pytestmark = pytest.mark.anyio

RISKY = StepOptions(side_effects=True, idempotent=False, metadata={"kind": "tool"})


class Guard:
    """Denies 'delete', doubles 'amount', and holds 'pay' for an approval signal."""

    def __init__(self) -> None:
        self.admitted: list[str] = []

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        return await next(input)

    async def admit_step(self, input: ExecuteStepInput, ctx: RunContext) -> ExecuteStepInput:
        self.admitted.append(input.name)
        if input.name == "delete":
            raise PolicyDenied("deleting is forbidden here", policies=("no-deletes",))
        if input.name == "pay":
            decision = await ctx.wait_for("approval:pay", reason="approval")
            if decision != "yes":
                raise PolicyDenied("payment rejected by a human", policies=("four-eyes",))
        if "amount" in input.kwargs:
            return dataclasses.replace(input, kwargs={"amount": input.kwargs["amount"] * 2})
        return input


async def test_a_denied_step_is_a_recorded_outcome_that_replays_as_the_same_error(
    store: Store,
) -> None:
    ran: list[str] = []

    async def delete() -> None:
        ran.append("delete")

    async def wf(ctx: RunContext, _: object) -> str:
        try:
            await ctx.step(delete, options=RISKY)
        except PolicyDenied as denied:
            return f"denied by {denied.policies}"
        return "deleted"

    guard = Guard()
    engine = Engine(store, workflows={"wf": wf}, interceptors=[guard])
    assert await engine.run("wf") == "denied by ('no-deletes',)"
    assert ran == []
    run = (await engine.list_runs())[0]
    [entry] = await engine.journal(run.run_id)
    assert (entry.name, entry.ok, entry.value["type"]) == ("delete", False, "PolicyDenied")


async def test_a_guard_may_rewrite_arguments(store: Store) -> None:
    async def charge(amount: int) -> int:
        return amount

    async def wf(ctx: RunContext, _: object) -> int:
        return await ctx.step(charge, amount=5)

    engine = Engine(store, workflows={"wf": wf}, interceptors=[Guard()])
    assert await engine.run("wf") == 10


async def test_an_approval_held_by_a_guard_waits_durably_and_writes_no_intent_first(
    store: Store,
) -> None:
    paid: list[int] = []

    async def pay() -> str:
        paid.append(1)
        return "paid"

    async def wf(ctx: RunContext, _: object) -> str:
        return await ctx.step(pay, options=RISKY)

    guard = Guard()
    engine = Engine(store, workflows={"wf": wf}, interceptors=[guard])
    run = await engine.start("wf")
    await engine.drive()
    waiting = await engine.get(run.run_id)
    assert waiting.status is RunStatus.WAITING
    assert waiting.wait is not None
    assert waiting.wait.reason == "approval"
    assert [e.kind.value for e in await engine.journal(run.run_id)] == []  # no intent yet

    await engine.signal(run.run_id, "approval:pay", "yes")
    assert await engine.result(run.run_id) == "paid"
    assert paid == [1]
    kinds = [(e.step_key, e.kind.value) for e in await engine.journal(run.run_id)]
    assert kinds == [("1:guard0.1", "outcome"), ("1", "intent"), ("1", "outcome")]


async def test_a_recorded_step_is_not_admitted_again_on_replay(store: Store) -> None:
    async def read() -> str:
        return "data"

    async def wf(ctx: RunContext, _: object) -> str:
        value = await ctx.step(read)
        await ctx.sleep(0)
        return value

    guard = Guard()
    engine = Engine(store, workflows={"wf": wf}, interceptors=[guard])
    assert await engine.run("wf") == "data"
    assert guard.admitted == ["read"]


async def test_a_rejected_approval_fails_the_step_with_the_guards_error(store: Store) -> None:
    async def pay() -> str:
        return "paid"

    async def wf(ctx: RunContext, _: object) -> str:
        try:
            return await ctx.step(pay, options=RISKY)
        except StepFailed as failed:
            return failed.error_type

    engine = Engine(store, workflows={"wf": wf}, interceptors=[Guard()])
    run = await engine.start("wf")
    await engine.drive()
    await engine.signal(run.run_id, "approval:pay", "no")
    assert await engine.result(run.run_id) == "PolicyDenied"


class Observer:
    """Hears runs start and end; fails on purpose for workflow 'fragile'."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, str]] = []

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        return await next(input)

    async def run_started(self, run: Any) -> None:
        self.heard.append(("started", run.workflow, run.status.value))

    async def run_ended(self, run: Any) -> None:
        self.heard.append(("ended", run.workflow, run.status.value))
        if run.workflow == "fragile":
            raise RuntimeError("the observer broke")


async def test_observers_hear_runs_start_and_end_once_each(store: Store) -> None:
    async def child(ctx: RunContext, n: int) -> int:
        return n + 1

    async def parent(ctx: RunContext, _: object) -> int:
        return int(await ctx.child("child", 1))

    async def fragile(ctx: RunContext, _: object) -> None:
        raise ValueError("boom")

    observer = Observer()
    workflows = {"parent": parent, "child": child, "fragile": fragile, "idle": child}
    engine = Engine(store, workflows=workflows, interceptors=[observer])
    assert await engine.run("parent") == 2
    await engine.start("idle", 1, run_id="i1")
    await engine.start("idle", 1, run_id="i1")  # idempotent: no second start
    await engine.cancel("i1", reason="not needed")
    with pytest.raises(RunFailed):
        await engine.run("fragile")  # its observer raises: logged, the run's outcome stands
    assert observer.heard == [
        ("started", "parent", "pending"),
        ("started", "child", "pending"),
        ("ended", "child", "completed"),
        ("ended", "parent", "completed"),
        ("started", "idle", "pending"),
        ("ended", "idle", "cancelled"),
        ("started", "fragile", "pending"),
        ("ended", "fragile", "failed"),
    ]


class ChildGuard(Guard):
    """Also denies starting a 'payments' child and rewrites a 'report' child's input."""

    async def admit_step(self, input: ExecuteStepInput, ctx: RunContext) -> ExecuteStepInput:
        if input.options.metadata.get("kind") == "child":
            self.admitted.append(input.name)
            if input.options.metadata["child"] == "payments":
                raise PolicyDenied("no payments from here", policies=("no-payments",))
            return dataclasses.replace(input, args=(f"{input.args[0]} (reviewed)",))
        return await super().admit_step(input, ctx)


async def test_child_run_starts_pass_through_guards(store: Store) -> None:
    async def payments(ctx: RunContext, _: object) -> str:
        return "paid"

    async def report(ctx: RunContext, text: str) -> str:
        return text

    async def parent(ctx: RunContext, _: object) -> list[str]:
        results = [str(await ctx.child("report", "q3"))]
        try:
            results.append(str(await ctx.child("payments")))
        except PolicyDenied as denied:
            results.append(f"denied: {denied.policies}")
        return results

    guard = ChildGuard()
    workflows = {"parent": parent, "report": report, "payments": payments}
    engine = Engine(store, workflows=workflows, interceptors=[guard])
    assert await engine.run("parent") == ["q3 (reviewed)", "denied: ('no-payments',)"]
    assert guard.admitted == ["child:report", "child:payments"]  # once each: replay asks none
    assert sorted(r.workflow for r in await engine.list_runs()) == ["parent", "report"]
