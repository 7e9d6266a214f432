"""Retries for model calls made outside a run (inside one, the step's retry policy does it).

``RetryingModel`` wraps any model: a retryable ``ModelError`` (timeout, 5xx, 429) is tried
again after the provider's ``retry_after`` if it gave one, else after exponential backoff.
Do not wrap a model you pass to ``call_model``: the step already retries, and the two would
multiply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import ModelError
from fluxio.models.messages import ModelRequest, ModelResponse
from fluxio.models.port import Model, StreamEvent
from fluxio.models.step import MODEL_RETRY
from fluxio.models.stream import stream_of

__all__ = ["RetryingModel"]

log = logging.getLogger("fluxio.models")


class RetryingModel:
    """A model that retries transient failures of the model it wraps.

    Args:
        model: the model to call.
        policy: attempts and backoff; ``retry_after`` from the provider wins over backoff, but
            a wait longer than ``policy.max_delay`` gives up at once instead of sleeping.
        sleep: how to wait (tests pass a fake).
    """

    def __init__(
        self,
        model: Model,
        *,
        policy: RetryPolicy = MODEL_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.policy = policy
        self._sleep = sleep

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.model.name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the wrapped model, retrying transient failures."""
        attempt = 1
        while True:
            try:
                return await self.model.request(request)
            except ModelError as error:
                await self._wait_or_raise(error, attempt)
                attempt += 1

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream the wrapped model's answer; retries only before the first event arrived."""
        attempt = 1
        while True:
            started = False
            try:
                async for event in stream_of(self.model, request):
                    started = True
                    yield event
                return
            except ModelError as error:
                if started:
                    raise
                await self._wait_or_raise(error, attempt)
                attempt += 1

    async def _wait_or_raise(self, error: ModelError, attempt: int) -> None:
        if not self.policy.should_retry(error, attempt):
            raise error
        delay = self.policy.delay(attempt, error)
        if delay > self.policy.max_delay:
            raise error
        log.info("model %s failed (%s); attempt %d in %.2fs", self.name, error, attempt + 1, delay)
        await self._sleep(delay)
