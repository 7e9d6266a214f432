"""The budget gate governance calls around every step: reserve, then reconcile or release.

A step's expected cost is reserved against every budget that covers it *before* the call
runs, so concurrent runs sharing a budget can never overspend it together. When the call
returns, the reservation is replaced by the actual cost (``reconcile``); when it never ran,
the reservation is returned (``release``).

Estimator (``estimate_step``), documented so its error is predictable:

- model call: input tokens = ceil(characters of every message, tool definition and output
  schema / 4); output tokens = ``settings.max_tokens`` or ``DEFAULT_OUTPUT_TOKENS``; dollars
  from the price table (0 for models the table does not price).
- tool call: the contract's ``cost_per_call``, no tokens.
- anything else: free.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.models.messages import ModelRequest, ModelResponse, Usage
from fluxio.models.pricing import DEFAULT_PRICES, PriceTable

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_OUTPUT_TOKENS",
    "ActualCost",
    "BudgetGate",
    "CostEstimate",
    "Reservation",
    "actual_cost",
    "estimate_step",
    "estimate_tokens",
]

DEFAULT_OUTPUT_TOKENS = 1024
"""Output tokens assumed for a model call whose request sets no ``max_tokens``."""

CHARS_PER_TOKEN = 4
"""Characters per token assumed by the estimator (a rough average for English text)."""


@dataclass(frozen=True)
class CostEstimate:
    """What a step is expected to cost before it runs."""

    usd: float
    tokens: int


@dataclass(frozen=True)
class ActualCost:
    """What a step did cost, from the model's usage or the tool's contract."""

    usd: float
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Reservation:
    """An amount held against budgets for one step until it is reconciled or released.

    Attributes:
        id: the step's idempotency key; reserving twice with one id returns the first hold.
        scopes: the ledger scopes charged (``run:…``, ``agent:…``, ``workflow:…``, …).
        usd: dollars held.
        tokens: tokens held.
        warnings: soft budgets this step takes past their limit (the step still runs).
        breach: a hard budget with breach action ``approval`` or ``replan`` would be exceeded;
            nothing is held and the guard should ask for approval or signal a replan.
    """

    id: str
    scopes: tuple[str, ...]
    usd: float
    tokens: int
    warnings: tuple[str, ...] = ()
    breach: Literal["approval", "replan"] | None = None


class BudgetGate(Protocol):
    """Holds, settles and returns step costs against budgets."""

    async def reserve(self, step: ExecuteStepInput, estimate: CostEstimate) -> Reservation:
        """Hold ``estimate`` against every budget covering ``step``.

        Raises:
            BudgetExceeded: a hard budget with breach action ``stop`` would be exceeded.
        """
        ...

    async def reconcile(self, reservation: Reservation, actual: ActualCost) -> None:
        """Replace the hold with what the step actually cost."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Return the hold: the step did not run."""
        ...


def estimate_step(step: ExecuteStepInput, prices: PriceTable | None = None) -> CostEstimate:
    """What ``step`` is expected to cost, by the documented estimator (see the module)."""
    metadata = step.options.metadata or {}
    kind = metadata.get("kind")
    if kind == "tool":
        return CostEstimate(usd=_contract_cost(metadata), tokens=0)
    if kind == "model" and step.args and isinstance(step.args[0], ModelRequest):
        request = step.args[0]
        input_tokens = estimate_tokens(request)
        output_tokens = request.settings.max_tokens or DEFAULT_OUTPUT_TOKENS
        table = prices or DEFAULT_PRICES
        usd = table.cost(str(metadata.get("model", "")), input_tokens, output_tokens)
        return CostEstimate(usd=usd, tokens=input_tokens + output_tokens)
    return CostEstimate(usd=0.0, tokens=0)


def estimate_tokens(request: ModelRequest) -> int:
    """Input tokens of ``request``: its characters divided by four, rounded up."""
    chars = sum(len(m.content or "") + _json_len(m.tool_calls) for m in request.messages)
    chars += sum(len(t.name) + len(t.description) + _json_len(t.parameters) for t in request.tools)
    if request.output_schema is not None:
        chars += _json_len(request.output_schema)
    return math.ceil(chars / CHARS_PER_TOKEN)


def actual_cost(
    step: ExecuteStepInput, result: Any, prices: PriceTable | None = None
) -> ActualCost:
    """What ``step`` cost, given the value its call returned.

    A model call's cost is its response's ``usage``; when the provider reported tokens but no
    dollars, the price table fills them in. A tool call costs its contract's ``cost_per_call``.
    """
    metadata = step.options.metadata or {}
    kind = metadata.get("kind")
    if kind == "tool":
        return ActualCost(usd=_contract_cost(metadata))
    if kind == "model":
        usage = _usage_of(result)
        usd = usage.cost_usd
        if usd == 0.0 and usage.input_tokens + usage.output_tokens:
            table = prices or DEFAULT_PRICES
            usd = table.cost(
                str(metadata.get("model", "")), usage.input_tokens, usage.output_tokens
            )
        return ActualCost(usd, usage.input_tokens, usage.output_tokens)
    return ActualCost(usd=0.0)


def _usage_of(result: Any) -> Usage:
    if isinstance(result, ModelResponse):
        return result.usage
    if isinstance(result, Mapping) and isinstance(result.get("usage"), Mapping):
        return Usage.model_validate(result["usage"])
    return Usage()


def _contract_cost(metadata: Mapping[str, Any]) -> float:
    contract = metadata.get("tool_contract")
    return float(getattr(contract, "cost_per_call", 0.0) or 0.0)


def _json_len(value: Any) -> int:
    if not value:
        return 0
    return len(json.dumps(value, default=_plain, separators=(",", ":")))


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)
