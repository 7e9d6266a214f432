"""A fluxio worker process for the recovery tests; runs until SIGTERM (or until killed).

Usage, on a SQLite file or on a PostgreSQL schema::

    python tests/recovery/worker_main.py DB_PATH LEDGER_PATH [options]
    python tests/recovery/worker_main.py --postgres URL --schema S LEDGER_PATH [options]

Options: ``[--lease 2] [--durability normal] [--concurrency 200] [--poll 0.05]
[--busy-timeout 30] [--gates DIR] [--pool-size 4] [--grace 10] [--queues a,b]``. It builds an
``Engine`` on the store with the workflows of ``recovery_flows`` and runs a ``Worker``.
Warnings (a lost lease, for one) go to stderr, which the tests read. On PostgreSQL the
connections are named ``fluxio-worker-<pid>`` (``application_name``) so tests can find them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

from recovery_flows import Flows

from fluxio import Engine, Worker
from fluxio.store.base import Store


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: database, ledger and worker settings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path, nargs="?", help="SQLite file (omit with --postgres)")
    parser.add_argument("ledger", type=Path)
    parser.add_argument("--postgres", metavar="URL", help="use PostgreSQL instead of SQLite")
    parser.add_argument("--schema", help="the PostgreSQL schema (with --postgres)")
    parser.add_argument("--pool-size", type=int, default=4, help="PostgreSQL connections")
    parser.add_argument("--gates", type=Path, default=None, help="default: the ledger's folder")
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds")
    parser.add_argument("--durability", choices=["full", "normal"], default="normal")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--poll", type=float, default=0.05, help="poll interval seconds")
    parser.add_argument("--busy-timeout", type=float, default=30.0, help="SQLite busy seconds")
    parser.add_argument("--grace", type=float, default=10.0, help="shutdown grace seconds")
    parser.add_argument("--queues", default="", help="comma-separated queues (default: all)")
    args = parser.parse_args(argv)
    if (args.db is None) == (args.postgres is None):
        parser.error("give either a SQLite DB_PATH or --postgres URL, not both or neither")
    return args


async def open_store(args: argparse.Namespace) -> Store:
    """The SQLite store of ``DB_PATH``, or the PostgreSQL store of ``--postgres``."""
    if args.postgres is None:
        from fluxio.store.sqlite import SQLiteStore

        return SQLiteStore(args.db, durability=args.durability, busy_timeout=args.busy_timeout)
    from fluxio.store.postgres import PostgresStore

    os.environ["PGAPPNAME"] = f"fluxio-worker-{os.getpid()}"
    return await PostgresStore.connect(args.postgres, schema=args.schema, pool_size=args.pool_size)


async def serve(args: argparse.Namespace) -> None:
    """Run a worker until SIGTERM; then let in-flight runs reach a commit and close the store."""
    store = await open_store(args)
    flows = Flows(args.ledger, args.gates or args.ledger.parent)
    queues = [q for q in args.queues.split(",") if q]
    engine = Engine(store, workflows=flows.registry(), lease_seconds=args.lease, queues=queues)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"worker {engine.worker_id} ready", file=sys.stderr, flush=True)
    worker = Worker(
        engine, concurrency=args.concurrency, poll_interval=args.poll, shutdown_grace=args.grace
    )
    try:
        await worker.run(stop=stop)
    finally:
        await store.close()
    print(f"worker stopped at {time.monotonic():.3f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(process)d %(name)s: %(message)s"
    )
    asyncio.run(serve(parse_args(sys.argv[1:])))
