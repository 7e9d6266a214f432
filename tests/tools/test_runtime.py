"""The runtime acts on the contract: validation, status, typed errors, and journaled steps."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

import pytest

from fluxio import Engine, RunContext, RunFailed
from fluxio.dsl.options import NO_RETRY, RetryPolicy
from fluxio.engine import ExecuteStepInput, Next
from fluxio.errors import StepFailed, ToolInputInvalid, ToolUnavailable
from fluxio.store.base import Store
from fluxio.store.records import EntryKind
from fluxio.tools import ErrorSpec, Tool, ToolContract, ToolError, call_tool, tool

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=3, initial=0.001, jitter=0)


class Calls:
    """Counts how often each tool body really ran."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> int:
        self.counts[name] = self.counts.get(name, 0) + 1
        return self.counts[name]


def _contract(**fields: Any) -> ToolContract:
    return ToolContract.model_validate({"name": "send_email", **fields})


async def _echo(**arguments: Any) -> Any:
    return arguments.get("reply", arguments)


SEND_SCHEMA = {
    "type": "object",
    "properties": {
        "to": {"type": "string"},
        "cc": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["to"],
    "additionalProperties": False,
}


async def test_arguments_are_checked_and_the_message_names_the_field() -> None:
    send = Tool(_contract(input_schema=SEND_SCHEMA), _echo)
    with pytest.raises(ToolInputInvalid) as info:
        await send.invoke({"to": 42})
    assert str(info.value) == "tool 'send_email' argument 'to': 42 is not of type 'string'"
    assert info.value.retryable is False
    with pytest.raises(ToolInputInvalid, match=r"argument 'cc\[1\]': 7 is not of type 'string'"):
        await send.invoke({"to": "a@b.c", "cc": ["x@y.z", 7]})
    with pytest.raises(ToolInputInvalid, match="arguments: 'to' is a required property"):
        await send.invoke({})
    with pytest.raises(ToolInputInvalid, match="takes an object of named arguments, got list"):
        await send.invoke(["a@b.c"])  # type: ignore[arg-type]


async def test_results_are_checked_against_the_output_schema() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    send = Tool(_contract(output_schema=schema), _echo)
    assert await send.invoke({"reply": {"id": 3}}) == {"id": 3}
    with pytest.raises(ToolInputInvalid, match="tool 'send_email' result 'id': 'x' is not of"):
        await send.invoke({"reply": {"id": "x"}})


async def test_a_result_that_is_not_json_is_refused() -> None:
    bad = Tool(_contract(), _echo)
    with pytest.raises(ToolInputInvalid, match="not JSON-serializable"):
        await bad.invoke({"reply": object()})


async def test_sync_fn_runs_and_pydantic_results_become_json() -> None:
    contract = _contract()
    plain = Tool(contract, lambda **kw: contract)
    result = await plain.invoke({})
    assert result["name"] == "send_email"


async def test_deprecated_tools_warn_once_and_still_run(caplog: pytest.LogCaptureFixture) -> None:
    old = Tool(_contract(status="deprecated", deprecated_by="send_mail_v2"), _echo)
    with caplog.at_level(logging.WARNING, logger="fluxio.tools"):
        assert await old.invoke({"reply": 1}) == 1
        assert await old.invoke({"reply": 2}) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "fluxio.tools"]
    assert warnings == ["tool 'send_email' 1.0.0 is deprecated; use 'send_mail_v2' instead"]


async def test_retired_and_sunset_tools_refuse_to_run() -> None:
    calls = Calls()

    async def body(**_: Any) -> None:
        calls.hit("body")

    retired = Tool(_contract(status="retired", deprecated_by="v2"), body)
    with pytest.raises(ToolUnavailable, match=r"'send_email' 1.0.0 is retired; use 'v2' instead"):
        await retired.invoke({})
    sunset = Tool(_contract(status="deprecated", sunset_date=dt.date(2000, 1, 1)), body)
    with pytest.raises(ToolUnavailable, match="is retired"):
        await sunset.invoke({})
    assert calls.counts == {}


async def test_typed_errors_take_recoverable_from_the_contract() -> None:
    async def fail(code: str) -> None:
        raise ToolError(code, "upstream said no")

    errors = (ErrorSpec(code="rate_limited", recoverable=True), ErrorSpec(code="not_found"))
    failing = Tool(_contract(errors=errors), fail)
    with pytest.raises(ToolError) as info:
        await failing.invoke({"code": "rate_limited"})
    assert info.value.retryable is True
    assert info.value.error_type == "rate_limited"
    assert str(info.value) == "tool 'send_email' failed with rate_limited: upstream said no"
    with pytest.raises(ToolError) as info:
        await failing.invoke({"code": "not_found"})
    assert info.value.retryable is False


def test_step_options_come_from_the_contract() -> None:
    policy = RetryPolicy(max_attempts=5)
    fetch = Tool(_contract(timeout=3, retry=policy), _echo)
    options = fetch.step_options()
    assert (options.timeout, options.retry, options.needs_intent) == (3, policy, False)
    assert options.metadata == {
        "kind": "tool",
        "tool": "send_email",
        "tool_contract": fetch.contract,
    }
    pay = Tool(_contract(side_effects=True, idempotent=False), _echo)
    assert pay.step_options().retry == NO_RETRY
    assert pay.step_options().needs_intent
    assert Tool(_contract(), _echo).step_options().retry is None  # the engine's default


def test_definition_is_what_a_model_sees() -> None:
    send = Tool(_contract(description="Send one email.", input_schema=SEND_SCHEMA), _echo)
    assert send.definition() == {
        "name": "send_email",
        "description": "Send one email.",
        "parameters": SEND_SCHEMA,
    }


# -- journaled steps on a real engine ---------------------------------------------------


async def test_tool_result_is_journaled_and_replayed_without_calling_again(store: Store) -> None:
    calls = Calls()

    @tool
    def lookup(customer: str) -> dict[str, Any]:
        """Look a customer up."""
        calls.hit("lookup")
        return {"customer": customer, "tier": "gold"}

    async def flow(ctx: RunContext, customer: str) -> Any:
        found = await call_tool(ctx, lookup, {"customer": customer})
        await ctx.wait_for("go")  # evicts the run; the signal replays it from the start
        return found

    engine = Engine(store, workflows={"flow": flow})
    run = await engine.start("flow", "acme")
    await engine.drive()
    await engine.signal(run.run_id, "go")
    await engine.drive()
    assert await engine.result(run.run_id) == {"customer": "acme", "tier": "gold"}
    assert calls.counts == {"lookup": 1}
    first = (await engine.journal(run.run_id))[0]
    assert (first.step_key, first.name) == ("1", "tool:lookup")
    assert first.value == {"customer": "acme", "tier": "gold"}


async def test_side_effecting_non_idempotent_tools_write_an_intent_first(store: Store) -> None:
    @tool(side_effects=True, idempotent=False)
    def charge(amount: float) -> str:
        return f"charged {amount}"

    @tool(side_effects=True, idempotent=True)
    def upsert(key: str) -> str:
        return key

    async def flow(ctx: RunContext, _: Any) -> None:
        await call_tool(ctx, charge, {"amount": 9.5}, key="charge")
        await call_tool(ctx, upsert, {"key": "k"}, key="upsert")

    engine = Engine(store, workflows={"flow": flow})
    await engine.run("flow")
    run = (await engine.list_runs())[0]
    kinds = [(e.step_key, e.kind) for e in await engine.journal(run.run_id)]
    assert kinds == [
        ("charge", EntryKind.INTENT),
        ("charge", EntryKind.OUTCOME),
        ("upsert", EntryKind.OUTCOME),
    ]


async def test_contract_retry_retries_a_flaky_idempotent_tool(store: Store) -> None:
    calls = Calls()

    @tool(retry=FAST)
    def flaky() -> str:
        if calls.hit("flaky") < 3:
            raise StepFailed("temporarily down")
        return "up"

    async def flow(ctx: RunContext, _: Any) -> Any:
        return await call_tool(ctx, flaky, {})

    engine = Engine(store, workflows={"flow": flow})
    assert await engine.run("flow") == "up"
    assert calls.counts == {"flaky": 3}


async def test_invalid_arguments_fail_once_and_are_recorded_not_retried(store: Store) -> None:
    calls = Calls()

    @tool(retry=RetryPolicy(max_attempts=5, initial=0.001))
    def double(n: int) -> int:
        calls.hit("double")
        return n * 2

    async def flow(ctx: RunContext, _: Any) -> Any:
        return await call_tool(ctx, double, {"n": "two"})

    engine = Engine(store, workflows={"flow": flow})
    with pytest.raises(RunFailed, match="tool 'double' argument 'n': 'two' is not of type"):
        await engine.run("flow")
    run = (await engine.list_runs())[0]
    (entry,) = await engine.journal(run.run_id)
    assert (entry.ok, entry.attempts, entry.value["type"]) == (False, 1, "ToolInputInvalid")
    assert calls.counts == {}


async def test_contract_timeout_bounds_each_attempt(store: Store) -> None:
    @tool(timeout=0.05, retry=RetryPolicy(max_attempts=1))
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    async def flow(ctx: RunContext, _: Any) -> Any:
        return await call_tool(ctx, slow, {})

    engine = Engine(store, workflows={"flow": flow})
    with pytest.raises(RunFailed, match=r"exceeded its 0.05s timeout"):
        await engine.run("flow")


async def test_interceptors_see_the_contract_and_may_rewrite_the_arguments(store: Store) -> None:
    seen: list[dict[str, Any]] = []

    class Redact:
        async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
            seen.append(dict(input.options.metadata))
            (payload,) = input.args
            return await next(dataclasses.replace(input, args=({**payload, "text": "***"},)))

    @tool
    def echo(text: str) -> str:
        return text

    async def flow(ctx: RunContext, _: Any) -> Any:
        return await call_tool(ctx, echo, {"text": "secret"})

    engine = Engine(store, workflows={"flow": flow}, interceptors=[Redact()])
    assert await engine.run("flow") == "***"
    assert seen[0]["kind"] == "tool"
    assert seen[0]["tool_contract"] is echo.contract
