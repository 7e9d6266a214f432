"""fluxio's workloads W1–W5 against its SQLite store (or the memory store, for reference).

Usage (the orchestrator ``bench/run.py`` builds these)::

    python bench/fluxio_bench.py W1 --durability normal --runs 5
    python bench/fluxio_bench.py W4 --durability full --n 10000 --runs 3

``--durability`` is ``normal`` or ``full`` (``SQLiteStore(path, durability=...)``) or
``memory`` (``MemoryStore``: the engine's own cost with no storage, for profiling).
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from fluxio.engine import Engine, RunContext
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore

SYSTEM = "fluxio"
# W5: a crashed run is taken over once its lease expires; a short lease keeps W5 quick and
# the wait for it is left out of the measured recovery time.
LEASE = 1.0


async def noop() -> None:
    """The body of every no-op step."""


async def sequential(ctx: RunContext, steps: int) -> int:
    """W1/W2: ``steps`` no-op steps one after the other."""
    for _ in range(steps):
        await ctx.step(noop)
    return steps


async def fan_out(ctx: RunContext, branches: int) -> int:
    """W3: ``branches`` parallel branches of one no-op step each, then join."""

    async def branch(sub: RunContext) -> None:
        await sub.step(noop)

    results = await ctx.parallel([branch] * branches)
    return len(results)


async def suspended(ctx: RunContext, _: Any) -> Any:
    """W4: wait for the ``go`` signal, then end."""
    return await ctx.wait_for("go")


WORKFLOWS = {"sequential": sequential, "fan_out": fan_out, "suspended": suspended}


def open_store(durability: str, path: Path) -> Any:
    """The store under test: SQLite at ``durability``, or memory."""
    if durability == "memory":
        return MemoryStore()
    return SQLiteStore(path, durability=durability)  # type: ignore[arg-type]


async def timed(durability: str, workdir: Path, body: Any) -> float:
    """Run ``body(engine)`` against a fresh store; seconds it took."""
    store = open_store(durability, workdir / f"{time.monotonic_ns()}.db")
    try:
        engine = Engine(store, workflows=WORKFLOWS)
        began = time.perf_counter()
        await body(engine)
        return time.perf_counter() - began
    finally:
        await store.close()


async def w1(args: Any, workdir: Path) -> None:
    steps = common.sizes(args.quick)["w1_steps"]

    async def body(engine: Engine) -> None:
        assert await engine.run("sequential", steps) == steps

    samples = [await timed(args.durability, workdir, body) for _ in range(args.runs)]
    us = [s / steps * 1e6 for s in samples]
    common.emit("W1", SYSTEM, args.durability, "step_latency", "us/step", us, steps=steps)


async def w2(args: Any, workdir: Path) -> None:
    size = common.sizes(args.quick)
    runs, steps = size["w2_runs"], size["w2_steps"]

    async def body(engine: Engine) -> None:
        await asyncio.gather(*(engine.start("sequential", steps) for _ in range(runs)))
        await engine.drive(concurrency=runs)

    rates = [runs / await timed(args.durability, workdir, body) for _ in range(args.runs)]
    common.emit(
        "W2", SYSTEM, args.durability, "throughput", "runs/s", rates, runs=runs, steps=steps
    )


async def w3(args: Any, workdir: Path) -> None:
    branches = common.sizes(args.quick)["w3_branches"]

    async def body(engine: Engine) -> None:
        assert await engine.run("fan_out", branches) == branches

    ms = [await timed(args.durability, workdir, body) * 1000 for _ in range(args.runs)]
    common.emit("W3", SYSTEM, args.durability, "fan_out_join", "ms", ms, branches=branches)


async def w4_sample(args: Any, workdir: Path) -> None:
    """One W4 sample in this (fresh) process: prints ``rss_bytes resumes_per_s``."""
    n = args.n
    store = open_store(args.durability, workdir / "w4.db")
    engine = Engine(store, workflows=WORKFLOWS)
    await engine.drive()  # warm the engine and store paths before the baseline
    gc.collect()
    base = common.rss_bytes()
    runs = await asyncio.gather(*(engine.start("suspended") for _ in range(n)))
    await engine.drive(concurrency=1000)
    gc.collect()
    added = common.rss_bytes() - base
    began = time.perf_counter()
    await asyncio.gather(*(engine.signal(r.run_id, "go", i) for i, r in enumerate(runs)))
    await engine.drive(concurrency=1000)
    elapsed = time.perf_counter() - began
    done = await engine.get(runs[-1].run_id)
    assert done.result == n - 1, done
    await store.close()
    print(added, n / elapsed)


def w4(args: Any, workdir: Path) -> None:
    rss, rates = [], []
    for i in range(args.runs):
        sample_dir = workdir / f"w4-{i}"
        sample_dir.mkdir()
        argv = [sys.executable, __file__, "W4", "--child", "sample", "--n", str(args.n)]
        argv += ["--durability", args.durability, "--workdir", str(sample_dir)]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
        rss.append(int(out[-2]) / 2**20)
        rates.append(float(out[-1]))
    common.emit("W4", SYSTEM, args.durability, "rss_added", "MB", rss, suspended=args.n)
    common.emit("W4", SYSTEM, args.durability, "resume_rate", "resumes/s", rates, suspended=args.n)


async def w5_child(args: Any) -> None:
    """One process of a W5 sample: ``first`` runs until killed, ``restart`` recovers."""
    size = common.sizes(args.quick)
    log = common.StepLog(args.log)

    async def numbered(ctx: RunContext, steps: int) -> int:
        for number in range(1, steps + 1):
            await ctx.step(body, number, name=f"step{number}")
        return steps

    async def body(number: int) -> None:
        log.step(number)
        await common.hang_at_kill_point(args.marker, number, size["w5_kill_after"], args.child)

    if args.child == "restart":
        common.mark_recover(args.log)
    store = SQLiteStore(args.db, durability=args.durability)
    engine = Engine(store, workflows={"numbered": numbered}, lease_seconds=LEASE)
    if args.child == "first":
        await engine.start("numbered", size["w5_steps"], run_id="w5")
    await engine.result("w5")
    await store.close()


def wait_for_lease(db: Path) -> None:
    """Before the restart: wait out the dead worker's lease (reported apart from recovery)."""
    time.sleep(LEASE + 0.05)


def w5(args: Any, workdir: Path) -> None:
    def command(phase: str, db: Path) -> list[str]:
        argv = [sys.executable, __file__, "W5", "--child", phase, "--db", str(db)]
        return [*argv, "--durability", args.durability, *(["--quick"] if args.quick else [])]

    common.run_kill_samples(SYSTEM, args.durability, args, command, workdir, wait_for_lease)


def main() -> None:
    args = common.parse_args()
    if args.child == "sample":
        asyncio.run(w4_sample(args, Path(args.workdir)))
        return
    if args.child:
        asyncio.run(w5_child(args))
        return
    with tempfile.TemporaryDirectory(prefix="fluxio-bench-", dir=args.workdir or None) as tmp:
        workdir = Path(tmp)
        if args.workload == "W4":
            w4(args, workdir)
        elif args.workload == "W5":
            w5(args, workdir)
        else:
            run = {"W1": w1, "W2": w2, "W3": w3}[args.workload]
            asyncio.run(run(args, workdir))


if __name__ == "__main__":
    main()
