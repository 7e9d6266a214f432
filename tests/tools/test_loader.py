"""YAML tool definitions: contract fields plus a handler, with errors that point at the line."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxio.errors import DefinitionError, ToolInputInvalid
from fluxio.tools import ToolRegistry, load_tools

pytestmark = pytest.mark.anyio

HANDLERS = '''
"""Handlers the YAML tool files in these tests name."""
from fluxio.tools import tool

CONSTANT = 3


def send_email(to: str, subject: str = "hi") -> dict:
    """Send an email (pretend).

    Args:
        to: the recipient address.
    """
    return {"sent_to": to, "subject": subject}


async def raw(**arguments):
    return {"got": arguments}


@tool
def shout(text: str) -> str:
    """Shout."""
    return text.upper()
'''

MODULE = "fluxio_test_tool_handlers"


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / f"{MODULE}.py").write_text(HANDLERS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield MODULE
    sys.modules.pop(MODULE, None)


def _write(tmp_path: Path, text: str, name: str = "tools.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


async def test_one_tool_from_a_file_takes_its_schema_from_the_handler(
    handlers: str, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        f"""
        name: send_email
        version: 1.2.0
        handler: "{handlers}:send_email"
        category: messaging
        side_effects: true
        idempotent: false
        timeout_ms: 1500
        """,
    )
    (send,) = load_tools(path)
    assert (send.name, send.version, send.contract.timeout) == ("send_email", "1.2.0", 1.5)
    assert send.description == "Send an email (pretend)."
    assert send.contract.input_schema["required"] == ["to"]
    assert send.contract.input_schema["properties"]["to"]["description"] == "the recipient address."
    assert await send.invoke({"to": "a@b.c"}) == {"sent_to": "a@b.c", "subject": "hi"}
    with pytest.raises(ToolInputInvalid, match="argument 'to': 5 is not of type 'string'"):
        await send.invoke({"to": 5})


async def test_a_list_with_explicit_schemas_and_seed_inputs(handlers: str) -> None:
    tools = load_tools(
        textwrap.dedent(
            f"""
            tools:
              - name: raw_schema
                handler: {handlers}:raw
                input_schema:
                  type: object
                  properties: {{n: {{type: integer}}}}
              - name: raw_seed
                handler: {handlers}:raw
                inputs:
                  - {{name: query, type: str, description: what to find}}
                  - {{name: limit, type: integer, default: 10}}
                outputs:
                  - {{name: got, type: object}}
              - name: shouting
                handler: {handlers}:shout
            """
        )
    )
    schema_tool, seed_tool, shouting = tools
    assert await schema_tool.invoke({"n": 1}) == {"got": {"n": 1}}
    assert seed_tool.contract.input_schema == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to find"},
            "limit": {"type": "integer", "default": 10},
        },
        "required": ["query"],
    }
    assert seed_tool.contract.output_schema is not None
    assert await seed_tool.invoke({"query": "x"}) == {"got": {"query": "x"}}
    assert (shouting.name, await shouting.invoke({"text": "a"})) == ("shouting", "A")


def test_a_folder_loads_every_tool_file(handlers: str, tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    _write(folder, f"name: a\nhandler: {handlers}:shout\n", "a.yaml")
    _write(folder, f'[{{"name": "b", "handler": "{handlers}:shout"}}]', "b.json")
    _write(folder, "not a tool file", "notes.txt")
    registry = ToolRegistry(load_tools(folder))
    assert registry.names() == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: x\nversion: 1.0.0\n", 1, "every tool needs `handler:"),
        ("name: x\nhandler: no_such_module_xyz:f\n", 2, "cannot import handler module"),
        ("name: x\nhandler: {mod}:missing\n", 2, "has no attribute 'missing'"),
        ("name: x\nhandler: {mod}:CONSTANT\n", 2, "is a int, not a callable"),
        ("name: x\nhandler: {mod}:shout\nversion: one\n", 3, "not a semantic version"),
        ("name: x\nhandler: {mod}:shout\nside_efects: true\n", 3, "Did you mean `side_effects`?"),
        ("- name: x\n  handler: {mod}:shout\n- 42\n", 3, "a tool must be a mapping, not int"),
        (
            "name: x\nhandler: {mod}:raw\ninputs:\n  - name: a\n    type: varchar\n",
            5,
            "unknown type 'varchar'",
        ),
        ("name: x\nname: y\n", 2, "key 'name' appears twice"),
        ("name: [unclosed\n", 2, "cannot parse the file"),
        (
            "name: x\nhandler: {mod}:raw\ninput_schema: {{type: object, properties: 3}}\n",
            3,
            "not a valid JSON Schema",
        ),
    ],
)
def test_bad_files_give_a_definition_error_with_file_and_line(
    handlers: str, tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text.format(mod=handlers))
    with pytest.raises(DefinitionError) as info:
        load_tools(path)
    assert info.value.file == str(path)
    assert info.value.line == line
    assert message in str(info.value)


def test_empty_and_missing_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="the file is empty"):
        load_tools(_write(tmp_path, "# nothing\n"))
    with pytest.raises(DefinitionError, match="no such file"):
        load_tools(tmp_path / "absent.yaml")
    with pytest.raises(DefinitionError, match=r"holds a tool .mapping. or a list"):
        load_tools("just text")
