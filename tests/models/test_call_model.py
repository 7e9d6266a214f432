"""``call_model`` is a journaled step: replay answers from the journal, retries follow the
step policy, and governance sees the call's metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from model_servers import FakeLLM, Reply, ScriptedServer

from fluxio import Engine, RetryPolicy, RunContext, RunFailed
from fluxio.engine import ExecuteStepInput, Next
from fluxio.models import (
    ModelRequest,
    ModelResponse,
    OpenAIModel,
    StreamEvent,
    TextDelta,
    ToolDefinition,
    call_model,
    stream_model,
)
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "runs.db", durability="normal")
    yield store
    await store.close()


async def test_a_resumed_run_does_not_call_the_model_again(sqlite: SQLiteStore) -> None:
    model = FakeModel([FakeModel.tool_call("search", {"q": "fluxio"}), "final answer"])
    crash = {"armed": True}

    async def crash_once() -> None:
        if crash["armed"]:
            crash["armed"] = False
            raise SystemExit("worker died after the model answered")

    async def agent(ctx: RunContext, prompt: str) -> dict[str, Any]:
        first = await call_model(ctx, model, ModelRequest.of(prompt))
        await ctx.step(crash_once)
        second = await call_model(ctx, model, ModelRequest.of("and then?"))
        return {"tool": first.tool_calls[0].name, "answer": second.content}

    engine = Engine(sqlite, workflows={"agent": agent}, lease_seconds=0.05)
    run = await engine.start("agent", "look it up")
    (claim,) = await engine.claim(1)
    with pytest.raises(SystemExit):
        await engine.execute(claim)
    assert model.calls == 1
    await asyncio.sleep(0.06)  # the dead worker's lease expires
    fresh = Engine(sqlite, workflows={"agent": agent})
    assert await fresh.result(run.run_id) == {"tool": "search", "answer": "final answer"}
    assert model.calls == 2  # the first answer came from the journal, not the model
    journal = await fresh.journal(run.run_id)
    assert [e.name for e in journal] == ["model:fake", "crash_once", "model:fake"]
    recorded = ModelResponse.model_validate(journal[0].value)
    assert recorded.tool_calls[0].arguments == {"q": "fluxio"}


async def test_replayed_response_is_a_model_response(sqlite: SQLiteStore) -> None:
    model = FakeModel(["hello"])
    seen: list[object] = []

    async def wf(ctx: RunContext, _: Any) -> str:
        response = await call_model(ctx, model, ModelRequest.of("hi"))
        seen.append(response)
        await ctx.sleep(0.01)
        return response.content or ""

    engine = Engine(sqlite, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()  # runs until the timer
    await asyncio.sleep(0.02)
    assert await engine.result(run.run_id) == "hello"
    assert model.calls == 1
    assert len(seen) == 2
    assert all(isinstance(r, ModelResponse) for r in seen)
    assert seen[0] == seen[1]


async def test_a_retryable_model_error_is_retried_by_the_step_policy(sqlite: SQLiteStore) -> None:
    model = FakeModel([FakeModel.error("rate limited", retry_after=0.01), "second try"])

    async def wf(ctx: RunContext, _: Any) -> str | None:
        return (await call_model(ctx, model, ModelRequest.of("hi"))).content

    engine = Engine(sqlite, workflows={"wf": wf})
    assert await engine.run("wf") == "second try"
    assert model.calls == 2


async def test_a_non_retryable_model_error_fails_the_run_once(sqlite: SQLiteStore) -> None:
    model = FakeModel([FakeModel.error("invalid API key", retryable=False), "never"])

    async def wf(ctx: RunContext, _: Any) -> str | None:
        return (await call_model(ctx, model, ModelRequest.of("hi"))).content

    engine = Engine(sqlite, workflows={"wf": wf})
    with pytest.raises(RunFailed, match="invalid API key"):
        await engine.run("wf")
    assert model.calls == 1
    (entry,) = await engine.journal((await engine.list_runs())[0].run_id)
    assert not entry.ok
    assert entry.value["type"] == "ModelError"


class Spy:
    """An interceptor that records what governance would see."""

    def __init__(self) -> None:
        self.inputs: list[ExecuteStepInput] = []

    async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
        self.inputs.append(input)
        return await next(input)


async def test_interceptors_see_the_model_call_metadata_and_request(sqlite: SQLiteStore) -> None:
    model = FakeModel(["ok"], name="small")
    spy = Spy()
    request = ModelRequest.of("hi", task="classify")

    async def wf(ctx: RunContext, _: Any) -> str | None:
        return (await call_model(ctx, model, request, key="ask")).content

    engine = Engine(sqlite, workflows={"wf": wf}, interceptors=[spy])
    await engine.run("wf")
    (step,) = spy.inputs
    assert step.name == "model:small"
    assert step.step_key == "ask"
    assert step.args == (request,)
    assert dict(step.options.metadata) == {"kind": "model", "model": "small"}
    assert (step.options.side_effects, step.options.idempotent) == (False, True)


async def test_stream_model_passes_events_and_journals_only_the_response(
    sqlite: SQLiteStore,
) -> None:
    model = FakeModel(["one two three"])
    events: list[StreamEvent] = []

    async def wf(ctx: RunContext, _: Any) -> str | None:
        response = await stream_model(ctx, model, ModelRequest.of("count"), events.append)
        await ctx.sleep(0.01)
        return response.content

    engine = Engine(sqlite, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()
    await asyncio.sleep(0.02)
    assert await engine.result(run.run_id) == "one two three"
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["one", " two", " three"]
    assert model.calls == 1  # the replay after the timer did not stream again


QUICK = RetryPolicy(max_attempts=2, initial=0.001, jitter=0)


async def test_garbage_from_a_model_over_http_is_retried_recorded_and_fails_the_run(
    sqlite: SQLiteStore, fakellm: FakeLLM
) -> None:
    async with OpenAIModel("gpt-test", base_url=fakellm.url, api_key="k") as model:

        async def wf(ctx: RunContext, _: Any) -> Any:
            request = ModelRequest.of(
                "garbage in a run", tools=(ToolDefinition(name="get_weather"),)
            )
            return (await call_model(ctx, model, request, retry=QUICK)).tool_calls

        engine = Engine(sqlite, workflows={"wf": wf})
        with pytest.raises(RunFailed, match="not a JSON object"):
            await engine.run("wf")
    (entry,) = await engine.journal((await engine.list_runs())[0].run_id)
    assert (entry.ok, entry.attempts, entry.value["type"]) == (False, 2, "ModelError")


async def test_a_provider_timeout_in_a_run_is_retried_then_the_answer_is_recorded(
    sqlite: SQLiteStore,
) -> None:
    ok = {"model": "m", "choices": [{"message": {"role": "assistant", "content": "late but ok"}}]}
    with ScriptedServer(Reply(body=ok, delay=5.0), Reply(body=ok)) as server:
        async with OpenAIModel("m", base_url=server.url + "/v1", api_key="k", timeout=0.3) as model:

            async def wf(ctx: RunContext, _: Any) -> Any:
                return (await call_model(ctx, model, ModelRequest.of("hi"), retry=QUICK)).content

            engine = Engine(sqlite, workflows={"wf": wf})
            assert await engine.run("wf") == "late but ok"
        assert len(server.requests) == 2
