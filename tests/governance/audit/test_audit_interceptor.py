"""AuditInterceptor records every step of a real run; replays record nothing new."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from fluxio import Engine, RetryPolicy, RunContext, RunFailed, StepFailed, StepOptions
from fluxio.errors import PolicyDenied
from fluxio.governance.audit import AuditInterceptor, MemoryAuditLog, digest, verify_log
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

ONCE = RetryPolicy(max_attempts=1)


class Contract:
    reversible = True


async def add(a: int, b: int) -> int:
    return a + b


async def send(to: str) -> dict[str, str]:
    return {"sent": to}


async def forbidden() -> None:
    raise PolicyDenied("policy p7 forbids deleting files", policies=("p7",))


async def workflow(ctx: RunContext, input: Any) -> int:
    total = await ctx.step(add, 2, 3)
    tool = StepOptions(
        retry=ONCE, side_effects=True,
        metadata={"kind": "tool", "tool": "send_email", "tool_contract": Contract()},
    )  # fmt: skip
    await ctx.step(send, "bob", name="tool:send_email", options=tool)
    model = StepOptions(retry=ONCE, metadata={"kind": "model", "model": "fake"})
    await ctx.step(add, 1, 1, name="model:fake", options=model)
    with contextlib.suppress(StepFailed):
        await ctx.step(forbidden, options=StepOptions(retry=ONCE))
    return total


async def test_every_step_of_a_run_is_recorded_with_digests_and_outcome() -> None:
    log = MemoryAuditLog()
    engine = Engine(MemoryStore(), workflows={"wf": workflow}, interceptors=[AuditInterceptor(log)])
    run = await engine.start("wf", None, tenant_id="acme")
    assert await engine.result(run.run_id, tenant_id="acme") == 5
    entries = await log.entries("acme")
    summary = [(e.action, e.target, e.result, e.reversibility, e.error) for e in entries]
    assert summary == [
        ("step.completed", "step:add", "success", None, None),
        ("tool.called", "tool:send_email", "success", "reversible", None),
        ("model.called", "model:fake", "success", None, None),
        ("step.failed", "step:forbidden", "denied", None, "PolicyDenied"),
    ]
    first = entries[0]
    assert (first.run_id, first.actor.id, first.actor.type) == (run.run_id, "wf", "workflow")
    assert first.inputs_digest == digest([[2, 3], {}])
    assert first.outputs_digest == digest(5)
    assert entries[1].outputs_digest == digest({"sent": "bob"})
    assert entries[3].policies_violated == ("p7",)
    assert all(e.duration_ms is not None and e.duration_ms >= 0 for e in entries)
    assert (await verify_log(log, "acme")).ok


async def test_values_that_are_not_json_are_digested_by_their_repr() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "Opaque()"

    async def make() -> Opaque:
        return Opaque()

    async def wf(ctx: RunContext, input: Any) -> str:
        await ctx.step(make)
        return "done"

    log = MemoryAuditLog()
    engine = Engine(MemoryStore(), workflows={"wf": wf}, interceptors=[AuditInterceptor(log)])
    with pytest.raises(RunFailed):  # the journal cannot store Opaque; the audit entry is made
        await engine.run("wf")
    (entry,) = await log.entries("default")
    assert entry.outputs_digest == digest({"repr": "Opaque()"})
