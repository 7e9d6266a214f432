"""The Anthropic provider against a local server that speaks the Messages protocol."""

from __future__ import annotations

import pytest
from model_servers import AnthropicServer, Reply, Turn

from fluxio.errors import ModelError
from fluxio.models import (
    AnthropicModel,
    Message,
    ModelRequest,
    ModelSettings,
    Price,
    PriceTable,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolDefinition,
)

pytestmark = pytest.mark.anyio

LOOKUP = ToolDefinition(
    name="lookup_order",
    description="Find an order.",
    parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
)
PRICES = PriceTable({"claude-test": Price(input=3.0, output=15.0)})


def claude(server: AnthropicServer) -> AnthropicModel:
    return AnthropicModel("claude-test", base_url=server.url, api_key="ak-test", prices=PRICES)


async def test_chat_sends_the_system_prompt_apart_and_reports_usage() -> None:
    with AnthropicServer(
        Turn(text="Hello from Claude.", input_tokens=20, output_tokens=5)
    ) as server:
        async with claude(server) as model:
            response = await model.request(ModelRequest.of("hi", system="You are terse."))
        sent = server.requests[0]
    assert response.content == "Hello from Claude."
    assert response.finish_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (20, 5)
    assert response.usage.cost_usd == pytest.approx((20 * 3.0 + 5 * 15.0) / 1_000_000)
    sent_key = sent.headers.get("x-api-key") or sent.headers["authorization"].removeprefix(
        "Bearer "
    )
    assert sent_key == "ak-test"
    assert sent.body["system"] == "You are terse."
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]
    assert sent.body["max_tokens"] == 1024


async def test_tool_use_and_tool_result_blocks_round_trip() -> None:
    turns = (
        Turn(text="Let me look.", tool_uses=[("toolu_1", "lookup_order", {"order_id": "A7"})]),
        Turn(text="Order A7 shipped."),
    )
    request = ModelRequest.of("where is A7?", tools=(LOOKUP,))
    with AnthropicServer(*turns) as server:
        async with claude(server) as model:
            first = await model.request(request)
            (call,) = first.tool_calls
            follow_up = request.followed_by(
                first.as_message(), Message.tool(call.id, '{"status": "shipped"}')
            )
            second = await model.request(follow_up)
        sent = server.requests[1].body
    assert (call.id, call.name, call.arguments) == ("toolu_1", "lookup_order", {"order_id": "A7"})
    assert first.content == "Let me look."
    assert first.finish_reason == "tool_use"
    assert second.content == "Order A7 shipped."
    assert sent["tools"][0]["input_schema"] == LOOKUP.parameters
    assert sent["messages"][1]["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"order_id": "A7"}},
    ]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"status": "shipped"}'}
    ]


async def test_consecutive_tool_results_share_one_user_message() -> None:
    calls = [("t1", "lookup_order", {"order_id": "A"}), ("t2", "lookup_order", {"order_id": "B"})]
    request = ModelRequest.of("both?", tools=(LOOKUP,))
    with AnthropicServer(Turn(tool_uses=calls), Turn(text="Both shipped.")) as server:
        async with claude(server) as model:
            first = await model.request(request)
            results = [Message.tool(c.id, "shipped") for c in first.tool_calls]
            second = await model.request(request.followed_by(first.as_message(), *results))
        sent = server.requests[1].body
    assert second.content == "Both shipped."
    assert [b["tool_use_id"] for b in sent["messages"][2]["content"]] == ["t1", "t2"]


async def test_stream_yields_text_deltas_then_the_response_with_usage() -> None:
    turn = Turn(text="one two three four", input_tokens=9, output_tokens=4)
    with AnthropicServer(turn) as server:
        async with claude(server) as model:
            events = [e async for e in model.stream(ModelRequest.of("count"))]
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == ["one", " two", " three", " four"]
    final = events[-1]
    assert isinstance(final, StreamEnd)
    assert final.response.content == "one two three four"
    assert (final.response.usage.input_tokens, final.response.usage.output_tokens) == (9, 4)
    assert final.response.finish_reason == "end_turn"


async def test_stream_assembles_tool_input_from_json_deltas() -> None:
    turn = Turn(text="Checking.", tool_uses=[("toolu_9", "lookup_order", {"order_id": "Z9"})])
    with AnthropicServer(turn) as server:
        async with claude(server) as model:
            events = [e async for e in model.stream(ModelRequest.of("Z9?", tools=(LOOKUP,)))]
    starts = [e for e in events if isinstance(e, ToolCallDelta) and e.name]
    assert [(e.id, e.name) for e in starts] == [("toolu_9", "lookup_order")]
    final = events[-1]
    assert isinstance(final, StreamEnd)
    (call,) = final.response.tool_calls
    assert (call.id, call.arguments) == ("toolu_9", {"order_id": "Z9"})
    assert final.response.content == "Checking."
    assert final.response.finish_reason == "tool_use"


async def test_settings_map_onto_the_messages_api() -> None:
    request = ModelRequest(
        messages=(Message.system("a"), Message.system("b"), Message.user("q")),
        settings=ModelSettings(temperature=0.1, max_tokens=64, top_p=0.9, stop=("STOP",)),
    )
    with AnthropicServer(Turn(text="ok")) as server:
        async with claude(server) as model:
            await model.request(request)
        sent = server.requests[0].body
    assert sent["system"] == "a\n\nb"
    assert (sent["temperature"], sent["max_tokens"], sent["top_p"]) == (0.1, 64, 0.9)
    assert sent["stop_sequences"] == ["STOP"]


async def test_invalid_request_is_a_non_retryable_error_with_the_servers_message() -> None:
    """A conversation starting with an assistant turn is refused by the protocol."""
    request = ModelRequest(messages=(Message.assistant("I speak first"),))
    with AnthropicServer() as server:
        async with claude(server) as model:
            with pytest.raises(ModelError, match="must alternate user/assistant") as caught:
                await model.request(request)
    assert not caught.value.retryable


async def test_overloaded_is_retryable_with_retry_after() -> None:
    overloaded = Reply(
        529,
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        headers={"retry-after": "3"},
    )
    with AnthropicServer(overloaded) as server:
        async with claude(server) as model:
            with pytest.raises(ModelError, match="Overloaded") as caught:
                await model.request(ModelRequest.of("hi"))
    assert caught.value.retryable
    assert caught.value.retry_after == 3.0


async def test_slow_server_times_out_as_a_retryable_error() -> None:
    with AnthropicServer(Reply(body={}, delay=5.0)) as server:
        async with claude(server) as model:
            request = ModelRequest(
                messages=(Message.user("hi"),), settings=ModelSettings(timeout=0.3)
            )
            with pytest.raises(ModelError, match="did not answer") as caught:
                await model.request(request)
    assert caught.value.retryable
