"""What governance adds to a step: a governed no-op step against an ungoverned one.

Usage::

    python bench/governance_step.py                  # 300 steps per sample, 7 samples
    python bench/governance_step.py --steps 100 --runs 3

A run of ``--steps`` no-op steps on a SQLite store is timed, at durability ``normal`` (the
harder case: a commit costs no fsync, so governance's own work shows), at the default
``full``, and on PostgreSQL (``$FLUXIO_TEST_POSTGRES_URL`` or 127.0.0.1/test; the audit log
beside the store; ``--no-postgres`` leaves it out), ungoverned and governed with 10
policies:

- ``ungoverned``: no interceptor;
- ``governed``: ``Governance`` with 10 or 100 active policies (two rules each, one in ten
  scoped to every action and the rest to one tool each, as in ``governance_policies.py``),
  autonomy settings, and the audit log on (a ``SQLiteAuditLog`` on the same file: each step's
  entry joins the step's commit);
- ``no audit``: the same with 10 policies and no audit log (what deciding costs);
- ``audit awaited``: 10 policies, audit entries appended through the log's own connection
  (what an audit log elsewhere costs).

Prints one JSON line per measurement (the format of ``bench/common.py``): median
microseconds per step over the samples, and the ratio to the ungoverned step at the same
durability (target: at most 2 with 10 policies and audit on).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import pg
from fluxio.engine import Engine, RunContext
from fluxio.governance import AutonomySettings, Governance, Policy, PolicyEngine, SQLiteAuditLog
from fluxio.governance.audit import verify
from fluxio.store.sqlite import Durability, SQLiteStore

SYSTEM = "fluxio-governance"
TOOLS = [f"tool_{i}" for i in range(50)]


def policies(count: int) -> list[Policy]:
    """``count`` active policies: one in ten applies to every action, the rest to one tool."""
    made = []
    for i in range(count):
        tools: Any = "*" if i % 10 == 0 else [TOOLS[i % len(TOOLS)]]
        made.append(
            Policy.model_validate(
                {
                    "id": f"p{i}",
                    "scope": {"applies_to": {"tools": tools}},
                    "rules": [
                        {
                            "id": "cap",
                            "type": "forbid",
                            "when": "action.side_effects && has(arguments.amount)",
                            "condition": f"arguments.amount > {1000 + i}.0",
                        },
                        {"id": "kind", "type": "require", "condition": 'action.kind != "model"'},
                    ],
                }
            )
        )
    return made


async def noop() -> None:
    """The step body: nothing, so the measurement is the step's own overhead."""


def workflow(steps: int) -> Any:
    async def run(ctx: RunContext, _: object) -> int:
        for _ in range(steps):
            await ctx.step(noop)
        return steps

    return run


async def sample(steps: int, mode: str, count: int, durability: str = "normal") -> float:
    """Microseconds per step of one run of ``steps`` steps (after a warm-up run)."""
    if durability == "postgres":
        return await pg_sample(steps, mode, count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fluxio.db"
        level: Durability = "full" if durability == "full" else "normal"
        store = SQLiteStore(path, durability=level)
        audit = SQLiteAuditLog(path, durability=level)
        interceptors: list[Any] = []
        audited = mode in ("governed", "audit awaited")
        if mode != "ungoverned":
            interceptors = [
                Governance(
                    policies=PolicyEngine(policies(count)),
                    autonomy=AutonomySettings(default=3),
                    audit=audit if audited else None,
                    store=store if mode == "governed" else None,
                )
            ]
        engine = Engine(store, workflows={"w": workflow(steps)}, interceptors=interceptors)
        await engine.run("w")
        started = time.perf_counter()
        await engine.run("w")
        elapsed = (time.perf_counter() - started) * 1e6 / steps
        if audited:
            entries = await audit.entries("default")
            assert len(entries) == 2 * steps + 4  # two runs: each started and completed
            assert verify("default", entries).ok
        await audit.close()
        await store.close()
        return elapsed


async def pg_sample(steps: int, mode: str, count: int) -> float:
    """``sample`` on PostgreSQL: the audit log beside the store (its pool, its commits)."""
    from fluxio.governance.audit.postgres import PostgresAuditLog
    from fluxio.store.postgres import PostgresStore

    admin = pg.url()
    schema = pg.create(admin)
    store = await PostgresStore.connect(admin, schema=schema)
    try:
        audit = PostgresAuditLog.beside(store) if mode == "governed" else None
        interceptors: list[Any] = []
        if mode != "ungoverned":
            interceptors = [
                Governance(
                    policies=PolicyEngine(policies(count)),
                    autonomy=AutonomySettings(default=3),
                    audit=audit,
                    store=store,
                )
            ]
        engine = Engine(store, workflows={"w": workflow(steps)}, interceptors=interceptors)
        await engine.run("w")
        started = time.perf_counter()
        await engine.run("w")
        elapsed = (time.perf_counter() - started) * 1e6 / steps
        if audit is not None:
            entries = await audit.entries("default")
            assert len(entries) == 2 * steps + 4
            assert verify("default", entries).ok
        return elapsed
    finally:
        await store.close()
        pg.drop(admin, schema)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300, help="steps per sample")
    parser.add_argument("--runs", type=int, default=7, help="samples per measurement")
    parser.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL cases")
    args = parser.parse_args(argv)
    cases: list[tuple[str, int, str]] = [
        ("ungoverned", 0, "normal"),
        ("governed", 10, "normal"),
        ("governed", 100, "normal"),
        ("no audit", 10, "normal"),
        ("audit awaited", 10, "normal"),
        ("ungoverned", 0, "full"),
        ("governed", 10, "full"),
    ]
    if not args.no_postgres:
        if (trouble := pg.problem(pg.url())) is not None:
            raise SystemExit(trouble)
        cases += [("ungoverned", 0, "postgres"), ("governed", 10, "postgres")]
    samples: dict[tuple[str, int, str], list[float]] = {case: [] for case in cases}
    for _ in range(args.runs):  # interleaved, so machine noise hits every case alike
        for case in cases:
            samples[case].append(asyncio.run(sample(args.steps, *case)))
    lines = []
    for (mode, count, durability), values in samples.items():
        base = statistics.median(samples[("ungoverned", 0, durability)])
        label = mode if mode == "ungoverned" else f"{mode}, {count} policies"
        line = common.emit(
            "governed_step", SYSTEM, durability, label, "us/step", values,
            policies=count, steps=args.steps, audit=mode in ("governed", "audit awaited"),
            ratio=round(statistics.median(values) / base, 3),
        )  # fmt: skip
        lines.append(line)
    return lines


if __name__ == "__main__":
    main()
