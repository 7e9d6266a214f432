"""W2 across worker processes: N queued runs drained by k ``python`` workers on PostgreSQL.

One sample: a fresh schema gets N runs of 5 no-op steps (queued, nobody running them); k
worker processes start, connect, say ``ready`` and wait; on ``go`` each runs a fluxio
``Worker`` (the loop of ``fluxio worker``) until nothing is left to claim. Throughput is N
divided by the time from the first worker's first claim to the last run's completion (the
largest ``updated_at`` of the completed runs; every process reads the same wall clock).

While a sample runs, the parent watches what the machine and the database are doing: the CPU
used by PostgreSQL's processes (all of them, so other clients of the server count too), by
the workers, and by the whole machine, and what the benchmark's backends are waiting on
(``pg_stat_activity`` sampled every 20 ms). These go into the result line's params, to say
where throughput stops growing and why.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import common
import pg
from fluxio.engine import Engine, Worker
from fluxio.testing.postgres import PostgresSandbox

CONCURRENCY = 200  # runs in flight per worker process (fluxio worker --concurrency)
POOL_SIZE = 8  # connections per worker process (PostgresStore's default)
APP_NAME = "fluxio_bench_w2"
TIMEOUT = 600.0


def main(args: Any, script: str) -> None:
    """Take ``args.runs`` samples with ``args.workers`` processes and print the result line."""
    size = common.sizes(args.quick)
    runs, steps = size["w2_queued_runs"], size["w2_steps"]
    samples = [sample(args, script, runs, steps) for _ in range(args.runs)]
    rates = [s["rate"] for s in samples]
    common.emit(
        "W2",
        "fluxio",
        "postgres",
        "workers_throughput",
        "runs/s",
        rates,
        runs=runs,
        steps=steps,
        workers=args.workers,
        concurrency=CONCURRENCY,
        **{key: [s[key] for s in samples] for key in samples[0] if key != "rate"},
    )


def sample(args: Any, script: str, runs: int, steps: int) -> dict[str, Any]:
    """One sample: enqueue, start the workers, release them together, measure."""
    sandbox = PostgresSandbox(pg.url(args.pg_url))
    schema = sandbox.new_schema()
    url = f"{sandbox.app_url}?application_name={APP_NAME}"
    procs: list[subprocess.Popen[str]] = []
    try:
        asyncio.run(enqueue(url, schema, runs, steps))
        argv = [sys.executable, script, "W2", "--child", "worker", "--db", schema]
        argv += ["--durability", "postgres", "--pg-url", url]
        procs = [spawn(argv) for _ in range(args.workers)]
        for proc in procs:
            expect(proc, "ready")
        watch = Watch(pg.url(args.pg_url))
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.close()
        reports = [finish(proc) for proc in procs]
        stats = watch.stop()
        began = min(r[0] for r in reports)
        done, ended = asyncio.run(completed(url, schema))
        if done != runs:
            raise RuntimeError(f"only {done} of {runs} runs completed")
        wall = ended - began
        return {
            "rate": runs / wall,
            "worker_cpu": round(sum(r[1] for r in reports) / wall, 2),
            **stats,
        }
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        sandbox.drop_schema(schema)


def spawn(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )


def expect(proc: subprocess.Popen[str], word: str) -> str:
    """The worker's next stdout line, which must start with ``word``."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(word):
        proc.kill()
        raise RuntimeError(f"worker {proc.pid} said {line!r} instead of {word!r}")
    return line


def finish(proc: subprocess.Popen[str]) -> tuple[float, float]:
    """Wait for a worker; its (first claim time, CPU seconds)."""
    line = expect(proc, "done")
    if proc.wait(timeout=TIMEOUT) != 0:
        raise RuntimeError(f"worker {proc.pid} exited with {proc.returncode}")
    _, began, cpu, _executed = line.split()
    return float(began), float(cpu)


async def enqueue(url: str, schema: str, runs: int, steps: int) -> None:
    """Create the schema's tables and ``runs`` queued runs of the sequential workflow."""
    from fluxio.store.postgres import PostgresStore

    store = await PostgresStore.connect(url, schema=schema, pool_size=POOL_SIZE)
    try:
        engine = Engine(store, workflows={"sequential": _never})
        for first in range(0, runs, 500):
            batch = range(first, min(first + 500, runs))
            await asyncio.gather(*(engine.start("sequential", steps) for _ in batch))
    finally:
        await store.close()


async def _never(ctx: Any, steps: int) -> None:
    raise AssertionError("the parent only enqueues")


async def completed(url: str, schema: str) -> tuple[int, float]:
    """How many runs completed, and when the last one did."""
    import psycopg

    conn = await psycopg.AsyncConnection.connect(url, options=f"-c search_path={schema}")
    async with conn:
        await conn.execute("SELECT set_config('fluxio.tenant', '*', false)")
        cur = await conn.execute(
            "SELECT count(*), max(updated_at) FROM runs WHERE status = 'completed'"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), float(row[1] or 0.0)


async def child(args: Any, workflows: dict[str, Any]) -> None:
    """A worker process: connect, report ready, wait for go, drain the queue, report."""
    from fluxio.store.postgres import PostgresStore

    store = await PostgresStore.connect(args.pg_url, schema=args.db, pool_size=POOL_SIZE)
    try:
        engine = Engine(store, workflows=workflows)
        worker = Worker(engine, concurrency=CONCURRENCY, poll_interval=0.05)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        began, cpu = time.time(), time.process_time()
        await worker.run(until_idle=True)
        print("done", began, time.process_time() - cpu, worker.executed, flush=True)
    finally:
        await store.close()


class Watch:
    """CPU of PostgreSQL and of the machine, and what the benchmark's backends wait on.

    Backends exit with their workers, taking their CPU counters with them, so PostgreSQL's
    processes are read every 100 ms and each one's use is counted up to when it was last seen.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.waits: Counter[str] = Counter()
        self.polls = 0
        self._stop = threading.Event()
        self._first = postgres_ticks()
        self._last = dict(self._first)
        self._cpu0, self._t0 = machine_ticks(), time.monotonic()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (APP_NAME,),
                ).fetchall()
                self.polls += 1
                for state, kind, event in rows:
                    if state == "active":
                        self.waits[f"{kind}:{event}" if kind else "CPU"] += 1
                    else:
                        self.waits[state or "unknown"] += 1
                if self.polls % 5 == 0:
                    self._last.update(postgres_ticks())

    def stop(self) -> dict[str, Any]:
        """Stop watching; the averages over the watched time."""
        self._stop.set()
        self._thread.join()
        self._last.update(postgres_ticks())
        wall = time.monotonic() - self._t0
        used = sum(t - self._first.get(pid, 0) for pid, t in self._last.items())
        busy, total = (a - b for a, b in zip(machine_ticks(), self._cpu0, strict=True))
        polls = max(self.polls, 1)
        return {
            "postgres_cpu": round(used / os.sysconf("SC_CLK_TCK") / wall, 2),
            "machine_busy": round(busy / total, 2) if total else 0.0,
            "backends": {k: round(v / polls, 2) for k, v in self.waits.most_common(6)},
        }


def postgres_ticks() -> dict[int, int]:
    """CPU ticks (user + system) used so far by each ``postgres`` process of the machine."""
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, _, rest = stat.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            ticks[int(pid)] = int(fields[11]) + int(fields[12])
    return ticks


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)
