"""DBOS's workloads W1–W5 with a SQLite or a PostgreSQL system database.

Runs in ``bench/.venvs/dbos`` (the ``dbos`` package). With ``--durability sqlite`` DBOS is
configured with ``system_database_url="sqlite:///<file>"``; with ``--durability postgres``
with the benchmark's PostgreSQL (``--pg-url``, see ``bench/pg.py``) and a fresh
``dbos_system_schema`` per sample, dropped afterwards. Every step's checkpoint is committed
before the workflow moves on (DBOS's only mode). Workflows and steps are async.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbos import DBOS

import common

SYSTEM = "dbos"
MODES = ("sqlite", "postgres")
W5_LOG: dict[str, Any] = {}
WAITING = [0]


@DBOS.step()
async def noop() -> None:
    return None


@DBOS.workflow()
async def sequential(steps: int) -> int:
    for _ in range(steps):
        await noop()
    return steps


@DBOS.workflow()
async def fan_out(branches: int) -> int:
    results = await asyncio.gather(*(noop() for _ in range(branches)))
    return len(results)


@DBOS.workflow()
async def suspended() -> Any:
    WAITING[0] += 1
    return await DBOS.recv_async("go", timeout_seconds=3600)


@DBOS.step()
async def numbered_step(number: int) -> int:
    W5_LOG["log"].step(number)
    await common.hang_at_kill_point(W5_LOG["marker"], number, W5_LOG["kill_after"], W5_LOG["child"])
    return number


@DBOS.workflow()
async def numbered(steps: int) -> int:
    for number in range(1, steps + 1):
        await numbered_step(number)
    return steps


class Database:
    """Where DBOS keeps its state: a SQLite file per sample, or a PostgreSQL schema per sample."""

    def __init__(self, args: Any) -> None:
        self.mode = args.durability or "sqlite"
        if self.mode not in MODES:
            raise SystemExit(f"--durability must be one of {', '.join(MODES)}")
        self.pg_url = args.pg_url
        self.schemas: list[str] = []

    def config(self, db: Path) -> dict[str, Any]:
        """DBOS's config for one sample (``db`` names the SQLite file)."""
        if self.mode == "sqlite":
            return {"system_database_url": f"sqlite:///{db}"}
        import pg

        self.schemas.append(pg.create(pg.url(self.pg_url)))
        return {"system_database_url": pg.url(self.pg_url), "dbos_system_schema": self.schemas[-1]}

    def cleanup(self) -> None:
        """Drop the samples' PostgreSQL schemas."""
        import pg

        while self.schemas:
            pg.drop(pg.url(self.pg_url), self.schemas.pop())


def launch(database: Database, db: Path) -> None:
    """A fresh DBOS instance on the sample's database."""
    DBOS.destroy()
    DBOS(config={"name": "bench", "log_level": "ERROR", **database.config(db)})
    DBOS.launch()
    logging.getLogger("dbos").setLevel(logging.ERROR)


async def timed(database: Database, path: Path, body: Any) -> float:
    launch(database, path)
    try:
        began = time.perf_counter()
        await body()
        return time.perf_counter() - began
    finally:
        DBOS.destroy()
        database.cleanup()


async def w1(args: Any, workdir: Path) -> None:
    database = Database(args)
    steps = common.sizes(args.quick)["w1_steps"]

    async def body() -> None:
        assert await sequential(steps) == steps

    samples = [await timed(database, workdir / f"w1-{i}.db", body) for i in range(args.runs)]
    us = [s / steps * 1e6 for s in samples]
    common.emit("W1", SYSTEM, args.durability, "step_latency", "us/step", us, steps=steps)


async def w2(args: Any, workdir: Path) -> None:
    database = Database(args)
    size = common.sizes(args.quick)
    runs, steps = size["w2_runs"], size["w2_steps"]

    async def body() -> None:
        handles = await asyncio.gather(
            *(DBOS.start_workflow_async(sequential, steps) for _ in range(runs))
        )
        results = await asyncio.gather(*(h.get_result() for h in handles))
        assert all(r == steps for r in results)

    rates = [runs / await timed(database, workdir / f"w2-{i}.db", body) for i in range(args.runs)]
    common.emit(
        "W2", SYSTEM, args.durability, "throughput", "runs/s", rates, runs=runs, steps=steps
    )


async def w3(args: Any, workdir: Path) -> None:
    database = Database(args)
    branches = common.sizes(args.quick)["w3_branches"]

    async def body() -> None:
        assert await fan_out(branches) == branches

    ms = [await timed(database, workdir / f"w3-{i}.db", body) * 1000 for i in range(args.runs)]
    common.emit("W3", SYSTEM, args.durability, "fan_out_join", "ms", ms, branches=branches)


async def w4_sample(args: Any, workdir: Path) -> None:
    database = Database(args)
    try:
        await w4_measure(args, database, workdir)
    finally:
        DBOS.destroy()
        database.cleanup()


async def w4_measure(args: Any, database: Database, workdir: Path) -> None:
    """Print the RSS added by ``args.n`` suspended workflows and the resume rate."""
    launch(database, workdir / "w4.db")
    warm = await DBOS.start_workflow_async(suspended)
    await DBOS.send_async(warm.get_workflow_id(), 0, "go")
    await warm.get_result()
    gc.collect()
    base = common.rss_bytes()
    handles = await asyncio.gather(*(DBOS.start_workflow_async(suspended) for _ in range(args.n)))
    while WAITING[0] < args.n + 1:  # every workflow has reached its recv
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    gc.collect()
    added = common.rss_bytes() - base
    began = time.perf_counter()
    await asyncio.gather(
        *(DBOS.send_async(h.get_workflow_id(), i, "go") for i, h in enumerate(handles))
    )
    results = await asyncio.gather(*(h.get_result() for h in handles))
    elapsed = time.perf_counter() - began
    assert results[-1] == args.n - 1, results[-1]
    print(added, args.n / elapsed)


def w4(args: Any, workdir: Path) -> None:
    rss, rates = [], []
    for i in range(args.runs):
        sample = workdir / f"w4-{i}"
        sample.mkdir()
        argv = [sys.executable, __file__, "W4", "--child", "sample", "--n", str(args.n)]
        argv += ["--workdir", str(sample), "--durability", args.durability]
        argv += ["--pg-url", args.pg_url] if args.pg_url else []
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
        rss.append(int(out[-2]) / 2**20)
        rates.append(float(out[-1]))
    common.emit("W4", SYSTEM, args.durability, "rss_added", "MB", rss, suspended=args.n)
    common.emit("W4", SYSTEM, args.durability, "resume_rate", "resumes/s", rates, suspended=args.n)


async def w5_child(args: Any) -> None:
    size = common.sizes(args.quick)
    W5_LOG.update(
        log=common.StepLog(args.log),
        marker=args.marker,
        kill_after=size["w5_kill_after"],
        child=args.child,
    )
    if args.child == "restart":
        common.mark_recover(args.log)
        launch(
            Database(args), Path(args.db)
        )  # launch() recovers the pending workflow of this executor
        result = await DBOS.retrieve_workflow_async("w5")
        assert await result.get_result() == size["w5_steps"]
    else:
        launch(Database(args), Path(args.db))
        from dbos import SetWorkflowID

        with SetWorkflowID("w5"):
            await numbered(size["w5_steps"])
    DBOS.destroy()


def w5(args: Any, workdir: Path) -> None:
    def command(phase: str, db: Path) -> list[str]:
        argv = [sys.executable, __file__, "W5", "--child", phase, "--db", str(db)]
        return argv + (["--quick"] if args.quick else [])

    common.run_kill_samples(SYSTEM, "sqlite", args, command, workdir)


def main() -> None:
    args = common.parse_args()
    if args.child == "sample":
        asyncio.run(w4_sample(args, Path(args.workdir)))
        return
    if args.child:
        asyncio.run(w5_child(args))
        return
    with tempfile.TemporaryDirectory(prefix="dbos-bench-", dir=args.workdir or None) as tmp:
        workdir = Path(tmp)
        if args.workload == "W4":
            w4(args, workdir)
        elif args.workload == "W5":
            w5(args, workdir)
        else:
            asyncio.run({"W1": w1, "W2": w2, "W3": w3}[args.workload](args, workdir))


if __name__ == "__main__":
    main()
