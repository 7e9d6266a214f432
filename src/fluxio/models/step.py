"""A model call as a journaled step: recorded once, answered from the journal on replay.

``call_model`` is the one way run code (the agent loop, planners, workflows) calls a model.
The step is side-effect free and idempotent, so retries are safe; its retry policy honours a
provider's ``retry_after`` (rate limits). After the response is committed a crash never
calls the model again: replay decodes the recorded ``ModelResponse``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fluxio.dsl.options import RetryPolicy, StepOptions
from fluxio.engine.context import RunContext
from fluxio.models.messages import ModelRequest, ModelResponse
from fluxio.models.port import Model, StreamEnd, StreamEvent
from fluxio.models.stream import StreamAccumulator, stream_of

__all__ = ["MODEL_RETRY", "call_model", "model_step_options", "stream_model"]

MODEL_RETRY = RetryPolicy(max_attempts=4, initial=1.0, multiplier=2.0, max_delay=60.0, jitter=0.2)
"""Default retries of a model step: 4 attempts, 1 s doubling to 60 s (or ``retry_after``)."""

EventSink = Callable[[StreamEvent], Awaitable[None] | None]


def model_step_options(
    model: Model, *, retry: RetryPolicy | None = None, timeout: float | None = None
) -> StepOptions:
    """The step options of a call to ``model``: what governance sees in ``metadata``."""
    return StepOptions(
        retry=retry or MODEL_RETRY,
        timeout=timeout,
        side_effects=False,
        idempotent=True,
        metadata={"kind": "model", "model": model.name},
    )


async def call_model(
    ctx: RunContext,
    model: Model,
    request: ModelRequest,
    key: str | None = None,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
) -> ModelResponse:
    """Ask ``model`` as a durable step named ``model:<name>`` and return its response.

    Args:
        ctx: the run's context.
        model: any ``Model``.
        request: what to ask.
        key: an explicit step key (default: the next number in this scope).
        retry: overrides ``MODEL_RETRY``.
        timeout: a start-to-close limit per attempt, on top of the provider's own.

    Raises:
        ModelError: the model failed and the retry policy gave up (recorded in the journal).
    """
    return await ctx.step(
        model.request,
        request,
        name=f"model:{model.name}",
        key=key,
        options=model_step_options(model, retry=retry, timeout=timeout),
        decode=ModelResponse.model_validate,
    )


async def stream_model(
    ctx: RunContext,
    model: Model,
    request: ModelRequest,
    on_event: EventSink,
    key: str | None = None,
    *,
    retry: RetryPolicy | None = None,
) -> ModelResponse:
    """Like ``call_model``, passing each stream event to ``on_event`` as it arrives.

    Only the final response is journaled: a replay returns it without streaming again.
    """

    async def body(req: ModelRequest) -> ModelResponse:
        accumulator = StreamAccumulator()
        async for event in stream_of(model, req):
            outcome: Any = on_event(event)
            if inspect.isawaitable(outcome):
                await outcome
            if isinstance(event, StreamEnd):
                return event.response
            accumulator.add(event)
        return accumulator.response(model=model.name)

    return await ctx.step(
        body,
        request,
        name=f"model:{model.name}",
        key=key,
        options=model_step_options(model, retry=retry),
        decode=ModelResponse.model_validate,
    )
