"""How a step is run: retries, timeout, and whether it has effects the world can see.

These live in the pure DSL so that ``@step(retry=..., timeout=...)`` can name them without
importing the engine; ``fluxio.engine.options`` re-exports them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fluxio.errors import StepFailed, UsageError

__all__ = ["DEFAULT_OPTIONS", "NO_RETRY", "RetryPolicy", "StepOptions"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a failed step is attempted again.

    Args:
        max_attempts: attempts in all, the first included; 1 means never retry.
        backoff: ``exponential`` (initial × multiplier^n) or ``linear`` (initial × n).
        initial: seconds before the second attempt.
        multiplier: growth factor for exponential backoff.
        max_delay: the longest wait between attempts.
        jitter: fraction of each delay drawn at random (0 to 1), to spread thundering herds.
        retry_on: exception type names that retry; empty means every retryable error.
        non_retryable: exception type names that never retry.
    """

    max_attempts: int = 3
    backoff: Literal["exponential", "linear"] = "exponential"
    initial: float = 0.2
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1
    retry_on: tuple[str, ...] = ()
    non_retryable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 <= self.jitter <= 1:
            raise UsageError(f"jitter must be between 0 and 1, got {self.jitter}")
        if self.initial < 0 or self.max_delay < 0:
            raise UsageError("retry delays must not be negative")

    def should_retry(self, error: StepFailed, attempt: int) -> bool:
        """Whether attempt number ``attempt`` (1-based), which failed with ``error``, retries."""
        if attempt >= self.max_attempts or not error.retryable:
            return False
        if error.error_type in self.non_retryable:
            return False
        return not self.retry_on or error.error_type in self.retry_on

    def delay(self, attempt: int, error: StepFailed | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` before the next one."""
        if error is not None and error.retry_after is not None:
            return error.retry_after
        if self.backoff == "linear":
            base = self.initial * attempt
        else:
            base = self.initial * self.multiplier ** (attempt - 1)
        base = min(base, self.max_delay)
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))  # noqa: S311 - not crypto


NO_RETRY = RetryPolicy(max_attempts=1)
"""A policy that never retries: one attempt only."""


@dataclass(frozen=True, slots=True)
class StepOptions:
    """Per-step settings; the tool contract and YAML ``retry_config`` map onto these.

    Args:
        retry: the retry policy; ``None`` uses the engine's default.
        timeout: start-to-close seconds for each attempt; ``None`` means no limit.
        side_effects: the step changes the world outside fluxio.
        idempotent: running the step twice has the effect of running it once.
        metadata: free-form facts for interceptors (tool contract, policy hints).
    """

    retry: RetryPolicy | None = None
    timeout: float | None = None
    side_effects: bool = False
    idempotent: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def needs_intent(self) -> bool:
        """Whether the kernel records an intent first: re-running it blindly could do harm."""
        return self.side_effects and not self.idempotent


DEFAULT_OPTIONS = StepOptions(retry=RetryPolicy())
"""What a step gets when it names no options: three attempts, exponential backoff."""
