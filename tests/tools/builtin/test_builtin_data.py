"""transform_data (JMESPath), validate_schema (JSON Schema) and check_condition (CEL)."""

from __future__ import annotations

import pytest

from fluxio.errors import UsageError
from fluxio.tools.builtin import check_condition, transform_data, validate_schema

pytestmark = pytest.mark.anyio

ORDERS = {"orders": [{"id": 1, "total": 40}, {"id": 2, "total": 140}, {"id": 3, "total": 99}]}


async def test_transform_filters_and_projects() -> None:
    expression = "orders[?total > `50`].{order: id, amount: total}"
    result = await transform_data.invoke({"data": ORDERS, "expression": expression})
    assert result == {"result": [{"order": 2, "amount": 140}, {"order": 3, "amount": 99}]}


async def test_transform_of_a_missing_field_gives_null() -> None:
    result = await transform_data.invoke({"data": ORDERS, "expression": "customer.name"})
    assert result == {"result": None}


async def test_transform_with_a_bad_expression_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match=r"'orders\[\?' is not a valid JMESPath.*jmespath.org"):
        await transform_data.invoke({"data": ORDERS, "expression": "orders[?"})


SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "items": {"type": "array", "items": {"type": "integer"}},
    },
}


async def test_valid_data_gives_valid_and_no_errors() -> None:
    result = await validate_schema.invoke({"data": {"name": "a", "items": [1]}, "schema": SCHEMA})
    assert result == {"valid": True, "errors": [], "truncated": False}


async def test_invalid_data_lists_every_error_with_its_path_without_raising() -> None:
    data = {"items": [1, "two", 3.5], "email": "not-an-email"}
    result = await validate_schema.invoke({"data": data, "schema": SCHEMA})
    assert result["valid"] is False
    found = [(e["path"], e["validator"]) for e in result["errors"]]
    assert found == [
        ("$", "required"),
        ("$.email", "format"),
        ("$.items[1]", "type"),
        ("$.items[2]", "type"),
    ]
    assert result["errors"][0]["message"] == "'name' is a required property"
    assert result["errors"][2]["schema_path"] == "#/properties/items/items/type"


async def test_validation_errors_are_capped_by_max_errors() -> None:
    data = {"name": "a", "items": ["x"] * 10}
    result = await validate_schema.invoke({"data": data, "schema": SCHEMA, "max_errors": 3})
    assert (len(result["errors"]), result["truncated"], result["valid"]) == (3, True, False)


async def test_an_invalid_schema_is_a_usage_error_naming_where() -> None:
    with pytest.raises(UsageError, match=r"not a valid JSON Schema at #/properties/a/type"):
        await validate_schema.invoke({"data": {}, "schema": {"properties": {"a": {"type": 5}}}})


async def test_condition_is_evaluated_with_an_explanation() -> None:
    context = {"order": {"total": 150, "country": "NL"}, "limit": 100}
    result = await check_condition.invoke(
        {"condition": "order.total > limit && order.country == 'NL'", "context": context}
    )
    assert result["result"] is True
    assert result["explanation"] == (
        "order.total > limit && order.country == 'NL' is true for "
        'order={"total": 150, "country": "NL"}, limit=100'
    )


async def test_false_condition() -> None:
    result = await check_condition.invoke(
        {"condition": "size(items) > 2", "context": {"items": [1]}}
    )
    assert result["result"] is False


async def test_condition_with_a_syntax_error_says_where() -> None:
    with pytest.raises(UsageError, match=r"not a valid CEL expression \(syntax error at column 3"):
        await check_condition.invoke({"condition": "a >", "context": {"a": 1}})


async def test_condition_using_an_unknown_variable_lists_the_available_ones() -> None:
    with pytest.raises(UsageError, match=r"uses 'totl'.*available: total"):
        await check_condition.invoke({"condition": "totl > 1", "context": {"total": 2}})


async def test_non_boolean_condition_is_refused() -> None:
    with pytest.raises(UsageError, match=r"not a boolean"):
        await check_condition.invoke({"condition": "1 + 1", "context": {}})


def test_data_tools_are_side_effect_free_and_idempotent() -> None:
    for item in (transform_data, validate_schema, check_condition):
        assert (item.contract.side_effects, item.contract.idempotent) == (False, True)
