"""The ``Model`` port: one required async method, and an optional stream of events.

A model is anything with a ``name`` and ``async request(ModelRequest) -> ModelResponse``.
Providers that can stream also offer ``stream(request)``, an async iterator of
``StreamEvent``: text deltas, tool-call deltas, and a final ``StreamEnd`` carrying the whole
``ModelResponse`` (usage included). ``fluxio.models.stream`` turns any stream into a response
and any model into a stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fluxio.models.messages import ModelRequest, ModelResponse

__all__ = ["Model", "StreamEnd", "StreamEvent", "StreamingModel", "TextDelta", "ToolCallDelta"]


@runtime_checkable
class Model(Protocol):
    """An LLM behind one call: messages, tools and settings in; content, tool calls, usage out.

    Raise ``fluxio.errors.ModelError`` on failure, with ``retryable=True`` for timeouts, 5xx and
    rate limits (and ``retry_after`` when the provider says how long to wait).
    """

    @property
    def name(self) -> str:
        """How the journal and routing name this model (a step is ``model:<name>``)."""
        ...

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer ``request``."""
        ...


@runtime_checkable
class StreamingModel(Model, Protocol):
    """A model that can also stream its answer as it is generated."""

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Yield deltas as they arrive, then one ``StreamEnd`` with the whole response."""
        ...


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call number ``index``.

    The first delta of a call carries its ``id`` and ``name``; later ones carry more of the
    ``arguments`` JSON text. Consumers take id and name from the first delta only (llama.cpp's
    server repeats the name in every chunk).
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of a stream: the complete response, usage included."""

    response: ModelResponse


StreamEvent = TextDelta | ToolCallDelta | StreamEnd
"""One event of a model's stream."""
