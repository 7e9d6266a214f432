"""A fluxio worker process for the recovery tests; runs until SIGTERM (or until killed).

Usage: ``python tests/recovery/worker_main.py DB_PATH LEDGER_PATH [--lease 2] [--durability
normal] [--concurrency 200] [--poll 0.05] [--busy-timeout 30] [--gates DIR]``. It builds an
``Engine`` on a ``SQLiteStore`` with the workflows of ``recovery_flows`` and runs a ``Worker``.
Warnings (a lost lease, for one) go to stderr, which the tests read.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from recovery_flows import Flows

from fluxio import Engine, Worker
from fluxio.store.sqlite import SQLiteStore


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: database, ledger and worker settings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("ledger", type=Path)
    parser.add_argument("--gates", type=Path, default=None, help="default: the ledger's folder")
    parser.add_argument("--lease", type=float, default=2.0, help="lease seconds")
    parser.add_argument("--durability", choices=["full", "normal"], default="normal")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--poll", type=float, default=0.05, help="poll interval seconds")
    parser.add_argument("--busy-timeout", type=float, default=30.0, help="SQLite busy seconds")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run a worker until SIGTERM; then let in-flight runs reach a commit and close the store."""
    store = SQLiteStore(args.db, durability=args.durability, busy_timeout=args.busy_timeout)
    flows = Flows(args.ledger, args.gates or args.ledger.parent)
    engine = Engine(store, workflows=flows.registry(), lease_seconds=args.lease)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"worker {engine.worker_id} ready", file=sys.stderr, flush=True)
    try:
        await Worker(engine, concurrency=args.concurrency, poll_interval=args.poll).run(stop=stop)
    finally:
        await store.close()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(process)d %(name)s: %(message)s"
    )
    asyncio.run(serve(parse_args(sys.argv[1:])))
