"""The documented estimator (chars/4 + max_tokens, priced by the table) and actual costs."""

from __future__ import annotations

import dataclasses

import pytest
from budget_steps import model_step, tool_step

from fluxio import StepOptions
from fluxio.governance.budgets import CostEstimate, actual_cost, estimate_step
from fluxio.governance.budgets.gate import DEFAULT_OUTPUT_TOKENS
from fluxio.models import ModelResponse, Price, PriceTable, ToolDefinition, Usage


def test_a_model_call_is_estimated_from_its_characters_and_max_tokens() -> None:
    step = model_step(model="gpt-4o-mini", prompt="x" * 401, max_tokens=200)
    estimate = estimate_step(step)
    assert estimate.tokens == 101 + 200  # ceil(401 / 4) in, max_tokens out
    assert estimate.usd == pytest.approx((101 * 0.15 + 200 * 0.60) / 1_000_000)


def test_tools_and_schemas_sent_to_the_model_count_as_input() -> None:
    step = model_step(prompt="", max_tokens=1)
    [request] = step.args
    tool = ToolDefinition(name="lookup", description="d" * 40, parameters={"type": "object"})
    with_tools = dataclasses.replace(step, args=(request.model_copy(update={"tools": (tool,)}),))
    assert estimate_step(with_tools).tokens > estimate_step(step).tokens


def test_a_request_without_max_tokens_assumes_the_default_output() -> None:
    step = model_step(model="unpriced-local", prompt="abcd", max_tokens=None)
    assert estimate_step(step) == CostEstimate(usd=0.0, tokens=1 + DEFAULT_OUTPUT_TOKENS)


def test_a_price_table_can_be_given() -> None:
    step = model_step(model="mine", prompt="abcd", max_tokens=3)
    prices = PriceTable({"mine": Price(1_000_000, 2_000_000)})
    assert estimate_step(step, prices) == CostEstimate(usd=1 + 6, tokens=4)


def test_a_tool_call_costs_its_contracts_cost_per_call() -> None:
    step = tool_step(0.25)
    assert estimate_step(step) == CostEstimate(usd=0.25, tokens=0)
    assert actual_cost(step, "any result").usd == 0.25


def test_other_steps_are_free() -> None:
    step = dataclasses.replace(tool_step(1.0), options=StepOptions())
    assert estimate_step(step) == CostEstimate(usd=0.0, tokens=0)
    assert actual_cost(step, None).usd == 0.0


def test_a_model_calls_actual_cost_is_its_usage() -> None:
    step = model_step()
    usage = Usage(input_tokens=10, output_tokens=5, cost_usd=0.5)
    cost = actual_cost(step, ModelResponse(content="hi", model="m", usage=usage))
    assert (cost.usd, cost.input_tokens, cost.output_tokens, cost.tokens) == (0.5, 10, 5, 15)
    as_json = {"content": "hi", "model": "m", "usage": usage.model_dump()}
    assert actual_cost(step, as_json) == cost


def test_unpriced_usage_is_priced_from_the_table() -> None:
    step = model_step(model="gpt-4o-mini")
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    cost = actual_cost(step, ModelResponse(content="hi", model="gpt-4o-mini", usage=usage))
    assert cost.usd == pytest.approx(0.15)
