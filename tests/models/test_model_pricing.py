"""The price table: lookups, overrides from a mapping or YAML, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio.errors import UsageError
from fluxio.models import DEFAULT_PRICES, Price, PriceTable


def test_cost_uses_the_longest_matching_model_prefix() -> None:
    assert DEFAULT_PRICES.price_of("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60)
    assert DEFAULT_PRICES.price_of("gpt-4o-2024-08-06") == Price(2.50, 10.00)
    assert DEFAULT_PRICES.cost("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)


def test_unknown_and_local_models_cost_nothing() -> None:
    assert DEFAULT_PRICES.cost("smollm2-135m", 10_000, 10_000) == 0.0
    assert "smollm2" not in DEFAULT_PRICES


def test_overrides_replace_and_extend_the_defaults() -> None:
    table = DEFAULT_PRICES.with_prices({"gpt-4o": {"input": 1, "output": 2}, "mine": Price(5, 5)})
    assert table.price_of("gpt-4o") == Price(1.0, 2.0)
    assert table.cost("mine", 200_000, 0) == pytest.approx(1.0)
    assert DEFAULT_PRICES.price_of("gpt-4o") == Price(2.50, 10.00)  # the default is untouched


def test_a_yaml_price_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("local-llama:\n  input: 0.01\n  output: 0.02\n", encoding="utf-8")
    table = PriceTable.from_yaml(path)
    assert table.price_of("local-llama") == Price(0.01, 0.02)
    assert "gpt-4o" in table


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"m": {"input": 1}}, "must be {input"),
        ({"m": {"input": -1, "output": 1}}, "non-negative numbers"),
        ({"m": {"input": "cheap", "output": 1}}, "non-negative numbers"),
        ({"m": 3}, "must be {input"),
    ],
)
def test_bad_prices_are_refused_clearly(spec: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("{", r"\{")):
        PriceTable.from_mapping(spec)


def test_an_unreadable_price_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the price table"):
        PriceTable.from_yaml(tmp_path / "missing.yaml")
