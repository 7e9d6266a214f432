"""@tool: the contract derived from a typed signature, docstring descriptions, coercion."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import ToolInputInvalid, UsageError
from fluxio.tools import Tool, tool

pytestmark = pytest.mark.anyio


class Address(BaseModel):
    street: str
    city: str


class Order(BaseModel):
    id: int
    items: list[str]
    ship_to: Address | None = None


class Opaque:
    """A class pydantic knows no schema for."""


@tool(category="text", tags=("demo",), timeout=5.0)
async def shout(text: str, times: int = 1) -> str:
    """Upper-case text.

    Longer explanation that is not part of the description.

    Args:
        text: the text to shout,
            over two lines.
        times (int): how often to repeat it.

    Returns:
        The shouted text.
    """
    return text.upper() * times


def test_contract_comes_from_signature_and_docstring() -> None:
    contract = shout.contract
    assert (contract.name, contract.description) == ("shout", "Upper-case text.")
    assert (contract.category, contract.tags, contract.timeout) == ("text", ("demo",), 5.0)
    assert contract.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "text": {"type": "string", "description": "the text to shout, over two lines."},
            "times": {"type": "integer", "default": 1, "description": "how often to repeat it."},
        },
        "required": ["text"],
    }
    assert contract.output_schema == {"type": "string"}


async def test_bare_decorator_and_keyword_overrides() -> None:
    @tool
    def add(a: int, b: int = 2) -> int:
        return a + b

    @tool(name="sum_two", version="2.1.0", description="Adds.", side_effects=True)
    def other(a: int) -> int:
        return a

    assert isinstance(add, Tool)
    assert add.name == "add"
    assert add.description == ""
    assert await add.invoke({"a": 1}) == 3
    assert (other.name, other.version, other.description) == ("sum_two", "2.1.0", "Adds.")
    assert other.contract.side_effects is True


async def test_model_parameters_receive_model_instances() -> None:
    seen: list[Any] = []

    @tool
    async def place(order: Order) -> Order:
        """Place an order."""
        seen.append(order)
        return order

    ship_to = {"street": "Main St 1", "city": "Ghent"}
    result = await place.invoke({"order": {"id": 7, "items": ["a"], "ship_to": ship_to}})
    assert isinstance(seen[0], Order)
    assert isinstance(seen[0].ship_to, Address)
    assert result == {"id": 7, "items": ["a"], "ship_to": ship_to}
    assert place.contract.input_schema["properties"]["order"] == {"$ref": "#/$defs/Order"}


async def test_schema_check_rejects_what_json_schema_forbids_before_coercion() -> None:
    @tool
    def double(n: int) -> int:
        return n * 2

    with pytest.raises(ToolInputInvalid, match="tool 'double' argument 'n': '3' is not of type"):
        await double.invoke({"n": "3"})


async def test_sync_functions_run_in_a_worker_thread() -> None:
    @tool
    def where() -> int:
        return threading.get_ident()

    assert await where.invoke({}) != threading.get_ident()


async def test_parameters_named_like_model_attributes_work() -> None:
    @tool
    def check(schema: str, json: int = 0, model_config: str = "") -> str:
        return f"{schema}{json}{model_config}"

    assert await check.invoke({"schema": "s", "json": 1, "model_config": "c"}) == "s1c"
    assert set(check.contract.input_schema["properties"]) == {"schema", "json", "model_config"}


async def test_var_keyword_functions_accept_extra_arguments() -> None:
    @tool
    def collect(first: str, **rest: Any) -> dict[str, Any]:
        return {"first": first, **rest}

    assert collect.contract.input_schema["additionalProperties"] is True
    assert await collect.invoke({"first": "a", "more": 1}) == {"first": "a", "more": 1}


def test_unannotated_return_leaves_the_output_unchecked() -> None:
    @tool
    def anything(x):  # type: ignore[no-untyped-def]
        return x

    assert anything.contract.output_schema is None
    assert anything.contract.input_schema["properties"] == {"x": {}}


def test_retry_policy_and_deprecation_fields_reach_the_contract() -> None:
    policy = RetryPolicy(max_attempts=4, initial=0.01)

    @tool(retry=policy, status="deprecated", deprecated_by="shout", sunset_date="2031-01-01")
    def old(text: str) -> str:
        return text

    assert old.contract.retry_policy() == policy
    assert old.contract.deprecated_by == "shout"
    assert str(old.contract.sunset_date) == "2031-01-01"


def test_calling_the_tool_object_calls_the_function() -> None:
    @tool
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, b=2) == 3


def test_positional_only_parameters_are_refused() -> None:
    def f(a: int, /) -> int:
        return a

    with pytest.raises(UsageError, match="positional-only"):
        tool(f)


def test_unresolvable_annotations_are_refused_with_a_fix() -> None:
    def f(a: NotDefinedAnywhere) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 1

    with pytest.raises(UsageError, match="cannot resolve the type annotations"):
        tool(f)


def test_types_without_json_schema_are_refused() -> None:
    def f(thing: Opaque) -> None:
        return None

    def g() -> Opaque:
        return Opaque()

    with pytest.raises(UsageError, match="its parameters cannot be described as JSON Schema"):
        tool(f)
    with pytest.raises(UsageError, match="its return type cannot be described as JSON Schema"):
        tool(g)


def test_invalid_contract_fields_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="field 'version'"):
        tool(version="one")(lambda: None)


async def test_partials_keep_the_annotations_of_the_function_they_wrap() -> None:
    def repeat(text: str, times: int) -> str:
        return text * times

    twice = tool(functools.partial(repeat, times=2), name="twice")
    assert twice.contract.input_schema["properties"]["text"] == {"type": "string"}
    assert twice.contract.output_schema == {"type": "string"}
    assert await twice.invoke({"text": "ab"}) == "abab"


def test_callables_without_a_readable_signature_are_refused() -> None:
    with pytest.raises(UsageError, match="cannot read the signature of <class 'dict'>"):
        tool(dict, name="make_dict")
