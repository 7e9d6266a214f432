"""fluxio's workloads W1–W5 against its SQLite store, PostgreSQL, or the memory store.

Usage (the orchestrator ``bench/run.py`` builds these)::

    python bench/fluxio_bench.py W1 --durability normal --runs 5
    python bench/fluxio_bench.py W4 --durability full --n 10000 --runs 3
    python bench/fluxio_bench.py W1 --durability postgres --runs 5 [--pg-url URL]
    python bench/fluxio_bench.py W2 --durability postgres --workers 2 --runs 5

``--durability`` is ``normal`` or ``full`` (``SQLiteStore(path, durability=...)``),
``postgres`` (``PostgresStore``, a fresh schema per sample owned by the ordinary role of
``fluxio.testing.postgres.PostgresSandbox``, so row-level security is in force as in
production) or ``memory`` (``MemoryStore``: the engine's own cost with no storage).
W2 with ``--workers N`` measures N worker processes draining one PostgreSQL schema (see
``workers.py``).
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
import floors
import pg
from fluxio.engine import Engine, RunContext
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing.postgres import PostgresSandbox

SYSTEM = "fluxio"
# W5: a crashed run is taken over once its lease expires; a short lease keeps W5 quick and
# the wait for it is left out of the measured recovery time.
LEASE = 1.0
POOL_SIZE = 8  # PostgresStore's default: connections per process


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


class Fresh:
    """A fresh, empty store for one sample; closes (and drops its schema) on exit.

    Args:
        args: the command line (``durability`` picks the store, ``pg_url`` the server).
        path: the SQLite file, for the SQLite store.
    """

    def __init__(self, args: Any, path: Path) -> None:
        self.args, self.path = args, path
        self.sandbox = PostgresSandbox(pg.url(args.pg_url))
        self.schema = ""
        self.store: Any = None

    async def __aenter__(self) -> Any:
        durability = self.args.durability
        if durability == "memory":
            self.store = MemoryStore()
        elif durability == "postgres":
            from fluxio.store.postgres import PostgresStore

            self.schema = self.sandbox.new_schema()
            self.store = await PostgresStore.connect(
                self.sandbox.app_url, schema=self.schema, pool_size=POOL_SIZE
            )
        else:
            self.store = SQLiteStore(self.path, durability=durability)
        return self.store

    async def __aexit__(self, *exc: object) -> None:
        if self.store is not None:
            await self.store.close()
        if self.schema:
            self.sandbox.drop_schema(self.schema)


async def timed(args: Any, workdir: Path, body: Any) -> float:
    """Run ``body(engine)`` against a fresh store; seconds it took."""
    async with Fresh(args, workdir / f"{time.monotonic_ns()}.db") as store:
        engine = Engine(store, workflows=WORKFLOWS)
        began = time.perf_counter()
        await body(engine)
        return time.perf_counter() - began


async def w1(args: Any, workdir: Path) -> None:
    steps = common.sizes(args.quick)["w1_steps"]

    async def body(engine: Engine) -> None:
        assert await engine.run("sequential", steps) == steps

    samples, floor = [], []
    for _ in range(args.runs):
        samples.append(await timed(args, workdir, body))
        if args.durability == "postgres":  # the floor, interleaved: the disk's mood changes
            floor.append(await floors.postgres_sample(pg.url(args.pg_url), steps))
    us = [s / steps * 1e6 for s in samples]
    extra: dict[str, Any] = {}
    if floor:
        floor_us = [s / steps * 1e6 for s in floor]
        ratios = [a / b for a, b in zip(us, floor_us, strict=True)]
        extra = {"floor_samples": floor_us, "floor_ratios": ratios}
    common.emit("W1", SYSTEM, args.durability, "step_latency", "us/step", us, steps=steps, **extra)


async def w2(args: Any, workdir: Path) -> None:
    size = common.sizes(args.quick)
    runs, steps = size["w2_runs"], size["w2_steps"]

    async def body(engine: Engine) -> None:
        await asyncio.gather(*(engine.start("sequential", steps) for _ in range(runs)))
        await engine.drive(concurrency=runs)

    rates = [runs / await timed(args, workdir, body) for _ in range(args.runs)]
    common.emit(
        "W2", SYSTEM, args.durability, "throughput", "runs/s", rates, runs=runs, steps=steps
    )


async def w3(args: Any, workdir: Path) -> None:
    branches = common.sizes(args.quick)["w3_branches"]

    async def body(engine: Engine) -> None:
        assert await engine.run("fan_out", branches) == branches

    ms = [await timed(args, workdir, body) * 1000 for _ in range(args.runs)]
    common.emit("W3", SYSTEM, args.durability, "fan_out_join", "ms", ms, branches=branches)


async def w4_sample(args: Any, workdir: Path) -> None:
    """One W4 sample in this (fresh) process: prints ``rss_bytes resumes_per_s``."""
    async with Fresh(args, workdir / "w4.db") as store:
        print(*await w4_measure(args.n, Engine(store, workflows=WORKFLOWS)))


async def w4_measure(n: int, engine: Engine) -> tuple[int, float]:
    """RSS added by ``n`` suspended runs, and resumes per second when all are signalled."""
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
    return added, n / elapsed


def w4(args: Any, workdir: Path) -> None:
    rss, rates = [], []
    for i in range(args.runs):
        sample_dir = workdir / f"w4-{i}"
        sample_dir.mkdir()
        argv = [sys.executable, __file__, "W4", "--child", "sample", "--n", str(args.n)]
        argv += ["--durability", args.durability, "--workdir", str(sample_dir)]
        argv += ["--pg-url", args.pg_url] if args.pg_url else []
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
    if args.child == "worker":
        import workers

        asyncio.run(workers.child(args, WORKFLOWS))
        return
    if args.child == "sample":
        asyncio.run(w4_sample(args, Path(args.workdir)))
        return
    if args.child:
        asyncio.run(w5_child(args))
        return
    with tempfile.TemporaryDirectory(prefix="fluxio-bench-", dir=args.workdir or None) as tmp:
        workdir = Path(tmp)
        if args.workload == "W2" and args.workers:
            import workers

            workers.main(args, __file__)
        elif args.workload == "W4":
            w4(args, workdir)
        elif args.workload == "W5":
            w5(args, workdir)
        else:
            run = {"W1": w1, "W2": w2, "W3": w3}[args.workload]
            asyncio.run(run(args, workdir))


if __name__ == "__main__":
    main()
