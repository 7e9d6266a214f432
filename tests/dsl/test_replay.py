"""Replay and crash-resume of DSL workflows: finished steps never run again."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from fluxio import Engine
from fluxio.dsl import Approval, Branch, Loop, Map, Parallel, Wait, Workflow, step, validate
from fluxio.store.memory import MemoryStore
from fluxio.store.records import EntryKind

pytestmark = pytest.mark.anyio

APPROVE = {"decision": "approve", "note": "ok", "by": "ana"}
SIGNALS = [("approval:ship", APPROVE), ("go", {"carrier": "post"})]


class Order(BaseModel):
    id: int
    items: list[str]


class Draft(BaseModel):
    order: Order
    score: int
    rounds: int = 0
    grade: str = ""


def build(calls: Any) -> Workflow[int, str]:
    """One workflow using every combinator, with counted step bodies."""

    @step
    async def fetch(n: int) -> Order:
        calls.hit("fetch")
        return Order(id=n, items=["pen", "ink", "pad"])

    @step
    async def weigh(order: Order) -> int:
        calls.hit("weigh")
        return len(order.items)

    @step
    def price(order: Order) -> int:
        calls.hit("price")
        return 2 * len(order.items)

    @step
    async def draft(scores: list[int]) -> Draft:
        calls.hit("draft")
        return Draft(order=Order(id=1, items=["pen", "ink", "pad"]), score=sum(scores))

    @step
    async def refine(d: Draft) -> Draft:
        calls.hit("refine")
        return d.model_copy(update={"score": d.score + 2, "rounds": d.rounds + 1})

    @step
    async def high(d: Draft) -> Draft:
        calls.hit("high")
        return d.model_copy(update={"grade": "high"})

    @step
    async def low(d: Draft) -> Draft:
        calls.hit("low")
        return d.model_copy(update={"grade": "low"})

    @step
    async def items(d: Draft) -> list[str]:
        assert isinstance(d, Draft)  # replay rehydrates models, it does not hand over dicts
        calls.hit("items")
        return d.order.items

    @step
    async def shout(item: str) -> str:
        calls.hit("shout")
        return item.upper()

    @step
    async def finish(parts: list[Any]) -> str:
        calls.hit("finish")
        shouted, shipping = parts
        return f"{'+'.join(shouted)} via {shipping['carrier']}"

    flow = (
        fetch
        >> Parallel(weigh, price)
        >> draft
        >> Loop(refine, until="input.score >= 14", max_iterations=5)
        >> Branch("input.score > 13", high, otherwise=low)
        >> Approval("ship")
        >> items
        >> Parallel(Map(shout, concurrency=2), Wait(signal="go"))
        >> Wait(duration=0)
        >> finish
    )
    return Workflow("orders", flow)


EXPECTED = "PEN+INK+PAD via post"
BODIES = {"fetch", "weigh", "price", "draft", "refine", "high", "low", "items", "shout", "finish"}


async def completed_journal(calls: Any) -> list[Any]:
    flow = build(calls)
    validate(flow)
    engine = Engine(MemoryStore(), workflows={flow.name: flow})
    run = await engine.start(flow.name, 1)
    await engine.drive()
    parked = await engine.get(run.run_id)
    assert parked.wait is not None, parked  # parked at the approval
    for name, payload in SIGNALS:
        await engine.signal(run.run_id, name, payload)
    assert await engine.result(run.run_id) == EXPECTED
    return await engine.journal(run.run_id)


async def test_live_run_executes_each_step_body_once(calls: Any) -> None:
    await completed_journal(calls)
    assert calls.counts == {
        "fetch": 1,
        "weigh": 1,
        "price": 1,
        "draft": 1,
        "refine": 3,
        "high": 1,
        "items": 1,
        "shout": 3,
        "finish": 1,
    }


async def test_step_keys_are_hierarchical_and_stable(calls: Any) -> None:
    journal = await completed_journal(calls)
    keys = [e.step_key for e in journal if e.kind is EntryKind.OUTCOME]
    for expected in ("1", "2.parallel.1.1", "4.loop.0.1", "4.loop.2.1", "5.then.1"):
        assert expected in keys
    assert "8.parallel.1.1.parallel.3.1" in keys  # 3rd item of the map in the 1st branch


async def test_replaying_a_completed_journal_executes_zero_step_bodies(
    calls: Any, reexecute: Any
) -> None:
    journal = await completed_journal(calls)
    calls.counts.clear()
    assert await reexecute(build(calls), journal, 1) == EXPECTED
    assert calls.counts == {}


async def test_resume_from_every_partial_journal_runs_only_unfinished_steps(
    calls: Any, reexecute: Any
) -> None:
    journal = await completed_journal(calls)
    body_outcomes = [e for e in journal if e.kind is EntryKind.OUTCOME and e.name in BODIES]
    for cut in range(len(journal) + 1):
        prefix = journal[:cut]
        done = {e.step_key for e in prefix if e.kind is EntryKind.OUTCOME}
        calls.counts.clear()
        result = await reexecute(build(calls), prefix, 1, signals=SIGNALS)
        assert result == EXPECTED, f"cut at {cut}"
        missing = [e for e in body_outcomes if e.step_key not in done]
        assert calls.total == len(missing), f"cut at {cut}: {calls.counts}"
