"""``@step``, ``>>`` and typed results: the DSL's core, run on the real engine."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

from fluxio import Engine, RunFailed
from fluxio.dsl import FunctionStep, Pipeline, RetryPolicy, Step, Workflow, step
from fluxio.errors import DefinitionError, StepFailed
from fluxio.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


class Ticket(BaseModel):
    id: int
    text: str


@dataclasses.dataclass
class Label:
    ticket: int
    kind: str


@step
async def parse(raw: dict[str, Any]) -> Ticket:
    return Ticket(id=raw["id"], text=raw["text"])


@step
def classify(ticket: Ticket) -> Label:  # sync: runs in a worker thread
    return Label(ticket.id, "bug" if "crash" in ticket.text else "question")


@step(name="summary")
async def summarize(label: Label) -> str:
    return f"{label.ticket}:{label.kind}"


async def test_step_decorator_makes_typed_function_steps() -> None:
    assert isinstance(parse, FunctionStep)
    assert isinstance(parse, Step)
    assert parse.name == "parse"
    assert parse.input_type == dict[str, Any]
    assert parse.output_type is Ticket
    assert classify.input_type is Ticket
    assert summarize.name == "summary"
    assert summarize.options is None


async def test_rshift_builds_one_flat_pipeline() -> None:
    flow = parse >> classify >> summarize
    assert isinstance(flow, Pipeline)
    assert [s.name for s in flow.steps] == ["parse", "classify", "summary"]
    assert flow.input_type == dict[str, Any]
    assert flow.output_type is str
    longer = flow >> step(lambda text: text.upper())
    assert len(longer.steps) == 4


async def test_pipeline_runs_on_the_engine_and_journals_each_step() -> None:
    engine = Engine(MemoryStore())
    flow = Workflow("triage", parse >> classify >> summarize)
    engine.register(flow)
    result = await engine.run("triage", {"id": 7, "text": "app crash on login"})
    assert result == "7:bug"
    run = (await engine.list_runs())[0]
    journal = await engine.journal(run.run_id)
    assert [(e.step_key, e.name) for e in journal] == [
        ("1", "parse"),
        ("2", "classify"),
        ("3", "summary"),
    ]
    assert journal[1].value == {"ticket": 7, "kind": "bug"}


async def test_pydantic_model_input_is_validated_from_json() -> None:
    seen: list[Any] = []

    @step
    async def handle(ticket: Ticket) -> int:
        seen.append(ticket)
        return ticket.id * 2

    engine = Engine(MemoryStore())
    assert await engine.run(Workflow("h", handle), {"id": "21", "text": "hi"}) == 42
    assert seen == [Ticket(id=21, text="hi")]


async def test_invalid_model_input_fails_with_a_clear_non_retryable_error() -> None:
    attempts: list[int] = []

    @step(retry=3)
    async def handle(ticket: Ticket) -> int:
        attempts.append(1)
        return ticket.id

    engine = Engine(MemoryStore())
    with pytest.raises(RunFailed) as info:
        await engine.run(Workflow("h", handle), {"text": "no id"})
    message = info.value.error["message"]
    assert "'handle' expects a Ticket" in message
    assert "id: Field required" in message
    assert info.value.error["type"] == "InvalidInput"
    assert attempts == []


async def test_step_options_reach_the_engine_retry_policy() -> None:
    attempts: list[int] = []

    @step(retry=RetryPolicy(max_attempts=3, initial=0, jitter=0), timeout=5)
    async def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return x + 1

    assert flaky.options is not None
    assert flaky.options.timeout == 5
    engine = Engine(MemoryStore())
    assert await engine.run(Workflow("f", flaky), 1) == 2
    assert attempts == [1, 1, 1]


async def test_retry_as_a_number_means_max_attempts() -> None:
    attempts: list[int] = []

    @step(retry=1)
    async def once(x: int) -> int:
        attempts.append(x)
        raise StepFailed("nope")

    engine = Engine(MemoryStore())
    with pytest.raises(RunFailed, match="nope"):
        await engine.run(Workflow("o", once), 1)
    assert attempts == [1]


async def test_side_effect_options_are_carried() -> None:
    @step(side_effects=True, idempotent=False)
    def send(x: str) -> str:
        return x

    assert send.options is not None
    assert send.options.needs_intent


def test_step_needs_a_function_of_exactly_one_input() -> None:
    def two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(DefinitionError, match="exactly one input"):
        step(two)

    def none() -> int:
        return 1

    with pytest.raises(DefinitionError, match="exactly one input"):
        step(none)


def test_chaining_a_plain_function_says_to_decorate_it() -> None:
    def plain(x: int) -> int:
        return x

    with pytest.raises(DefinitionError, match="@step"):
        Pipeline(parse, plain)  # type: ignore[arg-type]


def test_workflow_needs_a_name_and_a_step() -> None:
    with pytest.raises(DefinitionError, match="non-empty name"):
        Workflow("", parse)
    with pytest.raises(DefinitionError, match="needs a step"):
        Workflow("x", lambda x: x)  # type: ignore[arg-type]


def test_engine_run_context_offers_everything_the_dsl_context_names() -> None:
    import inspect

    from fluxio.dsl import Context
    from fluxio.engine import RunContext

    members = [n for n in vars(Context) if not n.startswith("_")]
    assert {"step", "sleep", "wait_for", "child", "parallel", "reserve_key", "scoped"} <= set(
        members
    )
    for name in members:
        wanted, actual = getattr(Context, name), getattr(RunContext, name)
        if isinstance(wanted, property):
            assert isinstance(actual, property), name
            continue
        assert list(inspect.signature(actual).parameters) == list(
            inspect.signature(wanted).parameters
        ), name
