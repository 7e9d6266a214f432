"""The agent loop's overhead per iteration, and the overhead of one journaled tool/model call.

fluxio drives its agent loop (every model call and every tool call journaled durably on SQLite,
at durability ``normal`` and ``full``) with a scripted, zero-latency model that asks for one
tool call (``noop``) per iteration and answers after N of them. The same N iterations run, in
the same invocation, under Pydantic AI's agent (``FunctionModel``) and LangGraph's prebuilt
ReAct agent (a fake chat model), from their own virtualenv (``bench/.venvs/agents``, created
on first use). Neither peer persists anything (their defaults). Numbers are medians of
``--runs`` runs; the model and tool do no work, so the time per iteration is the framework's
overhead.

    python bench/agents_bench.py                       # 100 iterations x 5 runs, with peers
    python bench/agents_bench.py --quick --no-peers     # a smoke run in seconds
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fluxio import Engine, RunContext
from fluxio.agents import AgentDefinition, AgentRuntime
from fluxio.models import ModelRequest, ModelResponse, ToolCall, call_model
from fluxio.store.sqlite import SQLiteStore
from fluxio.tools import ToolRegistry, call_tool, tool

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venvs" / "agents"
PEER_PACKAGES = ["pydantic-ai-slim", "langgraph", "langchain-core"]


@tool
async def noop(i: int) -> str:
    """Return the iteration number as text."""
    return str(i)


class Scripted:
    """A zero-latency model: one ``noop`` call per turn for ``n`` turns, then ``done``."""

    name = "scripted"

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        if self.calls <= self.n:
            call = ToolCall(id=f"c{self.calls}", name="noop", arguments={"i": self.calls})
            return ModelResponse(tool_calls=(call,), model=self.name)
        return ModelResponse(content="done", model=self.name)


async def on_sqlite(durability: str, body: Callable[[Engine], Awaitable[float]]) -> float:
    """Run ``body`` on a fresh SQLite database; return the seconds it measured."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db", durability=durability)  # type: ignore[arg-type]
        try:
            return await body(Engine(store))
        finally:
            await store.close()


async def agent_loop(durability: str, iterations: int) -> float:
    """Seconds for one agent task of ``iterations`` tool-calling iterations."""

    async def body(engine: Engine) -> float:
        runtime = AgentRuntime(engine, tools=ToolRegistry([noop]), model=Scripted(iterations))
        agent = AgentDefinition(
            name="bench",
            required_tools=("noop",),
            max_iterations=iterations + 1,
            max_tool_calls=iterations,
        )
        await runtime.deploy(agent)
        started = time.perf_counter()
        result = await runtime.run("bench", "go")
        elapsed = time.perf_counter() - started
        assert result.output == "done"
        assert len(result.tool_calls) == iterations
        return elapsed

    return await on_sqlite(durability, body)


async def journaled_calls(durability: str, kind: str, calls: int) -> float:
    """Seconds for a run making ``calls`` journaled tool (or model) calls."""
    model = Scripted(0)

    async def flow(ctx: RunContext, n: int) -> None:
        for i in range(n):
            if kind == "tool":
                await call_tool(ctx, noop, {"i": i})
            else:
                await call_model(ctx, model, REQUEST)

    async def body(engine: Engine) -> float:
        engine.register(flow, name="flow")
        started = time.perf_counter()
        await engine.run("flow", calls)
        return time.perf_counter() - started

    return await on_sqlite(durability, body)


REQUEST = ModelRequest.of("go")


async def direct_calls(kind: str, calls: int) -> float:
    """Seconds for ``calls`` direct calls: ``tool.invoke`` or ``model.request``."""
    model = Scripted(0)
    started = time.perf_counter()
    for i in range(calls):
        if kind == "tool":
            await noop.invoke({"i": i})
        else:
            await model.request(REQUEST)
    return time.perf_counter() - started


def median_of(runs: int, measure: Callable[[], Awaitable[float]]) -> float:
    """The median seconds of ``runs`` measurements (after one warm-up)."""
    asyncio.run(measure())
    return statistics.median(asyncio.run(measure()) for _ in range(runs))


def peer_seconds(iterations: int, runs: int) -> dict[str, float]:
    """Median seconds per task of each peer, from its own virtualenv."""
    python = ensure_venv()
    script = str(BENCH / "peers" / "agent_peers.py")
    out = subprocess.run(
        [str(python), script, "--iterations", str(iterations), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {row["system"]: statistics.median(row["seconds"]) for row in rows}


def ensure_venv() -> Path:
    """The peers' python, creating ``bench/.venvs/agents`` from PyPI if needed."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import pydantic_ai, langgraph.prebuilt"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing the peers into {VENV} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    return python


def main(argv: list[str] | None = None) -> None:
    """Measure, print the two tables and a JSON line with every number."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200, help="calls per journaled-call run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 run")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.calls, args.runs = 10, 20, 1
    loop = loop_table(args.iterations, args.runs, peers=not args.no_peers)
    calls = calls_table(args.calls, args.runs)
    print("\n" + json.dumps({"per_iteration_s": loop, "per_call_s": calls}))


def loop_table(n: int, runs: int, *, peers: bool) -> dict[str, float]:
    """Seconds per iteration of each system, printed as a markdown table."""
    per_iteration: dict[str, float] = {}
    for level in ("normal", "full"):
        seconds = median_of(runs, functools.partial(agent_loop, level, n))
        per_iteration[f"fluxio (SQLite {level})"] = seconds / n
    if peers:
        for system, seconds in peer_seconds(n, runs).items():
            per_iteration[system] = seconds / n
    print(f"\nagent loop, {n} iterations (1 model call + 1 tool call each), median of {runs}")
    print("| system | µs per iteration | vs fluxio (SQLite normal) | vs fluxio (SQLite full) |")
    print("|---|---:|---:|---:|")
    normal = per_iteration["fluxio (SQLite normal)"]
    full = per_iteration["fluxio (SQLite full)"]
    for system, value in per_iteration.items():
        print(f"| {system} | {value * 1e6:,.0f} | {value / normal:.1f}x | {value / full:.1f}x |")
    return per_iteration


def calls_table(calls: int, runs: int) -> dict[str, list[float]]:
    """Seconds per direct and per journaled call, printed as a markdown table."""
    print(f"\none journaled call vs a direct call, {calls} calls per run, median of {runs}")
    print("| call | direct µs | journaled µs (SQLite normal) | journaled µs (SQLite full) |")
    print("|---|---:|---:|---:|")
    table: dict[str, list[float]] = {}
    for kind in ("tool", "model"):
        row = [median_of(runs, functools.partial(direct_calls, kind, calls)) / calls]
        for level in ("normal", "full"):
            empty = median_of(runs, functools.partial(journaled_calls, level, kind, 0))
            busy = median_of(runs, functools.partial(journaled_calls, level, kind, calls))
            row.append((busy - empty) / calls)
        table[kind] = row
        print(f"| {kind} | {row[0] * 1e6:,.1f} | {row[1] * 1e6:,.0f} | {row[2] * 1e6:,.0f} |")
    return table


if __name__ == "__main__":
    main()
