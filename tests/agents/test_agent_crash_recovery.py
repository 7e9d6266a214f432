"""A task killed mid-loop resumes from its journal: recorded model turns are not asked again
and recorded tool calls are not repeated."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fluxio import Engine
from fluxio.agents import AgentDefinition, AgentRuntime
from fluxio.store.records import RunStatus
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import ToolRegistry, tool

pytestmark = pytest.mark.anyio

WORKER = '''
"""One process of the crash test: runs (or resumes) the agent task; SIGKILLs itself once."""
import asyncio, json, os, signal, sys
from pathlib import Path

from fluxio import Engine
from fluxio.agents import AgentDefinition, AgentRuntime
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import ToolRegistry, tool

DIR = Path(sys.argv[1])


def log(name, text):
    with open(DIR / name, "a") as f:
        f.write(text + "\\n")


def turn(request):
    done = sum(1 for m in request.messages if m.role == "tool")
    log("model.log", str(done))
    if done == 2 and not (DIR / "killed").exists():
        (DIR / "killed").write_text("yes")
        os.kill(os.getpid(), signal.SIGKILL)  # mid-loop: two turns and two charges recorded
    if done < 3:
        return FakeModel.tool_call("charge", {"n": done + 1})
    return "charged three times"


@tool(side_effects=True, idempotent=True)
def charge(n: int) -> str:
    """Charge the card."""
    log("charge.log", str(n))
    return f"charge {n} ok"


async def main():
    store = SQLiteStore(DIR / "agents.db", durability="full")
    engine = Engine(store, lease_seconds=1.0)
    runtime = AgentRuntime(engine, tools=ToolRegistry([charge]), model=FakeModel(default=turn))
    await runtime.deploy(AgentDefinition(name="billing", required_tools=("charge",)))
    run = await runtime.start("billing", "charge three times", idempotency_key="task-1")
    print(run.run_id, flush=True)
    result = await runtime.result(run.run_id)
    print(json.dumps(result.model_dump(mode="json")), flush=True)
    await store.close()


asyncio.run(main())
'''


def test_a_sigkilled_agent_run_resumes_without_asking_recorded_turns_again(
    tmp_path: Path,
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER))
    first = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert first.returncode == -9, first.stderr  # killed by SIGKILL mid-loop
    run_id = first.stdout.split()[0]
    assert (tmp_path / "model.log").read_text().split() == ["0", "1", "2"]
    assert (tmp_path / "charge.log").read_text().split() == ["1", "2"]

    second = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[0] == run_id  # the same task, found by its idempotency key
    result = json.loads(second.stdout.splitlines()[1])
    assert result["output"] == "charged three times"
    # turns 0 and 1 came from the journal; turn 2 was never recorded, so it was asked again
    assert (tmp_path / "model.log").read_text().split() == ["0", "1", "2", "2", "3"]
    assert (tmp_path / "charge.log").read_text().split() == ["1", "2", "3"]
    assert [u["step_key"] for u in result["tool_calls"]] == ["1.tool.1", "2.tool.1", "3.tool.1"]


async def test_a_crash_inside_a_tool_resumes_on_a_fresh_engine_without_repeats(
    sqlite: SQLiteStore,
) -> None:
    counts = {"lookup": 0, "write": 0}

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        counts["lookup"] += 1
        return f"value of {key}"

    @tool(side_effects=True, idempotent=True)
    def write(text: str) -> str:
        """Write text."""
        counts["write"] += 1
        if counts["write"] == 1:
            raise SystemExit("the worker died inside the tool")
        return "written"

    model = FakeModel(
        [
            FakeModel.tool_call("lookup", {"key": "k"}),
            FakeModel.tool_call("write", {"text": "v"}),
            "all done",
        ]
    )
    tools = ToolRegistry([lookup, write])
    agent = AgentDefinition(name="scribe", required_tools=("lookup", "write"))
    first = AgentRuntime(Engine(sqlite, lease_seconds=0.05), tools=tools, model=model)
    await first.deploy(agent)
    run = await first.start("scribe", "write the value of k")
    (claim,) = await first.engine.claim(1)
    with pytest.raises(SystemExit):
        await first.engine.execute(claim)
    assert (model.calls, counts) == (2, {"lookup": 1, "write": 1})
    await asyncio.sleep(0.06)  # the dead worker's lease expires

    fresh = AgentRuntime(Engine(sqlite), first.registry, tools=tools, model=model)
    result = await fresh.result(run.run_id)
    assert result.output == "all done"
    assert (model.calls, counts) == (3, {"lookup": 1, "write": 2})  # only the unrecorded call reran


async def test_a_crash_inside_a_non_idempotent_tool_parks_the_task_for_a_person(
    sqlite: SQLiteStore,
) -> None:
    @tool(side_effects=True, idempotent=False)
    def pay(amount: int) -> str:
        """Pay an amount."""
        raise SystemExit("died while paying")

    model = FakeModel([FakeModel.tool_call("pay", {"amount": 5}), "paid"])
    tools = ToolRegistry([pay])
    first = AgentRuntime(Engine(sqlite, lease_seconds=0.05), tools=tools, model=model)
    await first.deploy(AgentDefinition(name="payer", required_tools=("pay",)))
    run = await first.start("payer", "pay 5")
    (claim,) = await first.engine.claim(1)
    with pytest.raises(SystemExit):
        await first.engine.execute(claim)
    await asyncio.sleep(0.06)
    fresh = AgentRuntime(Engine(sqlite), first.registry, tools=tools, model=model)
    await fresh.engine.drive()
    parked = await fresh.engine.get(run.run_id)
    assert parked.status is RunStatus.NEEDS_ATTENTION
    assert parked.attention is not None
    assert parked.attention["step"] == "tool:pay"
    assert model.calls == 1
