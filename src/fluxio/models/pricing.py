"""What a call costs: a price table (USD per million tokens, per model), overridable.

The defaults are list prices of well-known hosted models at the time of writing; prices
change, so set your own in config (``prices:`` in ``model_from_config``, or
``PriceTable.from_yaml``). Models not in the table (local ones, unknown ids) cost 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fluxio.errors import UsageError

__all__ = ["DEFAULT_PRICES", "Price", "PriceTable"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Dollars for this many tokens."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class PriceTable:
    """Prices by model id; a model id also matches the longest key it starts with.

    ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``; a provider prefix such as
    ``openai/`` is ignored when looking up.

    Args:
        prices: model id → ``Price``.
    """

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(prices or {})

    def price_of(self, model: str) -> Price | None:
        """The price for ``model``, or ``None`` if the table has none."""
        for candidate in (model, model.rsplit("/", 1)[-1]):
            if candidate in self._prices:
                return self._prices[candidate]
            prefixes = [key for key in self._prices if candidate.startswith(key)]
            if prefixes:
                return self._prices[max(prefixes, key=len)]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """Dollars for a call of ``model``; 0 for models the table does not price."""
        price = self.price_of(model)
        return price.cost(input_tokens, output_tokens) if price else 0.0

    def with_prices(self, overrides: Mapping[str, Price | Mapping[str, Any]]) -> PriceTable:
        """A copy of this table with ``overrides`` (``Price`` or ``{"input", "output"}``)."""
        merged = dict(self._prices)
        merged.update(PriceTable.from_mapping(overrides)._prices)
        return PriceTable(merged)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PriceTable:
        """A table from ``{model: {"input": usd_per_mtok, "output": usd_per_mtok}}``.

        Raises:
            UsageError: an entry is not a mapping of two non-negative numbers.
        """
        if not isinstance(data, Mapping):
            raise UsageError(
                f"prices must be a mapping of model id to {{input, output}}, got {data!r}"
            )
        return cls({str(model): _price(str(model), spec) for model, spec in data.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> PriceTable:
        """A table from a YAML file shaped like ``from_mapping``'s input, over the defaults."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read the price table {path}: {exc}") from exc
        return DEFAULT_PRICES.with_prices(data)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.price_of(model) is not None


def _price(model: str, spec: Price | Mapping[str, Any] | Any) -> Price:
    if isinstance(spec, Price):
        return spec
    if not isinstance(spec, Mapping) or set(spec) != {"input", "output"}:
        raise UsageError(
            f"price for {model!r} must be {{input: <USD per 1M tokens>, output: <USD per 1M "
            f"tokens>}}, got {spec!r}"
        )
    values = (spec["input"], spec["output"])
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
        raise UsageError(f"prices for {model!r} must be non-negative numbers, got {dict(spec)}")
    return Price(float(spec["input"]), float(spec["output"]))


DEFAULT_PRICES = PriceTable(
    {
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4o-mini": Price(0.15, 0.60),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "o3-mini": Price(1.10, 4.40),
        "o4-mini": Price(1.10, 4.40),
        "claude-3-5-haiku": Price(0.80, 4.00),
        "claude-3-5-sonnet": Price(3.00, 15.00),
        "claude-3-7-sonnet": Price(3.00, 15.00),
        "claude-sonnet-4": Price(3.00, 15.00),
        "claude-opus-4": Price(15.00, 75.00),
        "claude-3-haiku": Price(0.25, 1.25),
    }
)
"""List prices (USD per million tokens) of common hosted models; override them in config."""
