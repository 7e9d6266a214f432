"""``fluxio tools list|show|search`` over tool YAML files (workspace folder and --tools-file)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tests.cli.conftest import Fluxio

TOOLS = """
tools:
  - name: capitalize
    version: 1.0.0
    handler: "string:capwords"
    description: Capitalise every word of a text
    category: text
    tags: [demo, format]
    capabilities: [format_text]
    input_schema: {type: object, properties: {s: {type: string}}, required: [s]}
  - name: capitalize
    version: 0.9.0
    handler: "string:capwords"
    status: deprecated
    deprecated_by: capitalize
  - name: post_message
    version: 2.0.0
    handler: "string:capwords"
    description: Post a chat message
    category: messaging
    side_effects: true
    idempotent: false
    timeout: 4
    retry: {max_attempts: 2}
    errors: [{code: rate_limited, recoverable: true}]
    input_schema: {type: object, properties: {s: {type: string}}}
"""


@pytest.fixture
def tools_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_tools.yaml"
    path.write_text(TOOLS, encoding="utf-8")
    return path


def _text(output: str) -> str:
    return " ".join(output.split())


def test_list_shows_each_tool_with_version_category_effects_and_status(
    fluxio: Fluxio, tools_file: Path
) -> None:
    result = fluxio("tools", "list", "--tools-file", str(tools_file))
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "capitalize" in line or "post_" in line]
    assert len(rows) == 2
    assert "1.0.0" in rows[0]
    assert "text" in rows[0]
    assert "none" in rows[0]
    assert "active" in rows[0]
    assert "2.0.0" in rows[1]
    assert "yes, not idempotent" in rows[1]
    every = fluxio("tools", "list", "-t", str(tools_file), "--all-versions").output
    assert "0.9.0" in every
    assert "deprecated" in every


def test_tool_files_in_the_workspace_folder_are_loaded(fluxio: Fluxio, tools_file: Path) -> None:
    folder = fluxio.cwd / ".fluxio" / "tools"
    folder.mkdir(parents=True)
    tools_file.rename(folder / "mine.yaml")
    result = fluxio("tools", "list")
    assert result.exit_code == 0, result.output
    assert "capitalize" in result.output
    assert "post_message" in result.output


def test_show_prints_the_contract_and_input_schema(fluxio: Fluxio, tools_file: Path) -> None:
    result = fluxio("tools", "show", "post_message", "-t", str(tools_file))
    assert result.exit_code == 0, result.output
    text = _text(result.output)
    assert "post_message 2.0.0" in text
    assert "timeout 4s" in text
    assert "yes, not idempotent" in text
    assert "rate_limited (recoverable)" in text
    assert "'max_attempts': 2" in text
    assert "input schema" in text
    assert '"s": { "type": "string" }' in text


def test_show_json_and_a_pinned_version(fluxio: Fluxio, tools_file: Path) -> None:
    result = fluxio(
        "tools", "show", "capitalize", "--version", "0.9.0", "-t", str(tools_file), "--json"
    )
    assert result.exit_code == 0, result.output
    contract = json.loads(result.output)
    assert (contract["version"], contract["status"]) == ("0.9.0", "deprecated")
    assert contract["deprecated_by"] == "capitalize"


def test_search_by_text_category_and_tag(fluxio: Fluxio, tools_file: Path) -> None:
    found = fluxio("tools", "search", "word", "-t", str(tools_file)).output
    assert "capitalize" in found
    assert "post_message" not in found
    by_category = fluxio("tools", "search", "--category", "messaging", "-t", str(tools_file))
    assert "post_message" in by_category.output
    assert "capitalize" not in by_category.output
    none = fluxio("tools", "search", "--tag", "demo", "--tag", "missing", "-t", str(tools_file))
    assert none.exit_code == 0
    assert "no tools match" in none.output


def test_unknown_tool_is_one_clear_error(fluxio: Fluxio, tools_file: Path) -> None:
    result = fluxio("tools", "show", "capitalise", "-t", str(tools_file))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "unknown tool 'capitalise'. Did you mean 'capitalize'?" in _text(result.stderr)


def test_a_broken_tool_file_names_file_and_line(fluxio: Fluxio, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("name: x\nhandler: string:capwords\nversion: 1\n"), "utf-8")
    result = fluxio("tools", "list", "-t", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3: tool field `version`" in _text(result.stderr)


def test_built_in_tools_are_listed_without_any_file(fluxio: Fluxio) -> None:
    result = fluxio("tools", "list")
    assert result.exit_code == 0, result.output
    for name in ("read_file", "write_file", "parse_document", "transform_data", "http_request"):
        assert name in result.output
    search = fluxio("tools", "search", "--category", "files").output
    assert "read_file" in search
    assert "parse_document" not in search


def test_a_file_tool_clashing_with_a_built_in_is_refused(fluxio: Fluxio, tmp_path: Path) -> None:
    clash = tmp_path / "clash.yaml"
    clash.write_text("name: read_file\nhandler: string:capwords\n", encoding="utf-8")
    result = fluxio("tools", "list", "-t", str(clash))
    assert result.exit_code == 2
    assert "'read_file' version 1.0.0 is already registered" in _text(result.stderr)
