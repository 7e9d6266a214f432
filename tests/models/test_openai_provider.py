"""The OpenAI-compatible provider over real HTTP: fakellm for chat, tools and streams; a
scripted local server for what fakellm cannot send (Retry-After, usage chunks, timeouts,
llama.cpp's repeated tool names, garbage bodies).
"""

from __future__ import annotations

import json

import pytest
from model_servers import FakeLLM, Reply, ScriptedServer, sse

from fluxio.errors import ModelError
from fluxio.models import (
    Message,
    ModelRequest,
    ModelSettings,
    OpenAIModel,
    Price,
    PriceTable,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    collect,
)

pytestmark = pytest.mark.anyio

WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
PRICES = PriceTable({"gpt-test": Price(input=1000.0, output=2000.0)})


def model_at(url: str, **options: object) -> OpenAIModel:
    return OpenAIModel("gpt-test", base_url=url, api_key="sk-test", prices=PRICES, **options)  # type: ignore[arg-type]


async def test_plain_chat_returns_text_usage_and_cost(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        response = await model.request(ModelRequest.of("hello there", system="Be brief."))
    assert response.content == "Hi there friend, how can I help?"
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    assert response.model == "gpt-test"
    usage = response.usage
    assert usage.input_tokens > 0
    assert usage.output_tokens > 0
    expected = (usage.input_tokens * 1000.0 + usage.output_tokens * 2000.0) / 1_000_000
    assert usage.cost_usd == pytest.approx(expected)
    assert usage.latency_ms > 0


async def test_tool_call_and_tool_result_round_trip(fakellm: FakeLLM) -> None:
    request = ModelRequest.of("what is the weather like?", tools=(WEATHER,))
    async with model_at(fakellm.url) as model:
        first = await model.request(request)
        (call,) = first.tool_calls
        assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
        assert call.id.startswith("call_")
        assert first.finish_reason == "tool_calls"
        follow_up = request.followed_by(
            first.as_message(), Message.tool(call.id, "sunny, 24C", name="get_weather")
        )
        second = await model.request(follow_up)
    assert second.content == "It is sunny in Paris."


async def test_several_tool_calls_in_one_answer(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        response = await model.request(ModelRequest.of("use both tools", tools=(WEATHER,)))
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"zone": "CET"}),
    ]


async def test_streamed_text_arrives_in_pieces_and_adds_up(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        events = [e async for e in model.stream(ModelRequest.of("hello stream"))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3
    assert "".join(deltas) == "Hi there friend, how can I help?"
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].response.content == "".join(deltas)


async def test_streamed_tool_call_is_assembled_from_argument_pieces(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        events = [e async for e in model.stream(ModelRequest.of("weather?", tools=(WEATHER,)))]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(pieces) > 2
    assert pieces[0].name == "get_weather"
    final = events[-1]
    assert isinstance(final, StreamEnd)
    (call,) = final.response.tool_calls
    assert (call.name, call.arguments, call.id) == ("get_weather", {"city": "Paris"}, pieces[0].id)
    assert final.response.finish_reason == "tool_calls"


async def test_garbage_tool_arguments_are_a_retryable_model_error(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        with pytest.raises(ModelError, match="not a JSON object") as caught:
            await model.request(ModelRequest.of("garbage please", tools=(WEATHER,)))
    assert caught.value.retryable
    assert "get_weather" in str(caught.value)


async def test_server_error_is_retryable(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        with pytest.raises(ModelError, match=r"HTTP 500.*upstream exploded") as caught:
            await model.request(ModelRequest.of("explode now"))
    assert caught.value.retryable


async def test_rate_limit_is_retryable(fakellm: FakeLLM) -> None:
    async with model_at(fakellm.url) as model:
        with pytest.raises(ModelError, match=r"HTTP 429.*Rate limit exceeded") as caught:
            await model.request(ModelRequest.of("too fast"))
    assert caught.value.retryable


async def test_bad_request_is_not_retryable_and_keeps_the_providers_message(
    fakellm: FakeLLM,
) -> None:
    async with model_at(fakellm.url) as model:
        with pytest.raises(ModelError, match="Unknown parameter: frobnicate") as caught:
            await model.request(ModelRequest.of("invalid please"))
    assert not caught.value.retryable


async def test_rate_limit_carries_the_servers_retry_after() -> None:
    limited = Reply(429, {"error": {"message": "slow down"}}, headers={"retry-after": "7"})
    limited_ms = Reply(429, {"error": {"message": "slow"}}, headers={"retry-after-ms": "250"})
    with ScriptedServer(limited, limited_ms) as server:
        async with model_at(server.url + "/v1") as model:
            for expected in (7.0, 0.25):
                with pytest.raises(ModelError) as caught:
                    await model.request(ModelRequest.of("hi"))
                assert caught.value.retryable
                assert caught.value.retry_after == pytest.approx(expected)


async def test_a_server_that_does_not_answer_in_time_is_a_retryable_timeout() -> None:
    with ScriptedServer(Reply(body={}, delay=5.0)) as server:
        async with model_at(server.url + "/v1") as model:
            request = ModelRequest(
                messages=(Message.user("hi"),), settings=ModelSettings(timeout=0.3)
            )
            with pytest.raises(ModelError, match=r"did not answer within 0\.3s") as caught:
                await model.request(request)
    assert caught.value.retryable


async def test_an_unreachable_server_is_a_retryable_error_naming_the_url() -> None:
    with ScriptedServer() as server:
        url = server.url + "/v1"
    async with model_at(url) as model:
        with pytest.raises(ModelError, match="cannot reach") as caught:
            await model.request(ModelRequest.of("hi"))
    assert caught.value.retryable
    assert url in str(caught.value)


async def test_a_body_that_is_not_a_chat_completion_is_a_clear_error() -> None:
    with ScriptedServer(Reply(body="<html>proxy login</html>")) as server:
        async with model_at(server.url + "/v1") as model:
            with pytest.raises(ModelError, match="not a chat completion") as caught:
                await model.request(ModelRequest.of("hi"))
    assert not caught.value.retryable


def chunk(delta: dict[str, object], finish: str | None = None, **extra: object) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "smollm2"}
    return sse(body | {"choices": [choice]} | extra)


async def test_stream_takes_name_and_id_from_the_first_delta_like_llama_cpp_sends() -> None:
    """llama.cpp's server repeats the tool name (and an id) in every chunk."""
    repeated = [
        chunk({"role": "assistant"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                               "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "call_b", "type": "function",
                               "function": {"name": "get_weather", "arguments": 'ty": "Rome"}'}}]}),
        chunk({}, "tool_calls"),
        sse({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "smollm2",
             "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9}}),
        sse("[DONE]"),
    ]  # fmt: skip
    with ScriptedServer(Reply(events=repeated)) as server:
        async with model_at(server.url + "/v1") as model:
            response = await collect(model.stream(ModelRequest.of("weather?", tools=(WEATHER,))))
        sent = server.requests[0].body
    (call,) = response.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_a", "get_weather", {"city": "Rome"})
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 9)
    assert response.model == "smollm2"


async def test_request_carries_tools_settings_and_the_conversation() -> None:
    reply = {
        "id": "x", "object": "chat.completion", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                     "finish_reason": "stop"}],
    }  # fmt: skip
    request = ModelRequest(
        messages=(
            Message.system("sys"),
            Message.user("q"),
            Message.assistant(
                None, (ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"}),)
            ),
            Message.tool("call_1", "rainy"),
        ),
        tools=(WEATHER,),
        settings=ModelSettings(temperature=0.2, max_tokens=50, stop=("END",)),
        output_schema={"type": "object"},
    )
    with ScriptedServer(Reply(body=reply)) as server:
        async with model_at(server.url + "/v1") as model:
            response = await model.request(request)
        sent = server.requests[0]
    assert response.content == "ok"
    assert response.usage.input_tokens == 0
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.body
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool"]
    assert json.loads(body["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Oslo"
    }
    assert body["messages"][3] == {"role": "tool", "content": "rainy", "tool_call_id": "call_1"}
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.2, 50, ["END"])
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}


async def test_a_tool_call_without_a_name_is_a_retryable_error() -> None:
    nameless = {
        "model": "m",
        "choices": [
            {"message": {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}}
        ],
    }
    with ScriptedServer(Reply(body=nameless)) as server:
        async with model_at(server.url + "/v1") as model:
            with pytest.raises(ModelError, match="without a name") as caught:
                await model.request(ModelRequest.of("hi"))
    assert caught.value.retryable
