"""``fluxio agents list|show|deploy|pause|resume|terminate|run`` and ``fluxio demo agent``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.models.model_servers import Reply, ScriptedServer
from typer.testing import CliRunner, Result

from fluxio.cli.main import app

AGENT = """\
name: reader
version: 1.0.0
description: Reads notes aloud.
role: Note reader
tools: [read_file]
concurrency_limit: 2
"""

NO_MODEL = {
    "FLUXIO_DATABASE_URL": None,
    "FLUXIO_MODEL": None,
    "FLUXIO_MODEL_BASE_URL": None,
    "FLUXIO_MODEL_API_KEY": None,
    "OPENAI_API_KEY": None,
    "ANTHROPIC_API_KEY": None,
    "COLUMNS": "200",
}

Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reader.yaml").write_text(AGENT)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        db = str(tmp_path / "state" / "fluxio.db")
        return runner.invoke(app, ["--db", db, *args], env={**NO_MODEL, **(env or {})})

    return invoke


def completion(message: dict[str, object]) -> Reply:
    return Reply(
        body={
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "stub",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4},
        }
    )


@pytest.fixture
def model_server() -> Iterator[ScriptedServer]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_file", "arguments": json.dumps({"path": "note.txt"})},
    }
    with ScriptedServer(
        completion({"role": "assistant", "content": None, "tool_calls": [call]}),
        completion({"role": "assistant", "content": "The note says: hello agents"}),
    ) as server:
        yield server


def test_deploy_list_show_and_the_lifecycle_commands(cli: Cli, tmp_path: Path) -> None:
    deployed = cli("agents", "deploy", "reader.yaml")
    assert deployed.exit_code == 0, deployed.output
    assert "deployed agent reader 1.0.0 (deployed)" in deployed.output
    listed = cli("agents", "list")
    assert "reader" in listed.output
    assert "read_file" in listed.output
    assert "deployed" in listed.output
    shown = cli("agents", "show", "reader")
    assert "Note reader" in shown.output
    assert "concurrency 2" in shown.output
    assert str(tmp_path / "reader.yaml") in shown.output
    with sqlite3.connect(tmp_path / "state" / "fluxio.db") as conn:
        limits = conn.execute("SELECT * FROM concurrency_limits").fetchall()
    assert any("agent:reader" in row and 2 in row for row in limits)

    assert "is paused" in cli("agents", "pause", "reader").output
    refused = cli("agents", "run", "reader", "--input", "read it")
    assert refused.exit_code == 2
    assert "'reader' is paused and accepts no new tasks; resume it first" in refused.output
    again = cli("agents", "pause", "reader")
    assert again.exit_code == 2
    assert "cannot pause agent 'reader': it is paused" in again.output
    assert "is active" in cli("agents", "resume", "reader").output
    terminated = cli("agents", "terminate", "reader")
    assert "is terminated; 0 unfinished run(s) cancelled" in terminated.output
    state = json.loads((tmp_path / "state" / "agents.json").read_text())
    assert state["agents"]["reader"]["state"] == "terminated"


def test_deploy_reports_bad_definitions_with_file_and_line(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: reader\ntools:\n  - read_fil\n")
    result = cli("agents", "deploy", "bad.yaml")
    assert result.exit_code == 2
    assert "bad.yaml:3: agent 'reader' uses unknown tool 'read_fil'" in result.output
    assert "Did you mean 'read_file'?" in result.output
    assert "Traceback" not in result.output
    cli("agents", "deploy", "reader.yaml")
    (tmp_path / "reader.yaml").write_text(AGENT.replace("Note reader", "Other"))
    changed = cli("agents", "deploy", "reader.yaml")
    assert changed.exit_code == 2
    assert "already deployed with another definition; raise `version`" in changed.output
    unknown = cli("agents", "show", "raeder")
    assert unknown.exit_code == 2
    assert "Did you mean 'reader'?" in unknown.output


def test_run_without_a_model_explains_how_to_configure_one(cli: Cli) -> None:
    cli("agents", "deploy", "reader.yaml")
    result = cli("agents", "run", "reader", "--input", "read note.txt")
    assert result.exit_code == 2
    assert "No model is configured" in result.output
    assert "FLUXIO_MODEL=ollama:llama3.2" in result.output
    assert "FLUXIO_MODEL_BASE_URL" in result.output


def test_run_calls_the_configured_model_and_the_tools_and_prints_the_record(
    cli: Cli, tmp_path: Path, model_server: ScriptedServer
) -> None:
    (tmp_path / "note.txt").write_text("hello agents")
    cli("agents", "deploy", "reader.yaml")
    env = {"FLUXIO_MODEL_BASE_URL": model_server.url + "/v1"}
    result = cli("agents", "run", "reader", "--input", '{"task": "Read note.txt"}', env=env)
    assert result.exit_code == 0, result.output
    assert "completed (final_answer) after 2 model call(s) and 1 tool call(s)" in result.output
    assert "24 tokens in, 8 out" in result.output
    assert "The note says: hello agents" in result.output
    sent = model_server.requests[1].body
    assert sent["messages"][-1]["role"] == "tool"
    assert "hello agents" in sent["messages"][-1]["content"]
    state = json.loads((tmp_path / "state" / "agents.json").read_text())
    assert state["agents"]["reader"]["state"] == "active"  # its first task activated it


def test_demo_agent_without_a_model_says_how_to_configure_one(cli: Cli) -> None:
    result = cli("demo", "agent")
    assert result.exit_code == 2
    assert "`fluxio demo agent` needs a model" in result.output
    assert "ollama" in result.output
    assert "llamacpp:/path/to/model.gguf" in result.output
    assert "fluxio[llamacpp]" in result.output
    assert "FLUXIO_MODEL_BASE_URL" in result.output
    assert "FLUXIO_MODEL_API_KEY" in result.output
    wrong = cli("demo", "agnet")
    assert wrong.exit_code == 2
    assert "unknown demo 'agnet'" in wrong.output
