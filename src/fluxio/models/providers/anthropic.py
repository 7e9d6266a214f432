"""Anthropic's Messages API: system prompt, tools as tool_use / tool_result blocks, usage,
streaming (message_start, content_block_*, message_delta, message_stop).

Needs the ``anthropic`` extra (``pip install 'fluxio[anthropic]'``). As with the OpenAI
provider, the SDK's own retries are off and failures become ``ModelError``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fluxio.errors import ModelError, UsageError
from fluxio.models.messages import ModelRequest, ModelResponse
from fluxio.models.port import StreamEnd, StreamEvent
from fluxio.models.pricing import DEFAULT_PRICES, PriceTable
from fluxio.models.providers import anthropic_wire as wire
from fluxio.models.providers.extras import require
from fluxio.models.providers.http_errors import provider_message, status_error
from fluxio.models.stream import StreamAccumulator

__all__ = ["AnthropicModel"]


class AnthropicModel:
    """A Claude model through the Messages API.

    Args:
        model: the model id (``claude-3-5-haiku-latest``, ...).
        base_url: another endpoint speaking the same protocol; ``None`` is Anthropic's.
        api_key: the key; default ``ANTHROPIC_API_KEY``; a custom ``base_url`` may need none.
        name: the model's name in the journal (default: ``model``).
        prices: the price table for ``Usage.cost_usd``.
        timeout: seconds per request unless ``ModelSettings.timeout`` says otherwise.
        max_tokens: the answer's token limit when ``ModelSettings.max_tokens`` is unset (the
            API requires one).

    Raises:
        UsageError: the ``anthropic`` package is missing, or no API key is available.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        prices: PriceTable | None = None,
        timeout: float = 60.0,
        max_tokens: int = 1024,
    ) -> None:
        self._sdk = require("anthropic", extra="anthropic", provider="Anthropic")
        self._httpx = require("httpx2", extra="anthropic", provider="Anthropic")
        key = api_key or os.environ.get("ANTHROPIC_API_KEY") or ("unused" if base_url else None)
        if key is None:
            raise UsageError("no API key for Anthropic: set ANTHROPIC_API_KEY or pass api_key=...")
        self.model = model
        self.base_url = base_url or "https://api.anthropic.com"
        self.prices = prices or DEFAULT_PRICES
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._name = name or model
        self._client: Any = self._sdk.AsyncAnthropic(
            api_key=key, base_url=base_url, timeout=timeout, max_retries=0
        )

    @property
    def name(self) -> str:
        """The model's name in the journal."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """One Messages API call."""
        started = time.perf_counter()
        try:
            raw = await self._client.messages.with_raw_response.create(**self._body(request))
            try:
                data = raw.http_response.json()
            except ValueError:
                data = raw.http_response.text
        except (self._sdk.AnthropicError, self._httpx.HTTPError) as exc:
            raise self._error(exc, request) from exc
        return wire.response_from(
            data,
            where=self._where,
            model=self.model,
            prices=self.prices,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream a message: text and tool-input deltas, then ``StreamEnd`` with usage."""
        started = time.perf_counter()
        accumulator = StreamAccumulator()
        usage: dict[str, Any] = {}
        finish: str | None = None
        answered_by = self.model
        try:
            stream = await self._client.messages.create(**self._body(request), stream=True)
            try:
                async for raw_event in stream:
                    event = raw_event.model_dump()
                    for part in wire.event_parts(event):
                        accumulator.add(part)
                        yield part
                    answered_by = _model_of(event) or answered_by
                    usage |= _usage_of(event)
                    finish = _stop_reason_of(event) or finish
            finally:
                await stream.close()
        except (self._sdk.AnthropicError, self._httpx.HTTPError) as exc:
            raise self._error(exc, request) from exc
        latency = (time.perf_counter() - started) * 1000
        cost = wire.usage_of(usage, answered_by, self.prices, latency)
        yield StreamEnd(accumulator.response(model=answered_by, usage=cost, finish_reason=finish))

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def __aenter__(self) -> AnthropicModel:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    @property
    def _where(self) -> str:
        return f"model {self.model} at {self.base_url}"

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body = wire.request_body(request, max_tokens=self.max_tokens)
        # Newer SDKs dropped sampling keywords from create(); the API takes them in the body.
        sampling = {k: body.pop(k) for k in ("temperature", "top_p") if k in body}
        if sampling:
            body["extra_body"] = sampling
        body["model"] = self.model
        body["timeout"] = request.settings.timeout or self.timeout
        return body

    def _error(self, exc: Exception, request: ModelRequest) -> ModelError:
        sdk, httpx = self._sdk, self._httpx
        if isinstance(exc, sdk.APITimeoutError | httpx.TimeoutException):
            waited = request.settings.timeout or self.timeout
            return ModelError(f"{self._where} did not answer within {waited:g}s", retryable=True)
        if isinstance(exc, sdk.APIConnectionError | httpx.TransportError):
            return ModelError(
                f"cannot reach {self._where}: {exc}. Check the base URL.", retryable=True
            )
        if isinstance(exc, sdk.APIStatusError):
            message = provider_message(exc.body, exc.message)
            return status_error(self._where, exc.status_code, message, exc.response.headers)
        return ModelError(f"{self._where} failed: {exc}", retryable=False)


def _model_of(event: Mapping[str, Any]) -> str | None:
    message = event.get("message") if event.get("type") == "message_start" else None
    return str(message["model"]) if message and message.get("model") else None


def _usage_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """Input tokens arrive in message_start; output tokens (cumulative) in message_delta."""
    if event.get("type") == "message_start":
        usage = (event.get("message") or {}).get("usage") or {}
    elif event.get("type") == "message_delta":
        usage = event.get("usage") or {}
    else:
        return {}
    return {k: v for k, v in usage.items() if k in ("input_tokens", "output_tokens") and v}


def _stop_reason_of(event: Mapping[str, Any]) -> str | None:
    if event.get("type") != "message_delta":
        return None
    reason = (event.get("delta") or {}).get("stop_reason")
    return str(reason) if reason else None
