"""The OpenAI chat-completions wire format, as plain dicts (shared by the OpenAI-compatible
provider and in-process llama.cpp, whose ``create_chat_completion`` speaks it too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from fluxio.errors import ModelError
from fluxio.models.messages import Message, ModelRequest, ModelResponse, ToolCall, Usage
from fluxio.models.port import StreamEvent, TextDelta, ToolCallDelta
from fluxio.models.pricing import PriceTable
from fluxio.models.stream import parse_arguments

__all__ = ["chunk_events", "chunk_usage", "request_body", "response_from", "usage_from"]


def request_body(request: ModelRequest, *, json_schema: bool = True) -> dict[str, Any]:
    """``messages``, ``tools`` and sampling settings of a chat-completions request."""
    body: dict[str, Any] = {"messages": [_message(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    settings = request.settings
    for key in ("temperature", "max_tokens", "top_p"):
        value = getattr(settings, key)
        if value is not None:
            body[key] = value
    if settings.stop:
        body["stop"] = list(settings.stop)
    if request.output_schema is not None and json_schema:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": request.output_schema},
        }
    return body


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out["content"] = message.content or ""
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    elif message.content is None:
        out["content"] = ""
    if message.name and message.role in ("user", "assistant"):
        out["name"] = message.name
    return out


def usage_from(
    data: Mapping[str, Any] | None, model: str, prices: PriceTable, latency_ms: float
) -> Usage:
    """``Usage`` from a ``usage`` object (prompt/completion tokens), priced by ``prices``."""
    data = data or {}
    tokens_in = int(data.get("prompt_tokens") or 0)
    tokens_out = int(data.get("completion_tokens") or 0)
    return Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=prices.cost(model, tokens_in, tokens_out),
        latency_ms=latency_ms,
    )


def response_from(
    data: Any, *, where: str, model: str, prices: PriceTable, latency_ms: float
) -> ModelResponse:
    """A ``ModelResponse`` from a chat-completion body.

    Raises:
        ModelError: the body is not a chat completion (not retryable: the server is wrong),
            or a tool call's arguments are not a JSON object (retryable).
    """
    choices = data.get("choices") if isinstance(data, Mapping) else None
    if not choices or not isinstance(choices[0], Mapping):
        raise ModelError(
            f"{where} returned something that is not a chat completion: {str(data)[:300]!r}. "
            "Check that the base URL points at an OpenAI-compatible /v1 endpoint.",
            retryable=False,
        )
    choice = choices[0]
    message = choice.get("message") or {}
    answered_by = str(data.get("model") or model)
    calls = tuple(
        _tool_call(c, i, answered_by) for i, c in enumerate(message.get("tool_calls") or ())
    )
    return ModelResponse(
        content=message.get("content"),
        tool_calls=calls,
        usage=usage_from(data.get("usage"), answered_by, prices, latency_ms),
        model=answered_by,
        finish_reason=choice.get("finish_reason"),
    )


def _tool_call(data: Mapping[str, Any], index: int, model: str) -> ToolCall:
    function = data.get("function") or {}
    name = str(function.get("name") or "")
    if not name:
        raise ModelError(f"model {model} made tool call #{index} without a name", retryable=True)
    raw = function.get("arguments")
    arguments = (
        raw if isinstance(raw, dict) else parse_arguments(str(raw or ""), tool=name, model=model)
    )
    return ToolCall(id=str(data.get("id") or f"call_{index}"), name=name, arguments=arguments)


def chunk_events(chunk: Mapping[str, Any]) -> Iterator[StreamEvent]:
    """The stream events in one ``chat.completion.chunk``."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            yield TextDelta(str(delta["content"]))
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            yield ToolCallDelta(
                index=int(call.get("index") or 0),
                id=call.get("id"),
                name=function.get("name"),
                arguments=str(function.get("arguments") or ""),
            )


def chunk_usage(chunk: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str | None]:
    """The ``usage`` (sent in the last chunk with ``include_usage``) and finish reason, if any."""
    finish = next(
        (c.get("finish_reason") for c in chunk.get("choices") or () if c.get("finish_reason")),
        None,
    )
    return chunk.get("usage"), finish
