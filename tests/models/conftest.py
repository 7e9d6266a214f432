"""Fixtures for the model tests: the fakellm server with the rules the tests script."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from model_servers import FakeLLM

RULES = [
    {
        "name": "weather-answer",
        "when": {"tool_result_contains": "sunny"},
        "respond": {"content": "It is sunny in Paris."},
    },
    {
        "name": "hello",
        "when": {"messages_contain": "hello"},
        "respond": {"content": "Hi there friend, how can I help?"},
    },
    {
        "name": "weather",
        "when": {"messages_contain": "weather"},
        "respond": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    },
    {
        "name": "two-tools",
        "when": {"messages_contain": "both tools"},
        "respond": {
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Oslo"}},
                {"name": "get_time", "arguments": {"zone": "CET"}},
            ]
        },
    },
    {
        "name": "garbage-args",
        "when": {"messages_contain": "garbage"},
        "respond": {"tool_calls": [{"name": "get_weather", "arguments": "not json at all"}]},
    },
    {
        "name": "server-error",
        "when": {"messages_contain": "explode"},
        "respond": {"status": 500, "error": "upstream exploded"},
    },
    {
        "name": "rate-limit",
        "when": {"messages_contain": "too fast"},
        "respond": {"status": 429, "error": "Rate limit exceeded"},
    },
    {
        "name": "bad-request",
        "when": {"messages_contain": "invalid please"},
        "respond": {"status": 400, "error": "Unknown parameter: frobnicate"},
    },
]


@pytest.fixture(scope="session")
def fakellm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeLLM]:
    """fakellm's scripted OpenAI-compatible server, shared by the model tests."""
    with FakeLLM(RULES, tmp_path_factory.mktemp("fakellm")) as server:
        yield server


def pytest_configure(config: pytest.Config) -> None:
    # Registered here until pyproject lists it: opt-in tests against a real local model.
    config.addinivalue_line(
        "markers", "real_model: needs a real model at FLUXIO_REAL_MODEL_URL (off by default)"
    )
