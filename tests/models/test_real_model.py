"""Opt-in: a short chat and a tool call against a real OpenAI-compatible server.

Skipped unless ``FLUXIO_REAL_MODEL_URL`` is set, e.g. to llama.cpp's server running the
SmolLM2-135M GGUF (see docs/models.md, "Testing against a real model"):

    FLUXIO_REAL_MODEL_URL=http://127.0.0.1:8080/v1 pytest -m real_model tests/models
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext
from fluxio.models import (
    Message,
    ModelRequest,
    ModelSettings,
    OpenAIModel,
    ToolDefinition,
    call_model,
)
from fluxio.store.sqlite import SQLiteStore

URL = os.environ.get("FLUXIO_REAL_MODEL_URL")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.real_model,
    pytest.mark.skipif(not URL, reason="set FLUXIO_REAL_MODEL_URL to run against a real model"),
]

WEATHER = ToolDefinition(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "the city"}},
        "required": ["city"],
    },
)
SETTINGS = ModelSettings(temperature=0.0, max_tokens=96, timeout=120.0)


def real_model() -> OpenAIModel:
    assert URL is not None
    return OpenAIModel(os.environ.get("FLUXIO_REAL_MODEL", "default"), base_url=URL)


async def test_a_real_model_chats_and_reports_usage() -> None:
    async with real_model() as model:
        request = ModelRequest.of("Say hello in one short sentence.").model_copy(
            update={"settings": SETTINGS}
        )
        response = await model.request(request)
        streamed = [event async for event in model.stream(request)]
    assert response.content
    assert response.content.strip()
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert streamed


async def test_a_real_model_runs_a_tool_loop_as_a_durable_run(tmp_path: Path) -> None:
    async with real_model() as model:
        calls: list[dict[str, Any]] = []

        async def loop(ctx: RunContext, city: str) -> str:
            request = ModelRequest(
                messages=(
                    Message.system("Use the get_weather tool to answer weather questions."),
                    Message.user(f"What is the weather in {city}?"),
                ),
                tools=(WEATHER,),
                settings=SETTINGS,
            )
            for _ in range(3):
                response = await call_model(ctx, model, request)
                if not response.tool_calls:
                    return response.content or ""
                request = request.followed_by(response.as_message())
                for call in response.tool_calls:
                    calls.append(call.arguments)
                    request = request.followed_by(Message.tool(call.id, "sunny, 24C", call.name))
            return "stopped after 3 turns"

        store = SQLiteStore(tmp_path / "runs.db", durability="normal")
        try:
            engine = Engine(store, workflows={"loop": loop})
            answer = await engine.run("loop", "Paris")
            run = (await engine.list_runs())[0]
            journal = await engine.journal(run.run_id)
        finally:
            await store.close()
    assert isinstance(answer, str)
    assert journal
    assert all(entry.ok for entry in journal)
    assert all(isinstance(arguments, dict) for arguments in calls)
