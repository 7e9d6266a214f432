"""Invalid definitions fail at load time with file, line and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio.definitions import ToolRegistry, load_workflow
from fluxio.errors import DefinitionError


def _tools() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register("fetch", lambda url: {"body": url})
    registry.register("summarize", lambda text, words=50: text[:words])
    return registry


def _error(tmp_path: Path, text: str, name: str = "wf.yaml") -> DefinitionError:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DefinitionError) as info:
        load_workflow(path, tools=_tools())
    error = info.value
    assert error.file == str(path)
    return error


BASE = """\
name: broken
steps:
  - id: fetch
    type: tool
    tool: fetch
    inputs:
      url: input.url
"""


def test_unknown_step_type_suggests_the_closest(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "  - id: later\n    type: tol\n    tool: fetch\n")
    assert error.line == 9
    assert "unknown type 'tol'" in error.message
    assert error.suggestion is not None
    assert "Did you mean 'tool'?" in error.suggestion
    assert str(error).startswith(f"{tmp_path / 'wf.yaml'}:9: ")


def test_agent_steps_need_the_loader_to_know_agents(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "  - id: think\n    type: agent\n    agent: helper\n")
    assert error.line == 10
    assert "runs agent 'helper', but no agents were given to the loader" in error.message
    assert error.suggestion is not None
    assert "agents=" in error.suggestion


def test_cycle_in_depends_on_is_named(tmp_path: Path) -> None:
    text = BASE.replace("    tool: fetch\n", "    tool: fetch\n    depends_on: [c]\n", 1) + (
        "  - id: b\n    type: wait\n    wait_for: approval\n    depends_on: [fetch]\n"
        "  - id: c\n    type: wait\n    wait_for: approval\n    depends_on: [b]\n"
    )
    error = _error(tmp_path, text)
    assert "cycle" in error.message
    assert "'fetch', which depends on 'c', which depends on 'b', which depends on 'fetch'" in (
        error.message
    )
    assert error.line == 3
    assert error.suggestion is not None
    assert "Remove one of these dependencies" in error.suggestion


def test_depends_on_unknown_step(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        BASE + "  - id: b\n    type: wait\n    wait_for: approval\n    depends_on: [fetc]\n",
    )
    assert error.line == 11
    assert "'fetc' is not a step" in error.message
    assert error.suggestion == "Did you mean 'fetch'?"


def test_bad_cel_in_a_branch(tmp_path: Path) -> None:
    text = BASE + (
        "  - id: route\n    type: decision\n    branches:\n"
        "      - when: steps.fetch.output.body >\n        goto: [done]\n"
        "  - id: done\n    type: wait\n    wait_for: approval\n"
    )
    error = _error(tmp_path, text)
    assert error.line == 11
    assert "invalid CEL expression" in error.message
    assert error.suggestion is not None
    assert "&&" in error.suggestion


def test_bad_jmespath_suggests_a_literal(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE.replace("url: input.url", "url: http://example.com/a b"))
    assert error.line == 7
    assert "invalid JMESPath expression" in error.message
    assert error.suggestion is not None
    assert "{value: 'http://example.com/a b'}" in (error.suggestion)


def test_input_mapping_refers_to_unknown_step(tmp_path: Path) -> None:
    text = BASE + (
        "  - id: sum\n    type: tool\n    tool: summarize\n"
        "    inputs:\n      text: steps.fetchh.output.body\n"
    )
    error = _error(tmp_path, text)
    assert error.line == 12
    assert "refers to step 'fetchh'" in error.message
    assert error.suggestion == "Did you mean `steps.fetch`?"


def test_input_reading_a_step_without_steps_prefix(tmp_path: Path) -> None:
    text = (
        BASE + "  - id: sum\n    type: tool\n    tool: summarize\n    inputs:\n      text: fetch\n"
    )
    error = _error(tmp_path, text)
    assert error.line == 12
    assert error.suggestion == "To read step 'fetch', write `steps.fetch.output`."


def test_unknown_tool_lists_the_closest(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE.replace("tool: fetch", "tool: fetsh"))
    assert error.line == 5
    assert "unknown tool 'fetsh'" in error.message
    assert error.suggestion == "Did you mean 'fetch'? Registered tools: fetch, summarize."


def test_missing_tool_input(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        BASE + "  - id: sum\n    type: tool\n    tool: summarize\n"
        "    inputs:\n      words: {value: 3}\n",
    )
    assert error.line == 11
    assert "missing input 'text'" in error.message
    assert error.suggestion is not None
    assert "`text: <JMESPath expression>`" in error.suggestion


def test_unknown_tool_input_suggests_the_closest(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE.replace("url: input.url", "ulr: input.url"))
    assert error.line == 7
    assert "does not accept" in error.message
    assert error.suggestion == "Did you mean 'url'?"


def test_duplicate_step_id(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "  - id: fetch\n    type: wait\n    wait_for: approval\n")
    assert error.line == 8
    assert "'fetch' is used twice (first on line 3)" in error.message
    assert error.suggestion is not None
    assert "rename" in error.suggestion


def test_unknown_field_is_refused_with_the_closest(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "    dependson: [x]\n")
    assert error.line == 8
    assert "unknown field `dependson`" in error.message
    assert error.suggestion is not None
    assert error.suggestion.startswith("Did you mean `depends_on`?")


def test_wrong_enum_value_suggests_the_closest(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "    on_error: retyr\n")
    assert error.line == 8
    assert "step 'fetch' `on_error`" in error.message
    assert error.suggestion == "Did you mean 'retry'?"


def test_field_that_does_not_apply_to_the_step_type(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "    wait_for: approval\n")
    assert error.line == 8
    assert "`wait_for` does not apply to tool steps" in error.message


def test_yaml_syntax_error_and_duplicate_keys(tmp_path: Path) -> None:
    error = _error(tmp_path, "name: x\nsteps:\n  - id: a\n   type: [tool\n")
    assert error.line is not None
    assert error.line >= 4
    error = _error(tmp_path, BASE + "    tool: other\n")
    assert error.line == 8
    assert "appears twice" in error.message


def test_json_definition_errors_have_lines(tmp_path: Path) -> None:
    text = (
        '{\n  "name": "j",\n  "steps": [\n    {"id": "a", "type": "tool", "tool": "nope"}\n  ]\n}\n'
    )
    error = _error(tmp_path, text, name="wf.json")
    assert error.line == 4
    assert "unknown tool 'nope'" in error.message
    error = _error(tmp_path, '{\n  "name": "j",\n  "steps": [\n}', name="wf.json")
    assert error.line == 4


def test_decision_target_must_exist_and_branch_needs_target(tmp_path: Path) -> None:
    text = BASE + (
        "  - id: route\n    type: decision\n    branches:\n"
        "      - when: 'true'\n        goto: [nowhere]\n"
    )
    error = _error(tmp_path, text)
    assert error.line == 12
    assert "branch target 'nowhere'" in error.message
    error = _error(tmp_path, BASE + "    on_error: branch\n")
    assert error.line == 8
    assert error.suggestion is not None
    assert "on_error_goto" in error.suggestion


def test_text_definitions_report_string_source() -> None:
    with pytest.raises(DefinitionError) as info:
        load_workflow("name: x\nsteps: []\n", tools=_tools())
    assert info.value.file == "<string>"
    assert info.value.line == 2


def test_wrong_file_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"are \.yaml, \.yml or \.json"):
        load_workflow(tmp_path / "wf.txt", tools=_tools())
    with pytest.raises(DefinitionError, match="no such file"):
        load_workflow(str(tmp_path / "missing.yaml"), tools=_tools())


def test_tools_that_conflict_cannot_be_used_in_one_workflow() -> None:
    from fluxio.tools import ToolRegistry, tool

    @tool(conflicts_with=("wipe",))
    def backup(path: str) -> str:
        """Copy a file aside."""
        return path

    @tool(side_effects=True)
    def wipe(path: str) -> str:
        """Delete everything under a path."""
        return path

    text = """
name: risky
steps:
  - id: save
    type: tool
    tool: backup
    inputs: {path: {value: /data}}
  - id: clean
    type: tool
    tool: wipe
    inputs: {path: {value: /data}}
"""
    with pytest.raises(DefinitionError, match=r"backup.*wipe|wipe.*backup"):
        load_workflow(text, tools=ToolRegistry([backup, wipe]))
