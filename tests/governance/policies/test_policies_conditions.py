"""The fast CEL path agrees with cel-python on every expression and context, errors included."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxio.errors import DefinitionError, UsageError
from fluxio.expressions import compile_cel
from fluxio.governance.policies import compile_condition

CONTEXTS: list[dict[str, Any]] = [
    {
        "tool": {"name": "send_email", "tags": ["pii", "email"], "side_effects": True},
        "arguments": {"to": "a@corp.com", "amount": 250.0, "n": 7, "items": [1, 2, 3]},
        "actor": {"id": "u1", "type": "user", "roles": ["support", "admin"]},
        "budget": {"spent_usd": 1.5, "limit_usd": 10.0, "remaining_usd": 8.5, "tokens": 100},
        "time": {"hour": 3, "weekday": 6},
    },
    {
        "tool": {"name": "", "tags": [], "side_effects": False},
        "arguments": {"to": None, "amount": 100, "n": -7, "items": ["x", 2.0]},
        "actor": {"id": "bot", "type": "agent", "roles": []},
        "budget": {"spent_usd": 0.0, "limit_usd": 0.0, "remaining_usd": 0.0, "tokens": 0},
        "time": {"hour": 23, "weekday": 1},
    },
    {"tool": {}, "arguments": {}, "actor": {"roles": [1, "a"]}, "budget": {}, "time": {}},
]

EXPRESSIONS = [
    'tool.name == "send_email"',
    'tool.name != "send_email" && tool.side_effects',
    "tool.side_effects || arguments.n > 3",
    "!tool.side_effects",
    '"pii" in tool.tags',
    '"admin" in actor.roles || actor.type == "agent"',
    "arguments.amount > 100",
    "arguments.amount >= 100.0",
    "arguments.amount == 250",
    "arguments.amount == 250.0",
    "arguments.n / 2 == 3",
    "arguments.n % 4",
    "-arguments.n",
    "arguments.n * 2 + 1",
    "arguments.n - 10 < 0",
    "budget.spent_usd + 1.5 >= budget.limit_usd * 0.25",
    "budget.remaining_usd < 1.0",
    "has(arguments.to)",
    "has(arguments.missing)",
    "arguments.missing == 1",
    "false && arguments.missing == 1",
    "arguments.missing == 1 && false",
    "arguments.missing == 1 || true",
    "size(tool.tags) > 0",
    "tool.tags.size() == 2",
    'arguments.to.endsWith("@corp.com")',
    'arguments.to.startsWith("a") && arguments.to.contains("@")',
    'tool.tags.exists(t, t == "pii")',
    'tool.tags.all(t, t.startsWith("p"))',
    "arguments.items[0] == 1",
    "arguments.items[5] == 1",
    'arguments["amount"] > 1.0',
    "[1, 2, 3][1]",
    'time.hour < 6 ? "night" : "day"',
    "time.weekday >= 6",
    "arguments.n in [7, 8]",
    "arguments.amount in [250.0]",
    "arguments.to == null",
    '"a" + "b" == "ab"',
    "[1] + [2] == [1, 2]",
    "9223372036854775807 + 1 > 0",
    "1 / 0 == 1",
    "int(arguments.amount) > 3",
    'actor.id.matches("^u[0-9]+$")',
    "double(arguments.n) > 100.0",
    "double(arguments.amount) >= 100.0",
    '{"a": 1}["a"] == 1',
    "arguments.n > 3u",
]


def reference(source: str, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", compile_cel(source).evaluate(context)
    except UsageError:
        return "error", None


def fast(source: str, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", compile_condition(source).evaluate(context)
    except UsageError:
        return "error", None


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_fast_path_matches_cel_python_on_every_context(source: str) -> None:
    for context in CONTEXTS:
        expected, got = reference(source, context), fast(source, context)
        assert got == expected, (source, context)
        assert type(got[1]) is type(expected[1]), (source, got, expected)


def test_common_policy_expressions_take_the_fast_path() -> None:
    fast_ones = [e for e in EXPRESSIONS[:42] if compile_condition(e).fast]
    assert len(fast_ones) == 42
    for source in ('actor.id.matches("^u")', 'timestamp("2024-01-01T00:00:00Z")', '{"a": 1}'):
        assert not compile_condition(source).fast


def test_names_exclude_variables_bound_by_macros() -> None:
    condition = compile_condition('tool.tags.exists(t, t == "pii") && arguments.n > 1')
    assert condition.names == {"tool", "arguments"}


scalars = st.one_of(
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(
    a=scalars,
    b=scalars,
    op=st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "in"]),
)
def test_binary_operators_agree_with_cel_python_for_any_operands(a: Any, b: Any, op: str) -> None:
    source = f"x {op} y" if op != "in" else "x in [y]"
    context = {"x": a, "y": b}
    assert fast(source, context) == reference(source, context)


def test_a_result_that_is_not_a_boolean_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a boolean"):
        compile_condition("arguments.n + 1").test({"arguments": {"n": 1}})


@pytest.mark.parametrize(
    ("source", "fragment", "hint"),
    [
        ('tool.name = "x"', "unexpected '= \"x\"' at column 11", "Compare with =="),
        ("a && (b", "it ends too early", "brackets"),
        ("a and b", "unexpected 'and b' at column 3", "&&, ||, !"),
    ],
)
def test_bad_cel_names_the_expression_and_where_it_broke(
    source: str, fragment: str, hint: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        compile_condition(source)
    assert repr(source) in caught.value.message
    assert fragment in caught.value.message
    assert hint in (caught.value.suggestion or "")
