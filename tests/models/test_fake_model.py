"""``FakeModel``: scripted answers, tool calls, errors and callables; deterministic usage."""

from __future__ import annotations

import pytest

from fluxio.errors import ModelError, UsageError
from fluxio.models import (
    Message,
    Model,
    ModelRequest,
    Price,
    StreamEnd,
    StreamingModel,
    TextDelta,
    ToolCallDelta,
    collect,
)
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio


async def test_answers_in_script_order_and_records_requests() -> None:
    model = FakeModel([FakeModel.tool_call("search", {"q": "x"}), "done"])
    first = await model.request(ModelRequest.of("find x"))
    second = await model.request(ModelRequest.of("and?"))
    assert first.tool_calls[0].name == "search"
    assert first.tool_calls[0].arguments == {"q": "x"}
    assert first.finish_reason == "tool_calls"
    assert second.content == "done"
    assert [r.messages[-1].content for r in model.requests] == ["find x", "and?"]
    assert model.calls == 2


async def test_tool_call_ids_are_deterministic_unless_given() -> None:
    script = [FakeModel.tool_calls(("a", {}), ("b", {"n": 1}, "mine"))]
    first = await FakeModel(script).request(ModelRequest.of("go"))
    again = await FakeModel(script).request(ModelRequest.of("go"))
    assert [c.id for c in first.tool_calls] == ["call_1_0", "mine"]
    assert first == again


async def test_scripted_errors_are_raised_as_model_errors() -> None:
    model = FakeModel([FakeModel.error("overloaded", retry_after=2.0), "ok"])
    with pytest.raises(ModelError, match="overloaded") as caught:
        await model.request(ModelRequest.of("hi"))
    assert caught.value.retryable
    assert caught.value.retry_after == 2.0
    assert (await model.request(ModelRequest.of("hi"))).content == "ok"


async def test_a_callable_answers_from_the_request() -> None:
    async def echo(request: ModelRequest) -> str:
        return f"you said {request.messages[-1].content}"

    model = FakeModel(default=echo)
    assert (await model.request(ModelRequest.of("ping"))).content == "you said ping"
    assert (await model.request(ModelRequest.of("pong"))).content == "you said pong"


async def test_usage_counts_words_and_prices_them() -> None:
    model = FakeModel(["three word answer"], price=Price(input=1_000_000.0, output=2_000_000.0))
    request = ModelRequest(messages=(Message.system("be nice"), Message.user("hello there you")))
    usage = (await model.request(request)).usage
    assert (usage.input_tokens, usage.output_tokens) == (5, 3)
    assert usage.cost_usd == pytest.approx(5 * 1.0 + 3 * 2.0)


async def test_running_out_of_script_is_a_clear_usage_error() -> None:
    model = FakeModel(["only one"])
    await model.request(ModelRequest.of("1"))
    with pytest.raises(UsageError, match=r"request #2 but its script has 1 answer"):
        await model.request(ModelRequest.of("2"))


async def test_a_wrong_script_entry_is_a_clear_usage_error() -> None:
    model = FakeModel([42])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="script entry #1 is a int"):
        await model.request(ModelRequest.of("hi"))


async def test_streams_words_then_tool_calls_then_the_response() -> None:
    model = FakeModel([FakeModel.tool_call("lookup", {"id": 7}, content="let me check")])
    events = [e async for e in model.stream(ModelRequest.of("hi"))]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["let", " me", " check"]
    assert [e.name for e in events if isinstance(e, ToolCallDelta)] == ["lookup"]
    assert isinstance(events[-1], StreamEnd)


async def test_collecting_a_stream_without_an_end_adds_up_the_deltas() -> None:
    async def deltas():  # type: ignore[no-untyped-def]
        yield TextDelta("a")
        yield ToolCallDelta(0, "c1", "t", '{"x": ')
        yield ToolCallDelta(0, None, "t", "1}")
        yield TextDelta("b")

    response = await collect(deltas(), model="m")
    assert response.content == "ab"
    assert response.tool_calls[0].arguments == {"x": 1}
    assert response.finish_reason == "tool_calls"


async def test_a_fake_model_satisfies_the_model_protocols() -> None:
    model = FakeModel()
    assert isinstance(model, Model)
    assert isinstance(model, StreamingModel)


async def test_delay_makes_the_call_slow_and_is_reported_as_latency() -> None:
    model = FakeModel(["slow"], delay=0.05)
    response = await model.request(ModelRequest.of("hi"))
    assert response.usage.latency_ms == 50.0
