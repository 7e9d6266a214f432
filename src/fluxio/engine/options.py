"""How a step is run: retries, timeout, side effects.

The types are defined in ``fluxio.dsl.options`` (the pure DSL names them in ``@step``); the
engine re-exports them here so both layers share one class per idea.
"""

from __future__ import annotations

from fluxio.dsl.options import DEFAULT_OPTIONS, NO_RETRY, RetryPolicy, StepOptions

__all__ = ["DEFAULT_OPTIONS", "NO_RETRY", "RetryPolicy", "StepOptions"]
