"""``validate`` reports every problem of a definition at once, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from fluxio.dsl import (
    Branch,
    InvalidDefinition,
    Loop,
    Map,
    Parallel,
    SubWorkflow,
    Workflow,
    step,
    validate,
)
from fluxio.errors import DefinitionError


class Ticket(BaseModel):
    text: str


class Urgent(Ticket):
    level: int = 1


@step
async def load(path: str) -> Ticket:
    return Ticket(text=path)


@step
async def escalate(t: Urgent) -> Urgent:
    return t


@step
async def words(t: Ticket) -> list[str]:
    return t.text.split()


@step
async def count(n: int) -> int:
    return n + 1


@step
async def anything(x):  # type: ignore[no-untyped-def]  # no annotations: fits everything
    return x


def problems(flow: Any, **kwargs: Any) -> tuple[str, ...]:
    with pytest.raises(InvalidDefinition) as info:
        validate(flow, **kwargs)
    assert isinstance(info.value, DefinitionError)
    return info.value.problems


def test_a_well_typed_workflow_is_valid() -> None:
    validate(Workflow("ok", load >> words >> Map(step(lambda w: w)) >> anything))
    validate(load >> Loop(anything, until="true", max_iterations=2))
    validate(escalate >> words)  # a subclass fits where its base is expected


def test_type_mismatch_between_consecutive_steps_is_reported() -> None:
    (problem,) = problems(Workflow("bad", load >> count))
    assert "'load' returns Ticket but the next step 'count' expects int" in problem
    assert problem.startswith("bad > 1:pipeline: ")


def test_base_class_does_not_fit_a_subclass_input() -> None:
    (problem,) = problems(load >> escalate)
    assert "returns Ticket" in problem
    assert "expects Urgent" in problem


def test_generic_arguments_are_compared() -> None:
    (problem,) = problems(words >> Map(count))
    assert "list[str]" in problem
    assert "list[int]" in problem


def test_every_problem_is_listed_with_its_path() -> None:
    flow = Workflow(
        "many",
        load
        >> Parallel(words, count)
        >> Loop(anything, while_="true")
        >> SubWorkflow("missing")
        >> Branch("true", words),
    )
    found = problems(flow, known_workflows=["other"])
    text = "\n".join(found)
    assert len(found) == 4, text
    assert "branch 'count' expects int" in text
    assert "has no max_iterations" in text
    assert "names workflow 'missing', which is not known (known: other)" in text
    assert "passes through" in text
    with pytest.raises(InvalidDefinition, match="has 4 problems: \\(1\\)"):
        validate(flow, known_workflows=["other"])


def test_known_workflows_and_workflow_objects_satisfy_sub_workflows() -> None:
    validate(SubWorkflow("billing"), known_workflows={"billing"})
    validate(SubWorkflow(Workflow("inline", count)))
    (problem,) = problems(SubWorkflow("billing"))
    assert "known: none" in problem


def test_loop_body_must_feed_itself() -> None:
    (problem,) = problems(Loop(words, until="true", max_iterations=3))
    assert "body 'words' returns list[str] but the next iteration needs Ticket" in problem


def test_branch_arms_must_agree() -> None:
    (problem,) = problems(Branch("true", words, otherwise=count))
    assert "arm 'words' returns list[str] but arm 'count' returns int" in problem


def test_validate_needs_a_step() -> None:
    with pytest.raises(DefinitionError, match="takes a DSL step"):
        validate("not a step")  # type: ignore[arg-type]
