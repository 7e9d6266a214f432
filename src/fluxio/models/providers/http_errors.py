"""HTTP failures of a provider, as ``ModelError``: what is transient, how long to wait.

Timeouts, connection failures, 408, 409, 429 and 5xx are retryable; a 429 or 503's
``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) becomes ``retry_after``.
Other 4xx are not retryable and carry the provider's own message plus what to check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from fluxio.errors import ModelError

__all__ = ["provider_message", "retry_after", "status_error"]

_RETRYABLE = frozenset({408, 409, 425, 429})
_ADVICE = {
    400: "the request was refused as invalid; check the model's settings and tools",
    401: "the API key was refused; check the key (or its environment variable)",
    403: "the API key may not use this model or endpoint",
    404: "no such model or endpoint; check the model name and the base URL",
    413: "the request is too large; shorten the conversation",
    422: "the request was refused as invalid; check the model's settings and tools",
}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait, from ``retry-after-ms`` or ``retry-after``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def provider_message(body: Any, fallback: str) -> str:
    """The human message inside an error body (OpenAI and Anthropic shapes), else ``fallback``."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return fallback


def status_error(
    where: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> ModelError:
    """The ``ModelError`` for an HTTP ``status`` answered by ``where`` (provider and model)."""
    transient = status in _RETRYABLE or status >= 500
    if transient:
        wait = retry_after(headers or {})
        hint = "rate limited" if status == 429 else "a transient failure"
        return ModelError(
            f"{where} answered HTTP {status} ({hint}): {message}",
            retryable=True,
            retry_after=wait,
        )
    advice = _ADVICE.get(status, "the request was refused")
    return ModelError(f"{where} answered HTTP {status}: {message} ({advice})", retryable=False)
