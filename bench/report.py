"""Turns result lines into the markdown tables of ``docs/benchmarks.md``.

Every table shows medians; ratio columns compare fluxio with each row in words that carry the
workload's direction (lower is better for latencies and memory, higher for rates): at fluxio's
``normal`` and ``full`` SQLite durability in the SQLite tables, and at ``postgres`` in the
PostgreSQL tables (rows whose durability is ``postgres``, and W2 across worker processes). The
targets tables state the issues' targets and whether this run met them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

TITLES = {
    (
        "W1",
        "step_latency",
    ): "W1: one run of 200 sequential no-op steps (µs per step, lower is better)",
    ("W2", "throughput"): "W2: 500 runs of 5 steps, concurrently (runs/s, higher is better)",
    (
        "W3",
        "fan_out_join",
    ): "W3: one run fanning out to 500 branches and joining (ms, lower is better)",
    ("W4", "rss_added"): "W4: RSS added by N runs suspended on a signal (MB, lower is better)",
    ("W4", "resume_rate"): "W4: resuming all N suspended runs (resumes/s, higher is better)",
    (
        "W5",
        "resumed_at",
    ): "W5: 50-step run SIGKILLed after step 25 (step it resumed at; 26 is right)",
    ("W5", "recovery"): "W5: recovery time, restart code start to first resumed step (ms)",
}

UNITS = {"us/step": "µs/step"}
HIGHER_IS_BETTER = frozenset({"throughput", "resume_rate"})
WORDS = {"rss_added": ("less", "more")}
WORDS.update(dict.fromkeys(["step_latency", "fan_out_join", "recovery"], ("faster", "slower")))
WORDS.update(dict.fromkeys(["throughput", "resume_rate"], ("faster", "slower")))
ORDER = {
    "fluxio": 0,
    "floor:asyncio": 1,
    "floor:sqlite": 2,
    "floor:postgres": 2,
    "langgraph": 3,
    "dbos": 4,
}
SQLITE_LEVELS, PG_LEVELS = ("normal", "full"), ("postgres",)
NOTES = {
    ("W5", "recovery"): "fluxio takes a crashed run over once its lease expires (1 s in W5, "
    "30 s by default); that wait is not in these numbers.",
    ("W5", "resumed_at"): "LangGraph `async` writes checkpoints behind the running steps: "
    "killed within a millisecond of step 26 starting, none of the 25 finished steps was saved.",
}

Row = dict[str, Any]


def is_postgres(row: Row) -> bool:
    """Whether a row belongs to the PostgreSQL tables."""
    return bool(row["durability"] == "postgres")


def _key(row: Row) -> tuple[str, str, str, str, int]:
    return (row["name"], row["metric"], row["system"], row["durability"], _n(row))


def _n(row: Row) -> int:
    return int(row.get("params", {}).get("suspended", 0))


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fluxio(rows: list[Row], row: Row, durability: str) -> Row | None:
    for other in rows:
        if (
            other["system"] == "fluxio"
            and other["durability"] == durability
            and other["metric"] == row["metric"]
            and _n(other) == _n(row)
        ):
            return other
    return None


def _ratio(rows: list[Row], row: Row, durability: str) -> str:
    """How fluxio at ``durability`` compares with ``row``, in words that carry the direction."""
    mine = _fluxio(rows, row, durability)
    if mine is None or row["system"] == "fluxio" or row["metric"] == "resumed_at":
        return ""
    if row["system"].startswith("floor:") and row["durability"] not in ("none", durability):
        return ""  # a floor is only comparable at its own durability level
    theirs, ours = row["median"], mine["median"]
    if not theirs or not ours:
        return ""
    better, worse = WORDS.get(row["metric"], ("better", "worse"))
    factor = ours / theirs if row["metric"] in HIGHER_IS_BETTER else theirs / ours
    if factor >= 1:
        return f"{factor:.1f}× {better}"
    return f"{1 / factor:.1f}× {worse}"


def table(
    rows: list[Row],
    name: str,
    metric: str,
    levels: Sequence[str] = SQLITE_LEVELS,
    title: str = "",
) -> list[str]:
    """One workload's markdown table, with a ratio column per fluxio level in ``levels``."""
    picked = sorted(
        (r for r in rows if r["name"] == name and r["metric"] == metric),
        key=lambda r: (_n(r), ORDER.get(r["system"], 9), r["durability"]),
    )
    if not picked:
        return []
    lines = [
        f"**{title or TITLES.get((name, metric), f'{name} {metric}')}**",
        "",
        "| system | durability | N | median | min–max | runs | "
        + " | ".join(f"fluxio {level} vs this" for level in levels)
        + " |",
        "|---|---|---:|---:|---:|---:|" + "---:|" * len(levels),
    ]
    for r in picked:
        low, high = min(r["samples"]), max(r["samples"])
        n = str(_n(r)) if _n(r) else ""
        unit = UNITS.get(r["unit"], r["unit"])
        ratios = " | ".join(_ratio(rows, r, level) for level in levels)
        lines.append(
            f"| {r['system']} | {r['durability']} | {n} | {_fmt(r['median'])} {unit} "
            f"| {_fmt(low)}–{_fmt(high)} | {r['runs']} | {ratios} |"
        )
    note = NOTES.get((name, metric))
    return [*lines, *(["", note] if note else []), ""]


def _find(
    rows: list[Row], name: str, metric: str, system: str, durability: str, n: int = 0
) -> Row | None:
    for r in rows:
        if _key(r) == (name, metric, system, durability, n):
            return r
    return None


def targets(rows: list[Row]) -> list[str]:
    """The issue's targets for fluxio, measured in this run."""
    lines = ["**Targets (issue 2 §8)**", "", "| target | measured | met |", "|---|---|---|"]

    def add(text: str, row: Row | None, ok: Any, shown: str = "") -> None:
        if row is None:
            lines.append(f"| {text} | not measured | |")
            return
        lines.append(
            f"| {text} | {shown or _fmt(row['median']) + ' ' + row['unit']} "
            f"| {'yes' if ok(row) else '**no**'} |"
        )

    for level in ("normal", "full"):
        fl = _find(rows, "W1", "step_latency", "floor:sqlite", level)
        fx = _find(rows, "W1", "step_latency", "fluxio", level)
        if fl and fx:
            ratio = fx["median"] / fl["median"]
            add(
                f"W1 {level}: ≤ 3× raw commit floor ({_fmt(fl['median'])} µs)",
                fx,
                lambda _, r=ratio: r <= 3,
                f"{_fmt(fx['median'])} µs/step = {ratio:.1f}× floor",
            )
    for level in ("normal", "full"):
        add(
            f"W2 {level}: ≥ 2,000 runs/s",
            _find(rows, "W2", "throughput", "fluxio", level),
            lambda r: r["median"] >= 2000,
        )
        add(
            f"W3 {level}: ≤ 60 ms",
            _find(rows, "W3", "fan_out_join", "fluxio", level),
            lambda r: r["median"] <= 60,
        )
        add(
            f"W4 {level}: 10,000 suspended add < 20 MB",
            _find(rows, "W4", "rss_added", "fluxio", level, 10000),
            lambda r: r["median"] < 20,
        )
        add(
            f"W4 {level}: ≥ 2,000 resumes/s (10,000 runs)",
            _find(rows, "W4", "resume_rate", "fluxio", level, 10000),
            lambda r: r["median"] >= 2000,
        )
        w5 = _find(rows, "W5", "resumed_at", "fluxio", level)
        add(
            f"W5 {level}: always resumes at 26, no finished step re-run",
            w5,
            lambda r: (
                r["params"]["always_resumed_at_expected"]
                and not any(r["params"]["rerun_finished_steps"])
            ),
            f"resumed at {w5['samples']}" if w5 else "",
        )
    return [*lines, ""]


def render(rows: list[Row], header: Iterable[str] = ()) -> str:
    """The whole generated block (without the markers): SQLite, then PostgreSQL."""
    sqlite = [r for r in rows if not is_postgres(r)]
    postgres = [r for r in rows if is_postgres(r)]
    out = list(header)
    if sqlite:
        out += ["### SQLite", "", *targets(sqlite)]
        for name, metric in TITLES:
            out += table(sqlite, name, metric)
    if postgres:
        import pg_report

        out += pg_report.render(postgres)
    return "\n".join(out).rstrip() + "\n"


def update_docs(doc: Path, block: str) -> None:
    """Replace the text between the bench markers of ``doc`` with ``block``."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc} has no {BEGIN} / {END} markers; add them where the table goes")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    doc.write_text(pattern.sub(lambda _: f"{BEGIN}\n{block}{END}", text, count=1))
