"""Steps as governance sees them (model and tool calls), and a clock tests can move."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from fluxio import StepOptions
from fluxio.engine import ExecuteStepInput
from fluxio.governance.budgets import Ledger
from fluxio.ids import idempotency_key
from fluxio.models import Message, ModelRequest, ModelSettings
from fluxio.tools import Tool, tool

NOON = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC).timestamp()
DAY = 86_400.0

MakeLedger = Callable[[], Awaitable[Ledger]]
"""Opens another ledger on the test's database (see the ``make_ledger`` fixture)."""


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def priced_tool(cost: float, name: str = "lookup") -> Tool:
    """A real tool whose contract costs ``cost`` dollars per call."""

    async def body(query: str = "") -> str:
        return query

    body.__name__ = name
    return tool(body, name=name, cost_per_call=cost)


def tool_step(
    cost: float,
    *,
    key: str = "1",
    run: str = "r1",
    tenant: str = "default",
    workflow: str = "wf",
    agent: str | None = None,
    name: str = "lookup",
) -> ExecuteStepInput:
    """A tool call step of a tool costing ``cost`` per call."""
    t = priced_tool(cost, name)
    options = t.step_options()
    if agent is not None:
        options = dataclasses.replace(options, metadata={**options.metadata, "agent": agent})
    return _step(run, tenant, workflow, key, f"tool:{t.name}", t.invoke, {"query": "x"}, options)


def model_step(
    *,
    model: str = "gpt-4o-mini",
    prompt: str = "hello",
    max_tokens: int | None = 100,
    key: str = "1",
    run: str = "r1",
    tenant: str = "default",
    workflow: str = "wf",
    agent: str | None = None,
) -> ExecuteStepInput:
    """A model call step asking ``model`` ``prompt``."""
    request = ModelRequest(
        messages=(Message.user(prompt),), settings=ModelSettings(max_tokens=max_tokens)
    )
    metadata: dict[str, Any] = {"kind": "model", "model": model}
    if agent is not None:
        metadata["agent"] = agent
    options = StepOptions(metadata=metadata)
    return _step(run, tenant, workflow, key, f"model:{model}", _no_call, request, options)


async def _no_call(*_: Any) -> None:
    raise AssertionError("budget tests never call the step body directly")


def _step(
    run: str,
    tenant: str,
    workflow: str,
    key: str,
    name: str,
    fn: Any,
    payload: Any,
    options: StepOptions,
) -> ExecuteStepInput:
    return ExecuteStepInput(
        run_id=run,
        tenant_id=tenant,
        workflow=workflow,
        step_key=key,
        name=name,
        fn=fn,
        args=(payload,),
        kwargs={},
        options=options,
        idempotency_key=idempotency_key(tenant, run, key),
    )
