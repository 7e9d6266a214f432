"""``Approval``: a run waits for a human to approve, reject, or approve an edited value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from fluxio import Engine, RunFailed
from fluxio.dsl import Approval, ApprovalRejected, Workflow, step
from fluxio.errors import DefinitionError, StepFailed
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


class Reply(BaseModel):
    to: str
    body: str


@step
async def draft(to: str) -> Reply:
    return Reply(to=to, body="Thanks for writing.")


def build(sent: list[Any], **approval: Any) -> Workflow[str, str]:
    @step
    async def send(reply: Reply) -> str:
        assert isinstance(reply, Reply)
        sent.append(reply)
        return f"sent to {reply.to}: {reply.body}"

    return Workflow("reply", draft >> Approval("send-reply", **approval) >> send)


async def start_waiting(engine: Engine, flow: Workflow[Any, Any]) -> str:
    run = await engine.start(flow, "ana@example.com")
    await engine.drive()
    waiting = await engine.get(run.run_id)
    assert waiting.status == "waiting"
    assert waiting.wait is not None
    assert waiting.wait.reason == "approval"
    assert waiting.wait.detail == "approval:send-reply"
    return run.run_id


async def test_approve_passes_the_input_on() -> None:
    sent: list[Any] = []
    engine = Engine(MemoryStore())
    run_id = await start_waiting(engine, build(sent))
    assert sent == []
    await engine.signal(run_id, "approval:send-reply", {"decision": "approve", "by": "bo"})
    assert await engine.result(run_id) == "sent to ana@example.com: Thanks for writing."


async def test_approve_with_an_edited_payload_sends_the_edit() -> None:
    sent: list[Any] = []
    engine = Engine(MemoryStore())
    run_id = await start_waiting(engine, build(sent))
    edited = {"to": "ana@example.com", "body": "Fixed in 2.1, thanks!"}
    decision = {"decision": "approve", "payload": edited, "note": "friendlier", "by": "bo"}
    await engine.signal(run_id, "approval:send-reply", decision)
    assert await engine.result(run_id) == "sent to ana@example.com: Fixed in 2.1, thanks!"
    assert sent == [Reply(**edited)]


async def test_reject_fails_the_run_naming_who_and_why() -> None:
    sent: list[Any] = []
    engine = Engine(MemoryStore())
    run_id = await start_waiting(engine, build(sent))
    decision = {"decision": "reject", "note": "wrong customer", "by": "bo"}
    await engine.signal(run_id, "approval:send-reply", decision)
    with pytest.raises(RunFailed) as info:
        await engine.result(run_id)
    error = info.value.error
    assert error["type"] == "ApprovalRejected"
    assert error["message"] == "approval 'send-reply' was rejected by bo: wrong customer"
    assert error["retryable"] is False
    assert sent == []


async def test_rejection_can_be_handled_by_orchestration_code() -> None:
    async def guarded(ctx: Any, to: str) -> str:
        try:
            await Approval("go").run(ctx, to)
        except ApprovalRejected as rejected:
            return f"skipped ({rejected.by}: {rejected.note})"
        return "went"

    engine = Engine(MemoryStore(), workflows={"guarded": guarded})
    run = await engine.start("guarded", "x")
    await engine.signal(run.run_id, "approval:go", {"decision": "reject", "note": "no", "by": "cy"})
    assert await engine.result(run.run_id) == "skipped (cy: no)"


async def test_timeout_rejects_by_default_and_can_approve() -> None:
    engine = Engine(MemoryStore())
    with pytest.raises(RunFailed, match=r"rejected by timeout: no decision within 0\.05s"):
        await engine.run(build([], timeout=0.05), "a@example.com")
    sent: list[Any] = []
    result = await engine.run(build(sent, timeout=0.05, on_timeout="approve"), "b@example.com")
    assert result.startswith("sent to b@example.com")


async def test_a_malformed_decision_fails_clearly() -> None:
    engine = Engine(MemoryStore())
    run_id = await start_waiting(engine, build([]))
    await engine.signal(run_id, "approval:send-reply", {"decision": "maybe"})
    with pytest.raises(RunFailed, match=re.escape("send {'decision': 'approve' or 'reject'")):
        await engine.result(run_id)


async def test_an_edit_that_does_not_fit_the_type_fails_clearly() -> None:
    engine = Engine(MemoryStore())
    run_id = await start_waiting(engine, build([]))
    decision = {"decision": "approve", "payload": {"body": "no recipient"}, "by": "bo"}
    await engine.signal(run_id, "approval:send-reply", decision)
    with pytest.raises(RunFailed, match="edited payload that is not a valid Reply"):
        await engine.result(run_id)


def test_approval_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="needs a name"):
        Approval("")
    with pytest.raises(DefinitionError, match="on_timeout"):
        Approval("x", on_timeout="ignore")  # type: ignore[arg-type]
    assert issubclass(ApprovalRejected, StepFailed)
