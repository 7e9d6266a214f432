"""Recorded-response replay: record over real HTTP once, replay offline by request hash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from model_servers import FakeLLM, Reply, ScriptedServer

from fluxio import Engine, RunContext
from fluxio.errors import ModelError, UsageError
from fluxio.models import Message, ModelRequest, OpenAIModel, ToolDefinition, call_model
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import Cassette, FakeModel, RecordingModel, ReplayModel, cassette_model

pytestmark = pytest.mark.anyio

CASSETTE = Path(__file__).parent / "cassettes" / "weather_agent.json"
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def completion(text: str) -> dict[str, Any]:
    return {
        "model": "m",
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }


async def test_record_over_http_then_replay_offline(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    first, second = ModelRequest.of("one"), ModelRequest.of("two")
    with ScriptedServer(Reply(body=completion("uno")), Reply(body=completion("dos"))) as server:
        async with OpenAIModel("m", base_url=server.url + "/v1", api_key="k") as real:
            recorder = RecordingModel(real, path)
            recorded = [await recorder.request(first), await recorder.request(second)]
    # the server is gone: only the cassette can answer now
    replay = ReplayModel(path)
    assert replay.name == "m"
    assert [await replay.request(second), await replay.request(first)] == recorded[::-1]
    with pytest.raises(UsageError, match="no recording for this request"):
        await replay.request(ModelRequest.of("three"))


async def test_the_checked_in_cassette_drives_a_durable_agent_run(tmp_path: Path) -> None:
    model = ReplayModel(CASSETTE)

    async def weather_agent(ctx: RunContext, city: str) -> str | None:
        request = ModelRequest.of(
            f"What is the weather in {city}?", system="You are a weather bot.", tools=(WEATHER,)
        )
        first = await call_model(ctx, model, request)
        (call,) = first.tool_calls
        result = Message.tool(call.id, "sunny, 24C", name=call.name)
        final = await call_model(ctx, model, request.followed_by(first.as_message(), result))
        return final.content

    store = SQLiteStore(tmp_path / "runs.db", durability="normal")
    try:
        engine = Engine(store, workflows={"weather": weather_agent})
        assert await engine.run("weather", "Paris") == "It is sunny in Paris."
        run = (await engine.list_runs())[0]
        names = [e.name for e in await engine.journal(run.run_id)]
    finally:
        await store.close()
    assert names == ["model:weather-bot", "model:weather-bot"]


async def test_cassette_model_records_with_fakellm_once_then_replays(
    fakellm: FakeLLM, tmp_path: Path
) -> None:
    path = tmp_path / "hello.json"
    request = ModelRequest.of("hello replay")
    async with OpenAIModel("gpt-test", base_url=fakellm.url, api_key="k") as real:
        recorder = cassette_model(path, real)
        assert isinstance(recorder, RecordingModel)
        live = await recorder.request(request)
    replayer = cassette_model(path)
    assert isinstance(replayer, ReplayModel)
    assert await replayer.request(request) == live
    assert json.loads(path.read_text())["version"] == 1


async def test_repeated_requests_replay_in_order_and_errors_replay_too(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    request = ModelRequest.of("flaky")
    cassette.record("m", request, ModelError("overloaded", retryable=True, retry_after=1.0))
    cassette.record("m", request, await FakeModel(["fine"]).request(request))
    replay = ReplayModel(tmp_path / "c.json")
    with pytest.raises(ModelError, match="overloaded") as caught:
        await replay.request(request)
    assert caught.value.retry_after == 1.0
    assert (await replay.request(request)).content == "fine"
    assert (await replay.request(request)).content == "fine"  # the last one repeats


async def test_recording_keeps_errors_from_the_real_model(tmp_path: Path) -> None:
    with ScriptedServer(Reply(503, {"error": {"message": "busy"}})) as server:
        async with OpenAIModel("m", base_url=server.url + "/v1", api_key="k") as real:
            with pytest.raises(ModelError, match="busy"):
                await RecordingModel(real, tmp_path / "e.json").request(ModelRequest.of("x"))
    with pytest.raises(ModelError, match="busy"):
        await ReplayModel(tmp_path / "e.json").request(ModelRequest.of("x"))


def test_missing_or_broken_cassettes_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no cassette at"):
        ReplayModel(tmp_path / "absent.json")
    with pytest.raises(UsageError, match="no model to record"):
        cassette_model(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    with pytest.raises(UsageError, match="not a fluxio cassette"):
        Cassette(broken)
    broken.write_text("{not json")
    with pytest.raises(UsageError, match="cannot read cassette"):
        Cassette(broken)


async def test_recording_survives_concurrent_requests(tmp_path: Path) -> None:
    recorder = RecordingModel(FakeModel(default="same"), tmp_path / "many.json")
    await asyncio.gather(*(recorder.request(ModelRequest.of(str(i))) for i in range(5)))
    assert len(Cassette(tmp_path / "many.json").interactions) == 5
