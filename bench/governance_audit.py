"""What an audit append costs: median microseconds per append, memory and SQLite.

Usage::

    python bench/governance_audit.py                 # 2000 appends per sample, 5 samples
    python bench/governance_audit.py --appends 200 --runs 3

Prints one JSON line per measurement (the format of ``bench/common.py``): sequential appends
on the memory log (with and without a signed checkpoint every 100 entries), on SQLite with
``durability`` normal and full, 50 concurrent appenders on SQLite (group commit), and offline
verification per entry.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from fluxio.governance.audit import (
    Actor,
    AuditEvent,
    AuditLog,
    MemoryAuditLog,
    SQLiteAuditLog,
    digest,
    export_bundle,
    generate_signing_key,
    verify_bundle,
)

SYSTEM = "fluxio-audit"
KEY = generate_signing_key()


def event(i: int) -> AuditEvent:
    """A realistic tool-call entry: digests, a duration, policies and a small payload."""
    return AuditEvent(
        "bench", Actor("agent:triage", "agent"), "tool.called", target="tool:send_email",
        run_id="01hzzzzzzzzzzzzzzzzzzzzzzz", step_key=str(i), inputs_digest=digest({"i": i}),
        outputs_digest=digest({"ok": True}), duration_ms=12.5, policies_evaluated=("p1", "p2"),
        payload={"to": "[email]", "subject": "Your refund", "n": i},
    )  # fmt: skip


async def sequential(log: AuditLog, n: int) -> float:
    """Microseconds per append, one after the other."""
    started = time.perf_counter()
    for i in range(n):
        await log.append(event(i))
    return (time.perf_counter() - started) * 1e6 / n


async def concurrent(log: AuditLog, n: int, tasks: int = 50) -> float:
    """Microseconds per append with ``tasks`` appenders at once (amortized)."""
    started = time.perf_counter()
    for start in range(0, n, tasks):
        await asyncio.gather(*(log.append(event(i)) for i in range(start, start + tasks)))
    return (time.perf_counter() - started) * 1e6 / n


async def verify_cost(n: int) -> float:
    """Microseconds per entry to verify an exported chain offline (with checkpoints)."""
    log = MemoryAuditLog(signing_key=KEY, checkpoint_every=100)
    for i in range(n):
        await log.append(event(i))
    bundle = await export_bundle(log, "bench")
    started = time.perf_counter()
    assert verify_bundle(bundle, KEY.public_key()).ok
    return (time.perf_counter() - started) * 1e6 / n


async def sample(
    make: Callable[[], AuditLog], measure: Callable[..., Awaitable[float]], n: int
) -> float:
    log = make()
    try:
        return await measure(log, n)
    finally:
        await log.close()


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=2000, help="appends per sample")
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement")
    args = parser.parse_args(argv)
    n = max(50, args.appends - args.appends % 50)
    workdir = Path(tempfile.mkdtemp(prefix="fluxio-audit-bench-"))
    counter = iter(range(1_000_000))

    def sqlite(durability: str) -> Callable[[], AuditLog]:
        return lambda: SQLiteAuditLog(workdir / f"{next(counter)}.db", durability=durability)  # type: ignore[arg-type]

    cases: list[tuple[str, str, Callable[[], AuditLog], Callable[..., Awaitable[float]]]] = [
        ("memory", "memory", MemoryAuditLog, sequential),
        ("memory+checkpoint/100", "memory",
         lambda: MemoryAuditLog(signing_key=KEY, checkpoint_every=100), sequential),
        ("sqlite", "normal", sqlite("normal"), sequential),
        ("sqlite", "full", sqlite("full"), sequential),
        ("sqlite 50 concurrent", "normal", sqlite("normal"), concurrent),
    ]  # fmt: skip
    lines = []
    for backend, durability, make, measure in cases:
        samples = [asyncio.run(sample(make, measure, n)) for _ in range(args.runs)]
        lines.append(
            common.emit(
                "audit_append", SYSTEM, durability, backend, "us/append", samples, appends=n
            )
        )
    samples = [asyncio.run(verify_cost(n)) for _ in range(args.runs)]
    lines.append(
        common.emit("audit_verify", SYSTEM, "memory", "offline", "us/entry", samples, entries=n)
    )
    return lines


if __name__ == "__main__":
    main()
