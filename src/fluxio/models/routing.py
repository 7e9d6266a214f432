"""Choosing a model per call: by the request's task (``Router``), or down a chain of models
until one answers (``FallbackModel``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence

from fluxio.errors import ModelError, UsageError
from fluxio.models.messages import ModelRequest, ModelResponse
from fluxio.models.port import Model, StreamEvent
from fluxio.models.stream import stream_of

__all__ = ["FallbackModel", "Router"]

log = logging.getLogger("fluxio.models")


class Router:
    """Sends each request to the model registered for its ``task``.

    Args:
        routes: task name → model (e.g. ``{"classify": small, "plan": large}``).
        default: the model for requests without a task or with an unrouted one; without a
            default such requests are refused with a ``UsageError``.
        name: the router's name in the journal.
    """

    def __init__(
        self, routes: Mapping[str, Model], *, default: Model | None = None, name: str = "router"
    ) -> None:
        if not routes and default is None:
            raise UsageError("a Router needs at least one route or a default model")
        self.routes = dict(routes)
        self.default = default
        self._name = name

    @property
    def name(self) -> str:
        """The router's name."""
        return self._name

    def choose(self, request: ModelRequest) -> Model:
        """The model that answers ``request``."""
        if request.task is not None and request.task in self.routes:
            return self.routes[request.task]
        if self.default is not None:
            return self.default
        known = ", ".join(sorted(self.routes))
        raise UsageError(
            f"router {self.name} has no model for task {request.task!r} and no default; "
            f"set ModelRequest.task to one of: {known}, or give the router a default model"
        )

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the model chosen for ``request.task``."""
        return await self.choose(request).request(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream the chosen model's answer."""
        async for event in stream_of(self.choose(request), request):
            yield event


class FallbackModel:
    """Tries each model in turn while they fail with retryable errors.

    A non-retryable error (bad request, auth) stops the chain at once: the next model would
    most likely be asked wrongly too. The response's ``model`` field names the model that
    answered; a log line on ``fluxio.models`` names each one that failed.

    Args:
        models: the chain, preferred first.
        name: the chain's name in the journal (default ``fallback(a,b,...)``).
    """

    def __init__(self, models: Sequence[Model], *, name: str | None = None) -> None:
        if not models:
            raise UsageError("a FallbackModel needs at least one model")
        self.models = tuple(models)
        self._name = name or f"fallback({','.join(m.name for m in self.models)})"

    @property
    def name(self) -> str:
        """The chain's name."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The first answer any model in the chain gives."""
        failures: list[tuple[str, ModelError]] = []
        for model in self.models:
            try:
                return await model.request(request)
            except ModelError as error:
                if not error.retryable:
                    raise
                log.warning("fallback %s: %s failed (%s)", self.name, model.name, error)
                failures.append((model.name, error))
        raise _exhausted(self.name, failures)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream from the first model that starts answering."""
        failures: list[tuple[str, ModelError]] = []
        for model in self.models:
            started = False
            try:
                async for event in stream_of(model, request):
                    started = True
                    yield event
                return
            except ModelError as error:
                if started or not error.retryable:
                    raise
                log.warning("fallback %s: %s failed (%s)", self.name, model.name, error)
                failures.append((model.name, error))
        raise _exhausted(self.name, failures)


def _exhausted(name: str, failures: list[tuple[str, ModelError]]) -> ModelError:
    detail = "; ".join(f"{model}: {error}" for model, error in failures)
    waits = [e.retry_after for _, e in failures if e.retry_after is not None]
    return ModelError(
        f"every model of {name} failed: {detail}",
        retryable=True,
        retry_after=min(waits) if waits else None,
    )
