"""LangGraph's workloads W1–W5 with its SQLite checkpointer (``AsyncSqliteSaver``).

Runs in ``bench/.venvs/langgraph`` (langgraph + langgraph-checkpoint-sqlite). A "step" is a
graph node; every node is async. ``--durability`` is LangGraph's own ``durability`` argument:

- ``sync``: the checkpoint is written before the next step starts (its durable mode; used
  for W1–W4).
- ``async`` (LangGraph's default): written while the next step runs.
- ``exit``: written only when the graph exits.
"""

from __future__ import annotations

import asyncio
import gc
import operator
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

import common

SYSTEM = "langgraph"


class State(TypedDict, total=False):
    n: int
    done: Annotated[list[int], operator.add]


async def noop(state: State) -> dict[str, Any]:
    return {"n": state.get("n", 0) + 1}


def chain(steps: int, node: Any = noop) -> StateGraph:
    """``steps`` nodes one after the other."""
    graph = StateGraph(State)
    previous = START
    for i in range(1, steps + 1):
        graph.add_node(f"s{i}", node(i) if node is not noop else noop)
        graph.add_edge(previous, f"s{i}")
        previous = f"s{i}"
    graph.add_edge(previous, END)
    return graph


def fan_out(branches: int) -> StateGraph:
    """One ``Send`` per branch to a no-op node, joined by a reducer."""

    async def work(arg: dict[str, int]) -> dict[str, Any]:
        return {"done": [arg["i"]]}

    async def join(state: State) -> dict[str, Any]:
        return {"n": len(state["done"])}

    graph = StateGraph(State)
    graph.add_node("work", work)
    graph.add_node("join", join)
    graph.add_conditional_edges(START, lambda _: [Send("work", {"i": i}) for i in range(branches)])
    graph.add_edge("work", "join")
    graph.add_edge("join", END)
    return graph


def config(thread: str, steps: int) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, "recursion_limit": steps + 10}


async def timed(graph: StateGraph, path: Path, body: Any) -> float:
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        app = graph.compile(checkpointer=saver)
        began = time.perf_counter()
        await body(app)
        return time.perf_counter() - began


async def w1(args: Any, workdir: Path) -> None:
    steps = common.sizes(args.quick)["w1_steps"]

    async def body(app: Any) -> None:
        out = await app.ainvoke({"n": 0}, config("t", steps), durability=args.durability)
        assert out["n"] == steps

    samples = [await timed(chain(steps), workdir / f"w1-{i}.db", body) for i in range(args.runs)]
    us = [s / steps * 1e6 for s in samples]
    common.emit("W1", SYSTEM, args.durability, "step_latency", "us/step", us, steps=steps)


async def w2(args: Any, workdir: Path) -> None:
    size = common.sizes(args.quick)
    runs, steps = size["w2_runs"], size["w2_steps"]

    async def body(app: Any) -> None:
        cfgs = [config(f"t{i}", steps) for i in range(runs)]
        outs = await asyncio.gather(
            *(app.ainvoke({"n": 0}, c, durability=args.durability) for c in cfgs)
        )
        assert all(o["n"] == steps for o in outs)

    graph = chain(steps)
    rates = [runs / await timed(graph, workdir / f"w2-{i}.db", body) for i in range(args.runs)]
    common.emit(
        "W2", SYSTEM, args.durability, "throughput", "runs/s", rates, runs=runs, steps=steps
    )


async def w3(args: Any, workdir: Path) -> None:
    branches = common.sizes(args.quick)["w3_branches"]

    async def body(app: Any) -> None:
        out = await app.ainvoke({"n": 0}, config("t", 10), durability=args.durability)
        assert out["n"] == branches

    graph = fan_out(branches)
    ms = [await timed(graph, workdir / f"w3-{i}.db", body) * 1000 for i in range(args.runs)]
    common.emit("W3", SYSTEM, args.durability, "fan_out_join", "ms", ms, branches=branches)


async def suspended(state: State) -> dict[str, Any]:
    return {"n": interrupt("go")}


async def w4_sample(args: Any, workdir: Path) -> None:
    graph = StateGraph(State)
    graph.add_node("wait", suspended)
    graph.add_edge(START, "wait")
    graph.add_edge("wait", END)
    async with AsyncSqliteSaver.from_conn_string(str(workdir / "w4.db")) as saver:
        app = graph.compile(checkpointer=saver)
        await app.ainvoke({"n": 0}, config("warm", 5), durability=args.durability)
        gc.collect()
        base = common.rss_bytes()
        cfgs = [config(f"t{i}", 5) for i in range(args.n)]
        await asyncio.gather(*(app.ainvoke({"n": 0}, c, durability=args.durability) for c in cfgs))
        gc.collect()
        added = common.rss_bytes() - base
        began = time.perf_counter()
        outs = await asyncio.gather(
            *(
                app.ainvoke(Command(resume=i), c, durability=args.durability)
                for i, c in enumerate(cfgs)
            )
        )
        elapsed = time.perf_counter() - began
        assert outs[-1]["n"] == args.n - 1, outs[-1]
    print(added, args.n / elapsed)


def w4(args: Any, workdir: Path) -> None:
    rss, rates = [], []
    for i in range(args.runs):
        sample = workdir / f"w4-{i}"
        sample.mkdir()
        argv = [sys.executable, __file__, "W4", "--child", "sample", "--n", str(args.n)]
        argv += ["--durability", args.durability, "--workdir", str(sample)]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
        rss.append(int(out[-2]) / 2**20)
        rates.append(float(out[-1]))
    common.emit("W4", SYSTEM, args.durability, "rss_added", "MB", rss, suspended=args.n)
    common.emit("W4", SYSTEM, args.durability, "resume_rate", "resumes/s", rates, suspended=args.n)


async def w5_child(args: Any) -> None:
    size = common.sizes(args.quick)
    steps = size["w5_steps"]
    log = common.StepLog(args.log)

    def numbered(number: int) -> Any:
        async def body(state: State) -> dict[str, Any]:
            log.step(number)
            await common.hang_at_kill_point(args.marker, number, size["w5_kill_after"], args.child)
            return {"n": number}

        return body

    if args.child == "restart":
        common.mark_recover(args.log)
    async with AsyncSqliteSaver.from_conn_string(args.db) as saver:
        app = chain(steps, numbered).compile(checkpointer=saver)
        cfg = config("w5", steps)
        snapshot = await app.aget_state(cfg) if args.child == "restart" else None
        # Resume from the last checkpoint if there is one; otherwise start over from the input.
        start = None if snapshot is not None and snapshot.next else {"n": 0}
        out = await app.ainvoke(start, cfg, durability=args.durability)
        assert out["n"] == steps, out


def w5(args: Any, workdir: Path) -> None:
    def command(phase: str, db: Path) -> list[str]:
        argv = [sys.executable, __file__, "W5", "--child", phase, "--db", str(db)]
        return [*argv, "--durability", args.durability, *(["--quick"] if args.quick else [])]

    common.run_kill_samples(SYSTEM, args.durability, args, command, workdir)


def main() -> None:
    args = common.parse_args()
    args.durability = args.durability or "sync"
    if args.child == "sample":
        asyncio.run(w4_sample(args, Path(args.workdir)))
        return
    if args.child:
        asyncio.run(w5_child(args))
        return
    with tempfile.TemporaryDirectory(prefix="langgraph-bench-", dir=args.workdir or None) as tmp:
        workdir = Path(tmp)
        if args.workload == "W4":
            w4(args, workdir)
        elif args.workload == "W5":
            w5(args, workdir)
        else:
            asyncio.run({"W1": w1, "W2": w2, "W3": w3}[args.workload](args, workdir))


if __name__ == "__main__":
    main()
