"""OpenAI-compatible chat completions: OpenAI, Ollama, vLLM, llama.cpp's server, any base_url.

Needs the ``openai`` extra (``pip install 'fluxio[openai]'``). The SDK's own retries are
off: a model call's retries belong to its step's retry policy (or ``RetryingModel``), which
honours the ``retry_after`` this provider reads from rate-limit responses.

Garbage tool-call arguments (not a JSON object even after deterministic repair) raise a
retryable ``ModelError``: the call is not made, and a retry samples the model again.
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
from fluxio.models.providers import openai_wire as wire
from fluxio.models.providers.extras import require
from fluxio.models.providers.http_errors import provider_message, status_error
from fluxio.models.stream import StreamAccumulator

__all__ = ["OpenAIModel"]


class OpenAIModel:
    """A model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Args:
        model: the model id the server knows (``gpt-4o-mini``, ``llama3.2``, ...).
        base_url: the server's ``/v1`` URL; ``None`` is OpenAI itself.
        api_key: the key; default ``OPENAI_API_KEY``; a local ``base_url`` needs none.
        name: the model's name in the journal (default: ``model``).
        prices: the price table for ``Usage.cost_usd`` (default ``DEFAULT_PRICES``).
        timeout: seconds per request unless ``ModelSettings.timeout`` says otherwise.
        json_schema: send ``response_format`` when a request has an ``output_schema``
            (turn off for servers that reject it).
        stream_usage: ask for usage in streams (``stream_options.include_usage``).
        headers: extra HTTP headers on every request.

    Raises:
        UsageError: the ``openai`` package is missing, or no API key is available.
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
        json_schema: bool = True,
        stream_usage: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._sdk = require("openai", extra="openai", provider="OpenAI-compatible")
        self._httpx = require("httpx2", extra="openai", provider="OpenAI-compatible")
        key = api_key or os.environ.get("OPENAI_API_KEY") or ("unused" if base_url else None)
        if key is None:
            raise UsageError(
                "no API key for OpenAI: set OPENAI_API_KEY (or pass api_key=...), or give "
                "base_url of a local OpenAI-compatible server (Ollama, vLLM, llama.cpp) that "
                "needs none"
            )
        self.model = model
        self.base_url = base_url or "https://api.openai.com/v1"
        self.prices = prices or DEFAULT_PRICES
        self.timeout = timeout
        self.json_schema = json_schema
        self.stream_usage = stream_usage
        self._name = name or model
        self._client: Any = self._sdk.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            default_headers=dict(headers or {}),
        )

    @property
    def name(self) -> str:
        """The model's name in the journal."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """One chat completion."""
        started = time.perf_counter()
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                **self._body(request)
            )
            data = _json_of(raw)
        except (self._sdk.OpenAIError, self._httpx.HTTPError) as exc:
            raise self._error(exc, request) from exc
        return wire.response_from(
            data,
            where=self._where,
            model=self.model,
            prices=self.prices,
            latency_ms=_ms_since(started),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream a chat completion: text and tool-call deltas, then ``StreamEnd``."""
        started = time.perf_counter()
        body = self._body(request) | {"stream": True}
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        accumulator = StreamAccumulator()
        usage: Mapping[str, Any] | None = None
        finish: str | None = None
        answered_by = self.model
        try:
            stream = await self._client.chat.completions.create(**body)
            try:
                async for chunk in stream:
                    data = chunk.model_dump()
                    answered_by = str(data.get("model") or answered_by)
                    for event in wire.chunk_events(data):
                        accumulator.add(event)
                        yield event
                    chunk_usage, chunk_finish = wire.chunk_usage(data)
                    usage, finish = chunk_usage or usage, chunk_finish or finish
            finally:
                await stream.close()
        except (self._sdk.OpenAIError, self._httpx.HTTPError) as exc:
            raise self._error(exc, request) from exc
        cost = wire.usage_from(usage, answered_by, self.prices, _ms_since(started))
        yield StreamEnd(accumulator.response(model=answered_by, usage=cost, finish_reason=finish))

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def __aenter__(self) -> OpenAIModel:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    @property
    def _where(self) -> str:
        return f"model {self.model} at {self.base_url}"

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body = wire.request_body(request, json_schema=self.json_schema)
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
                f"cannot reach {self._where}: {exc}. Check that the server is running and the "
                "base URL is right.",
                retryable=True,
            )
        if isinstance(exc, sdk.APIStatusError):
            message = provider_message(exc.body, exc.message)
            return status_error(self._where, exc.status_code, message, exc.response.headers)
        return ModelError(f"{self._where} failed: {exc}", retryable=False)


def _json_of(raw: Any) -> Any:
    """The decoded JSON body, or the text itself when the server sent something else."""
    try:
        return raw.http_response.json()
    except ValueError:
        return raw.http_response.text


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
