"""Structured output: parse, deterministic repair, one model-driven repair, clear error."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fluxio import Engine, RunContext
from fluxio.errors import ModelError
from fluxio.models import ModelRequest, parse_output, request_structured
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio


class Ticket(BaseModel):
    category: str
    priority: int


async def test_valid_json_needs_no_repair() -> None:
    model = FakeModel(['{"category": "billing", "priority": 2}'])
    result = await request_structured(model, ModelRequest.of("triage"), Ticket)
    assert result.output == Ticket(category="billing", priority=2)
    assert result.repair == "none"
    assert model.calls == 1


async def test_the_schema_instruction_joins_the_first_system_message() -> None:
    model = FakeModel(['{"category": "a", "priority": 1}'])
    await request_structured(model, ModelRequest.of("triage", system="You triage."), Ticket)
    sent = model.requests[0]
    assert [m.role for m in sent.messages] == ["system", "user"]
    assert sent.messages[0].content is not None
    assert sent.messages[0].content.startswith("You triage.")
    assert '"priority"' in sent.messages[0].content
    assert sent.output_schema == Ticket.model_json_schema()


async def test_almost_json_is_repaired_without_asking_the_model_again() -> None:
    model = FakeModel(["Here you go:\n```json\n{'category': 'bug', 'priority': 1,}\n```"])
    result = await request_structured(model, ModelRequest.of("triage"), Ticket)
    assert result.output == Ticket(category="bug", priority=1)
    assert result.repair == "deterministic"
    assert model.calls == 1


async def test_one_repair_request_tells_the_model_what_was_wrong() -> None:
    model = FakeModel(['{"category": "bug"}', '{"category": "bug", "priority": 3}'])
    result = await request_structured(model, ModelRequest.of("triage"), Ticket)
    assert result.output.priority == 3
    assert result.repair == "model"
    assert len(result.responses) == 2
    repair_request = model.requests[1]
    assert repair_request.messages[-2].role == "assistant"
    assert "priority" in (repair_request.messages[-1].content or "")


async def test_still_invalid_after_one_repair_is_a_clear_error() -> None:
    model = FakeModel(["I think it is a bug.", "Sorry, it is a bug!"])
    with pytest.raises(ModelError, match=r"did not produce a valid Ticket.*Last reply") as caught:
        await request_structured(model, ModelRequest.of("triage"), Ticket)
    assert not caught.value.retryable
    assert model.calls == 2


def test_parse_output_explains_schema_mismatches() -> None:
    with pytest.raises(ValueError, match=r"priority: Input should be a valid integer"):
        parse_output('{"category": "x", "priority": "high"}', Ticket)
    with pytest.raises(ValueError, match="empty"):
        parse_output("", Ticket)


async def test_in_a_run_both_calls_are_journaled_and_replay_asks_nothing(tmp_path: Path) -> None:
    model = FakeModel(["nope", '{"category": "ops", "priority": 1}'])

    async def wf(ctx: RunContext, _: Any) -> dict[str, Any]:
        result = await request_structured(model, ModelRequest.of("triage"), Ticket, ctx=ctx)
        await ctx.sleep(0.01)
        return result.output.model_dump()

    store = SQLiteStore(tmp_path / "runs.db", durability="normal")
    try:
        engine = Engine(store, workflows={"wf": wf})
        run = await engine.start("wf")
        await engine.drive()
        await asyncio.sleep(0.02)
        assert await engine.result(run.run_id) == {"category": "ops", "priority": 1}
        names = [e.name for e in await engine.journal(run.run_id)]
    finally:
        await store.close()
    assert model.calls == 2
    assert names.count("model:fake") == 2
