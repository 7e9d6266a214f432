"""``fluxio demo agent``: the agentic triage, end to end with a scripted model (in process with
FakeModel, and through the CLI against a local OpenAI-compatible server)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.models.model_servers import HTTPTestServer, Recorded, Reply
from typer.testing import CliRunner

from fluxio import Engine
from fluxio.cli.main import app
from fluxio.demo import folder
from fluxio.demo.agent import start_agent_demo
from fluxio.demo.tools import classify
from fluxio.models import ModelRequest
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel

pytestmark = pytest.mark.anyio

TICKETS = [f"T-100{i}" for i in range(1, 9)]


def next_action(results: Sequence[str]) -> tuple[str, dict[str, Any]] | str:
    """A scripted triager: list, then read / look up / save each ticket, then summarize.

    ``results`` are the tool results so far, in order; the answer is a tool call or the final
    JSON text.
    """
    if not results:
        return ("list_tickets", {})
    ids = json.loads(results[0])
    done, phase = divmod(len(results) - 1, 3)
    tickets = [json.loads(results[1 + 3 * i]) for i in range(done)]
    if done == len(ids):
        rows = [{"ticket": t["id"], **classify(t)} for t in tickets]
        return json.dumps(
            {"tickets": [{k: r[k] for k in ("ticket", "category", "priority")} for r in rows]}
        )
    if phase == 0:
        return ("read_ticket", {"ticket_id": ids[done]})
    ticket = json.loads(results[-1] if phase == 1 else results[-2])
    if phase == 1:
        return ("lookup_customer", {"email": ticket["email"]})
    labels = classify(ticket)
    reply = f"Hi {ticket['name'].split()[0]}, we are on it."
    return ("save_draft", {"ticket_id": ticket["id"], **labels, "reply": reply})


def fake_triager(request: ModelRequest) -> Any:
    action = next_action([m.content or "" for m in request.messages if m.role == "tool"])
    return action if isinstance(action, str) else FakeModel.tool_call(*action)


async def test_the_agentic_demo_triages_every_ticket_with_a_fake_model(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    folder.prepare(directory)
    store = SQLiteStore(tmp_path / "demo.db", durability="normal")
    model = FakeModel(default=fake_triager)
    runtime, run = await start_agent_demo(Engine(store), directory, model)
    result = await runtime.result(run.run_id)
    await store.close()
    assert result.ok, result.errors
    assert [row["ticket"] for row in result.output["tickets"]] == TICKETS
    assert result.output["tickets"][0]["category"] == "billing"
    assert len(result.tool_calls) == 1 + 3 * len(TICKETS)
    assert all(use.ok for use in result.tool_calls)
    assert model.calls == 2 + 3 * len(TICKETS)
    drafts = sorted(p.stem for p in (directory / "drafts").glob("*.txt"))
    assert drafts == TICKETS
    assert "Category: billing" in (directory / "drafts" / "T-1001.txt").read_text()


def openai_triager(request: Recorded) -> Reply:
    messages = request.body["messages"]
    action = next_action([m["content"] for m in messages if m["role"] == "tool"])
    message: dict[str, Any] = {"role": "assistant", "content": action}
    if not isinstance(action, str):
        call = {"id": f"call_{len(messages)}", "type": "function"}
        call["function"] = {"name": action[0], "arguments": json.dumps(action[1])}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return Reply(
        body={"id": "x", "object": "chat.completion", "model": "stub", "choices": [choice]}
    )


def test_fluxio_demo_agent_runs_on_the_configured_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with HTTPTestServer(openai_triager) as server:
        env = {"FLUXIO_MODEL_BASE_URL": server.url + "/v1", "FLUXIO_MODEL": None}
        env |= {"FLUXIO_DATABASE_URL": None, "COLUMNS": "200", "FLUXIO_MODEL_API_KEY": None}
        result = CliRunner().invoke(app, ["--db", "state/f.db", "demo", "agent"], env=env)
        assert result.exit_code == 0, result.output
        assert (
            "completed (final_answer) after 26 model call(s) and 25 tool call(s)" in result.output
        )
        assert "8 draft replies" in result.output
        again = CliRunner().invoke(app, ["--db", "state/f.db", "demo", "agent"], env=env)
    assert again.exit_code == 0, again.output
    assert len(server.requests) == 26  # the second run found the finished task: no model call
    assert len(list((tmp_path / "fluxio-demo" / "drafts").glob("*.txt"))) == 8
