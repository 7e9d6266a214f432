"""The PostgreSQL part of ``docs/benchmarks.md``: targets (issue 5), workload tables, workers.

Rows whose durability is ``postgres`` land here: the raw commit floor, fluxio's
``PostgresStore``, DBOS on the same server, and W2 across worker processes.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from report import PG_LEVELS, Row, _find, _fmt, table

TITLES = {
    ("W1", "step_latency"): "W1 on PostgreSQL: one run of 200 sequential no-op steps "
    "(µs per step, lower is better)",
    ("W2", "throughput"): "W2 on PostgreSQL: 500 runs of 5 steps, concurrently, in one process "
    "(runs/s, higher is better)",
    ("W3", "fan_out_join"): "W3 on PostgreSQL: one run fanning out to 500 branches and joining "
    "(ms, lower is better)",
    ("W4", "rss_added"): "W4 on PostgreSQL: RSS added by N runs suspended on a signal "
    "(MB, lower is better)",
    ("W4", "resume_rate"): "W4 on PostgreSQL: resuming all N suspended runs "
    "(resumes/s, higher is better)",
}
NOTES = {
    ("W1", "step_latency"): "The floor is one autocommit `INSERT` per step (one round trip, one "
    "WAL flush). Commit latency on this machine's disk swings several-fold within minutes, so "
    "fluxio's W1 job also measures the floor between its own samples; the target uses those "
    "interleaved pairs.",
}


def _workers(rows: list[Row]) -> dict[int, Row]:
    picked = [r for r in rows if r["metric"] == "workers_throughput"]
    return {int(r["params"]["workers"]): r for r in picked}


def floor_ratio(rows: list[Row]) -> tuple[float, float] | None:
    """fluxio W1 ÷ the raw commit floor, and the floor (µs): interleaved pairs if measured."""
    fx = _find(rows, "W1", "step_latency", "fluxio", "postgres")
    if fx is None:
        return None
    paired = fx["params"].get("floor_ratios")
    if paired:
        return statistics.median(paired), statistics.median(fx["params"]["floor_samples"])
    fl = _find(rows, "W1", "step_latency", "floor:postgres", "postgres")
    return (fx["median"] / fl["median"], fl["median"]) if fl else None


def targets(rows: list[Row]) -> list[str]:
    """Issue 5's targets for fluxio on PostgreSQL, measured in this run."""
    lines = ["**Targets on PostgreSQL (issue 5)**", "", "| target | measured | met |"]
    lines.append("|---|---|---|")
    fx = _find(rows, "W1", "step_latency", "fluxio", "postgres")
    ratio = floor_ratio(rows)
    if fx and ratio:
        shown = f"{_fmt(fx['median'])} µs/step = {ratio[0]:.1f}× floor"
        lines.append(
            f"| W1: ≤ 2× raw commit floor ({_fmt(ratio[1])} µs) | {shown} | {_met(ratio[0] <= 2)} |"
        )
    dbos = _find(rows, "W1", "step_latency", "dbos", "postgres")
    if fx and dbos:
        factor = dbos["median"] / fx["median"]
        shown = f"DBOS {_fmt(dbos['median'])} µs/step = {factor:.1f}× fluxio"
        lines.append(f"| W1: ≥ 2× faster than DBOS | {shown} | {_met(factor >= 2)} |")
    by_workers = _workers(rows)
    two = by_workers.get(2)
    if two:
        shown = f"{_fmt(two['median'])} runs/s"
        lines.append(
            f"| W2, 2 worker processes: ≥ 1,000 runs/s | {shown} | {_met(two['median'] >= 1000)} |"
        )
    if 1 in by_workers and two:
        shown = ", ".join(f"{k}: {_fmt(r['median'])}" for k, r in sorted(by_workers.items()))
        grows = two["median"] > by_workers[1]["median"]
        lines.append(
            f"| W2 grows with workers until the database saturates | {shown} runs/s "
            f"| {_met(grows)} |"
        )
    return [*lines, ""]


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def workers_table(rows: list[Row]) -> list[str]:
    """W2 across 1, 2, 4 worker processes, with where the CPU went."""
    by_workers = _workers(rows)
    if not by_workers:
        return []
    first = next(iter(by_workers.values()))["params"]
    lines = [
        f"**W2 on PostgreSQL across worker processes: {first['runs']:,} queued runs of "
        f"{first['steps']} steps, first claim to last completion (runs/s, higher is better)**",
        "",
        "| workers | median | min–max | runs | vs 1 worker | PostgreSQL CPU | workers CPU "
        "| CPU per run | machine busy | benchmark backends (average number by state) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    one = by_workers.get(1)
    for k, r in sorted(by_workers.items()):
        p = r["params"]
        scale = f"{r['median'] / one['median']:.2f}×" if one else ""
        lines.append(
            f"| {k} | {_fmt(r['median'])} runs/s | {_fmt(min(r['samples']))}–"
            f"{_fmt(max(r['samples']))} | {r['runs']} | {scale} | {_cores(p, 'postgres_cpu')} "
            f"| {_cores(p, 'worker_cpu')} | {_per_run(r)} | {_pct(p)} "
            f"| {_states(p.get('backends', []))} |"
        )
    lines += [
        "",
        f"Each worker process runs `Worker(concurrency={first['concurrency']})` on its own "
        "`PostgresStore` (pool of 8). CPU columns are cores in use on average over the sample "
        "(medians over samples); PostgreSQL CPU counts every `postgres` process of the server, "
        "so other clients' work counts too; CPU per run is both together divided by the "
        "throughput; machine busy is the whole 2-core machine.",
        "",
    ]
    return lines


def _cores(params: dict[str, Any], key: str) -> str:
    values = params.get(key)
    return f"{statistics.median(values):.2f}" if values else ""


def _per_run(row: Row) -> str:
    """Milliseconds of CPU (workers and PostgreSQL) each run cost."""
    p = row["params"]
    if not p.get("worker_cpu") or not p.get("postgres_cpu") or not row["median"]:
        return ""
    cores = statistics.median(p["worker_cpu"]) + statistics.median(p["postgres_cpu"])
    return f"{cores / row['median'] * 1000:.2f} ms"


def _pct(params: dict[str, Any]) -> str:
    values = params.get("machine_busy")
    return f"{statistics.median(values):.0%}" if values else ""


def _states(samples: list[dict[str, float]]) -> str:
    total: Counter[str] = Counter()
    for sample in samples:
        total.update(sample)
    n = max(len(samples), 1)
    return ", ".join(f"{state} {count / n:.1f}" for state, count in total.most_common(4))


def render(rows: list[Row]) -> list[str]:
    """The PostgreSQL section of the generated block."""
    out = ["### PostgreSQL", "", *targets(rows)]
    for (name, metric), title in TITLES.items():
        block = table(rows, name, metric, PG_LEVELS, title)
        note = NOTES.get((name, metric))
        out += [*block, *([note, ""] if block and note else [])]
        if (name, metric) == ("W2", "throughput"):
            out += workers_table(rows)
    return out
