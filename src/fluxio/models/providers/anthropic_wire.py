"""The Anthropic Messages wire format as plain dicts: system prompt apart, tool_use and
tool_result content blocks, typed stream events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from fluxio.errors import ModelError
from fluxio.models.messages import Message, ModelRequest, ModelResponse, ToolCall, Usage
from fluxio.models.port import StreamEvent, TextDelta, ToolCallDelta
from fluxio.models.pricing import PriceTable

__all__ = ["event_parts", "request_body", "response_from", "usage_of"]


def request_body(request: ModelRequest, *, max_tokens: int) -> dict[str, Any]:
    """``system``, ``messages``, ``tools`` and settings of a Messages API request."""
    system = "\n\n".join(m.content or "" for m in request.messages if m.role == "system")
    body: dict[str, Any] = {
        "messages": _messages([m for m in request.messages if m.role != "system"]),
        "max_tokens": request.settings.max_tokens or max_tokens,
    }
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    settings = request.settings
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    if settings.top_p is not None:
        body["top_p"] = settings.top_p
    if settings.stop:
        body["stop_sequences"] = list(settings.stop)
    return body


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Tool results become ``tool_result`` blocks of one user message per run of them."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content or "",
            }
            if out and out[-1]["role"] == "user" and _is_tool_results(out[-1]["content"]):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif message.role == "assistant" and message.tool_calls:
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": message.role, "content": message.content or ""})
    return out


def _is_tool_results(content: Any) -> bool:
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def usage_of(
    data: Mapping[str, Any] | None, model: str, prices: PriceTable, latency_ms: float
) -> Usage:
    """``Usage`` from Anthropic's ``usage`` (input and output tokens), priced."""
    data = data or {}
    tokens_in = int(data.get("input_tokens") or 0)
    tokens_out = int(data.get("output_tokens") or 0)
    return Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=prices.cost(model, tokens_in, tokens_out),
        latency_ms=latency_ms,
    )


def response_from(
    data: Any, *, where: str, model: str, prices: PriceTable, latency_ms: float
) -> ModelResponse:
    """A ``ModelResponse`` from a Messages API ``message`` body."""
    blocks = data.get("content") if isinstance(data, Mapping) else None
    if not isinstance(blocks, list):
        raise ModelError(
            f"{where} returned something that is not a message: {str(data)[:300]!r}",
            retryable=False,
        )
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = tuple(
        ToolCall(id=str(b["id"]), name=str(b["name"]), arguments=dict(b.get("input") or {}))
        for b in blocks
        if b.get("type") == "tool_use"
    )
    answered_by = str(data.get("model") or model)
    return ModelResponse(
        content=text or None,
        tool_calls=calls,
        usage=usage_of(data.get("usage"), answered_by, prices, latency_ms),
        model=answered_by,
        finish_reason=data.get("stop_reason"),
    )


def event_parts(event: Mapping[str, Any]) -> Iterator[StreamEvent]:
    """The deltas in one stream event (``content_block_start`` and ``_delta``)."""
    kind = event.get("type")
    index = int(event.get("index") or 0)
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            yield TextDelta(str(block["text"]))
        elif block.get("type") == "tool_use":
            start = block.get("input") or {}
            yield ToolCallDelta(
                index, block.get("id"), block.get("name"), json.dumps(start) if start else ""
            )
    elif kind == "content_block_delta":
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            yield TextDelta(str(delta.get("text", "")))
        elif delta.get("type") == "input_json_delta":
            yield ToolCallDelta(index, arguments=str(delta.get("partial_json", "")))
