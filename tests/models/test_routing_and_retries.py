"""Routing by task, fallback chains, and retries outside a run (over real HTTP too)."""

from __future__ import annotations

import logging

import pytest
from model_servers import Reply, ScriptedServer

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import ModelError, UsageError
from fluxio.models import (
    FallbackModel,
    ModelRequest,
    OpenAIModel,
    RetryingModel,
    Router,
    StreamEnd,
    collect,
)
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=3, initial=0.001, jitter=0)


async def test_router_sends_each_task_to_its_model() -> None:
    small, large = FakeModel(default="small says"), FakeModel(default="large says")
    router = Router({"classify": small, "plan": large}, default=small)
    assert (await router.request(ModelRequest.of("x", task="plan"))).content == "large says"
    assert (await router.request(ModelRequest.of("x", task="classify"))).content == "small says"
    assert (await router.request(ModelRequest.of("x"))).content == "small says"
    assert (small.calls, large.calls) == (2, 1)


async def test_router_without_default_refuses_unknown_tasks_clearly() -> None:
    router = Router({"plan": FakeModel(default="x")})
    with pytest.raises(UsageError, match=r"no model for task 'summarize'.*one of: plan"):
        await router.request(ModelRequest.of("x", task="summarize"))


async def test_router_streams_from_the_chosen_model() -> None:
    router = Router({"plan": FakeModel(default="a plan")})
    response = await collect(router.stream(ModelRequest.of("x", task="plan")))
    assert response.content == "a plan"


async def test_fallback_answers_from_the_next_model_on_retryable_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary = FakeModel([FakeModel.error("503 overloaded")], name="primary")
    backup = FakeModel(["backup answer"], name="backup")
    chain = FallbackModel([primary, backup])
    with caplog.at_level(logging.WARNING, logger="fluxio.models"):
        response = await chain.request(ModelRequest.of("hi"))
    assert response.content == "backup answer"
    assert response.model == "backup"  # which model answered is recorded in the response
    assert chain.name == "fallback(primary,backup)"
    assert "primary failed" in caplog.text


async def test_fallback_stops_at_a_non_retryable_error() -> None:
    primary = FakeModel([FakeModel.error("bad request", retryable=False)], name="primary")
    backup = FakeModel(["never"], name="backup")
    with pytest.raises(ModelError, match="bad request"):
        await FallbackModel([primary, backup]).request(ModelRequest.of("hi"))
    assert backup.calls == 0


async def test_fallback_that_runs_out_names_every_failure() -> None:
    chain = FallbackModel(
        [
            FakeModel([FakeModel.error("timeout", retry_after=5.0)], name="a"),
            FakeModel([FakeModel.error("rate limited", retry_after=2.0)], name="b"),
        ]
    )
    with pytest.raises(ModelError, match=r"a: timeout; b: rate limited") as caught:
        await chain.request(ModelRequest.of("hi"))
    assert caught.value.retryable
    assert caught.value.retry_after == 2.0


async def test_fallback_streams_from_the_first_model_that_starts() -> None:
    chain = FallbackModel(
        [FakeModel([FakeModel.error("down")], name="a"), FakeModel(["streamed"], name="b")]
    )
    events = [e async for e in chain.stream(ModelRequest.of("hi"))]
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].response.model == "b"


async def test_empty_chains_and_routers_are_refused() -> None:
    with pytest.raises(UsageError):
        FallbackModel([])
    with pytest.raises(UsageError):
        Router({})


async def test_retrying_model_waits_retry_after_then_succeeds() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    model = FakeModel([FakeModel.error("429", retry_after=1.5), FakeModel.error("500"), "ok"])
    retrying = RetryingModel(model, policy=FAST, sleep=sleep)
    assert (await retrying.request(ModelRequest.of("hi"))).content == "ok"
    assert waits == [1.5, 0.002]  # the server's retry-after, then backoff
    assert retrying.name == "fake"


async def test_retrying_model_gives_up_on_non_retryable_and_too_long_waits() -> None:
    never = RetryingModel(FakeModel([FakeModel.error("401", retryable=False)]), policy=FAST)
    with pytest.raises(ModelError, match="401"):
        await never.request(ModelRequest.of("hi"))
    patient = RetryPolicy(max_attempts=3, max_delay=10.0)
    too_long = RetryingModel(FakeModel([FakeModel.error("429", retry_after=3600)]), policy=patient)
    with pytest.raises(ModelError, match="429"):
        await too_long.request(ModelRequest.of("hi"))


async def test_retrying_model_retries_a_rate_limited_http_provider() -> None:
    ok = {"choices": [{"message": {"role": "assistant", "content": "finally"}}], "model": "m"}
    replies = (
        Reply(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "20"}),
        Reply(503, {"error": {"message": "busy"}}),
        Reply(body=ok),
    )
    with ScriptedServer(*replies) as server:
        async with OpenAIModel("m", base_url=server.url + "/v1", api_key="k") as provider:
            model = RetryingModel(provider, policy=FAST)
            response = await model.request(ModelRequest.of("hi"))
        assert len(server.requests) == 3
    assert response.content == "finally"


async def test_retrying_stream_retries_before_the_first_event() -> None:
    model = RetryingModel(FakeModel([FakeModel.error("down"), "up"]), policy=FAST)
    response = await collect(model.stream(ModelRequest.of("hi")))
    assert response.content == "up"
