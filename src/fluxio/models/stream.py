"""Streams and responses, both ways: collect any stream into a ``ModelResponse``, and stream
any model (one that cannot stream yields its whole answer as one delta).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fluxio.errors import ModelError
from fluxio.models.messages import ModelRequest, ModelResponse, ToolCall, Usage
from fluxio.models.port import Model, StreamEnd, StreamEvent, TextDelta, ToolCallDelta
from fluxio.models.repair import repair_json

__all__ = ["StreamAccumulator", "collect", "parse_arguments", "stream_of"]


def parse_arguments(raw: str, *, tool: str, model: str) -> dict[str, object]:
    """A tool call's arguments JSON as a dict; almost-JSON is repaired deterministically.

    Raises:
        ModelError: (retryable: a new sample may be valid) the arguments are not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = repair_json(raw)
        except ValueError:
            value = None
    if isinstance(value, dict):
        return value
    raise ModelError(
        f"model {model} called tool {tool!r} with arguments that are not a JSON object: "
        f"{raw[:200]!r}. The call was not made; a retry asks the model again.",
        retryable=True,
    )


@dataclass
class _PartialCall:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class StreamAccumulator:
    """Builds a ``ModelResponse`` from stream deltas.

    A tool call's id and name are taken from its first delta that has them and never
    overwritten (llama.cpp repeats the name in every chunk); argument pieces are joined.
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, _PartialCall] = {}

    def add(self, event: StreamEvent) -> None:
        """Take one event into account (``StreamEnd`` is ignored: it is already whole)."""
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = self._calls.setdefault(event.index, _PartialCall())
            call.id = call.id or event.id
            call.name = call.name or event.name
            call.arguments.append(event.arguments)

    def response(
        self, *, model: str, usage: Usage | None = None, finish_reason: str | None = None
    ) -> ModelResponse:
        """The response the deltas so far add up to."""
        calls = tuple(self._tool_call(i, model) for i in sorted(self._calls))
        text = "".join(self._text)
        return ModelResponse(
            content=text or None,
            tool_calls=calls,
            usage=usage or Usage(),
            model=model,
            finish_reason=finish_reason or ("tool_calls" if calls else "stop"),
        )

    def _tool_call(self, index: int, model: str) -> ToolCall:
        call = self._calls[index]
        if not call.name:
            raise ModelError(
                f"model {model} streamed tool call #{index} without a name", retryable=True
            )
        arguments = parse_arguments("".join(call.arguments), tool=call.name, model=model)
        return ToolCall(id=call.id or f"call_{index}", name=call.name, arguments=arguments)


async def collect(stream: AsyncIterator[StreamEvent], *, model: str = "unknown") -> ModelResponse:
    """Consume ``stream`` and return its response (the ``StreamEnd``'s, or the deltas' sum)."""
    accumulator = StreamAccumulator()
    async for event in stream:
        if isinstance(event, StreamEnd):
            return event.response
        accumulator.add(event)
    return accumulator.response(model=model)


async def stream_of(model: Model, request: ModelRequest) -> AsyncIterator[StreamEvent]:
    """Stream ``model``'s answer; a model without ``stream`` yields it whole, then ``StreamEnd``."""
    streamer = getattr(model, "stream", None)
    if callable(streamer):
        async for event in streamer(request):
            yield event
        return
    response = await model.request(request)
    if response.content:
        yield TextDelta(response.content)
    for i, call in enumerate(response.tool_calls):
        yield ToolCallDelta(i, call.id, call.name, json.dumps(call.arguments))
    yield StreamEnd(response)
