"""Tool-call streams and deterministic JSON repair."""

from __future__ import annotations

import pytest

from fluxio.errors import ModelError
from fluxio.models import StreamAccumulator, ToolCallDelta, repair_json
from fluxio.models.stream import parse_arguments


def test_accumulator_keeps_the_first_name_and_id_of_each_call() -> None:
    accumulator = StreamAccumulator()
    for event in [
        ToolCallDelta(1, "id-b", "second", '{"b"'),
        ToolCallDelta(0, "id-a", "first", ""),
        ToolCallDelta(0, "id-other", "first", '{"a": 1}'),
        ToolCallDelta(1, None, "second", ": 2}"),
    ]:
        accumulator.add(event)
    calls = accumulator.response(model="m").tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("id-a", "first", {"a": 1}),
        ("id-b", "second", {"b": 2}),
    ]


def test_a_streamed_call_without_a_name_is_a_model_error() -> None:
    accumulator = StreamAccumulator()
    accumulator.add(ToolCallDelta(0, "x", None, "{}"))
    with pytest.raises(ModelError, match="without a name"):
        accumulator.response(model="m")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ('{"a": 1}', {"a": 1}),
        ("{'a': 'b',}", {"a": "b"}),
        ('```json\n{"a": [1, 2,]}\n```', {"a": [1, 2]}),
    ],
)
def test_arguments_are_parsed_with_repair(raw: str, expected: dict[str, object]) -> None:
    assert parse_arguments(raw, tool="t", model="m") == expected


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"a string"'])
def test_arguments_that_are_not_an_object_are_a_retryable_error(raw: str) -> None:
    with pytest.raises(ModelError, match="not a JSON object") as caught:
        parse_arguments(raw, tool="search", model="m")
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"ok": true}', {"ok": True}),
        ('Sure! Here it is:\n```json\n{"ok": true}\n```\nAnything else?', {"ok": True}),
        ('The answer is {"n": 3, "t": ["a", "b",],} as asked.', {"n": 3, "t": ["a", "b"]}),
        ("{'name': 'O\\'Brien', 'said': \"hi\"}", {"name": "O'Brien", "said": "hi"}),
        ('{"ok": True, "none": None, "text": "None of it, True"}',
         {"ok": True, "none": None, "text": "None of it, True"}),
        ('[{"a": "}"}, 1]', [{"a": "}"}, 1]),
    ],
)  # fmt: skip
def test_repair_json_fixes_what_models_commonly_get_wrong(text: str, expected: object) -> None:
    assert repair_json(text) == expected


def test_repair_json_gives_up_clearly() -> None:
    with pytest.raises(ValueError, match="no JSON object or array could be recovered"):
        repair_json("I cannot answer that.")
