"""The floors W1 is measured against, in the same run as everything else.

- ``asyncio``: one no-op ``await`` per step: the least any async step can cost.
- ``sqlite``: one raw ``INSERT`` + ``COMMIT`` per step with stdlib sqlite3 in WAL mode, at
  ``synchronous=NORMAL`` and ``FULL``: the least a durable step can cost at that level.
- ``postgres``: one raw ``INSERT`` of a journal-sized row per step on an autocommit psycopg 3
  async connection (the driver fluxio uses): one round trip and one WAL flush, the least a
  durable step can cost on that server (``synchronous_commit`` as the server has it).

Usage::

    python bench/floors.py asyncio --runs 5
    python bench/floors.py sqlite --durability normal --runs 5
    python bench/floors.py postgres --runs 5 [--pg-url postgresql://...]
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

STEPS_PER_SAMPLE = 200


async def noop() -> None:
    """A coroutine that does nothing."""


async def asyncio_sample(steps: int) -> float:
    """Seconds for ``steps`` no-op awaits."""
    began = time.perf_counter()
    for _ in range(steps):
        await noop()
    return time.perf_counter() - began


def sqlite_sample(path: Path, synchronous: str, steps: int) -> float:
    """Seconds for ``steps`` INSERT+COMMIT transactions of a journal-sized row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(
        "CREATE TABLE journal (run_id TEXT, seq INTEGER, step_key TEXT, value TEXT, "
        "PRIMARY KEY (run_id, seq))"
    )
    began = time.perf_counter()
    for seq in range(steps):
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO journal VALUES (?, ?, ?, ?)", ("run-1", seq, str(seq + 1), "null")
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


JOURNAL_TABLE = (
    "CREATE TABLE journal (run_id TEXT, seq INTEGER, step_key TEXT, value JSONB, "
    "PRIMARY KEY (run_id, seq))"
)


async def postgres_sample(admin_url: str, steps: int) -> float:
    """Seconds for ``steps`` single-row INSERTs, each its own committed transaction."""
    import psycopg

    import pg

    with pg.fresh_schema(admin_url) as schema:
        conn = await psycopg.AsyncConnection.connect(
            admin_url, autocommit=True, options=f"-c search_path={schema}"
        )
        async with conn:
            await conn.execute(JOURNAL_TABLE)
            insert = "INSERT INTO journal VALUES (%s, %s, %s, %s)"
            began = time.perf_counter()
            for seq in range(steps):
                await conn.execute(insert, ("run-1", seq, str(seq + 1), "null"))
            return time.perf_counter() - began


def main() -> None:
    args = common.parse_args()
    steps = common.sizes(args.quick)["w1_steps"]
    if args.workload == "postgres":
        import pg

        url = pg.url(args.pg_url)
        samples = [asyncio.run(postgres_sample(url, steps)) for _ in range(args.runs)]
        us = [s / steps * 1e6 for s in samples]
        common.emit("W1", "floor:postgres", "postgres", "step_latency", "us/step", us, steps=steps)
        return
    if args.workload == "asyncio":
        samples = [asyncio.run(asyncio_sample(steps)) for _ in range(args.runs)]
        us = [s / steps * 1e6 for s in samples]
        common.emit("W1", "floor:asyncio", "none", "step_latency", "us/step", us, steps=steps)
        return
    level = args.durability.upper()
    with tempfile.TemporaryDirectory(prefix="fluxio-floor-", dir=args.workdir or None) as tmp:
        samples = [
            sqlite_sample(Path(tmp) / f"floor-{i}.db", level, steps) for i in range(args.runs)
        ]
    us = [s / steps * 1e6 for s in samples]
    common.emit("W1", "floor:sqlite", args.durability, "step_latency", "us/step", us, steps=steps)


if __name__ == "__main__":
    main()
