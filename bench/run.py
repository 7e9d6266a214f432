"""Runs the whole benchmark suite: floors, fluxio and the peers, and writes the results.

Usage::

    python bench/run.py --runs 5          # everything (make bench); updates docs/benchmarks.md
    python bench/run.py --quick           # smoke run in seconds: fluxio + floors, tiny sizes
    python bench/run.py --only W1,W2 --systems fluxio,floors
    python bench/run.py --backends postgres --systems floors,fluxio,dbos   # PostgreSQL only

Each workload runs in its own subprocess (peers with their own virtualenv's python, created
under ``bench/.venvs/`` from PyPI on first use) and prints JSON lines; they are saved to
``bench/results/<time>.jsonl`` and ``bench/results/latest.jsonl``, and the table of medians
and ratios is written between the markers of ``docs/benchmarks.md``.

``--backends`` picks the databases: ``sqlite`` (fluxio's SQLite store, the floors and every
peer on SQLite) and ``postgres`` (the PostgreSQL floor, fluxio's ``PostgresStore`` with W2 also
across 1, 2 and 4 worker processes, and DBOS on the same server), both by default. PostgreSQL
comes from ``--pg-url``, ``$FLUXIO_TEST_POSTGRES_URL`` or ``postgresql://127.0.0.1:5432/test``;
when it is selected and not reachable the run stops at once and says so.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pg
import report

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"
PEERS = {
    "langgraph": ["langgraph", "langgraph-checkpoint-sqlite", "aiosqlite"],
    "dbos": ["dbos"],
}
PEER_IMPORTS = {"langgraph": "langgraph.checkpoint.sqlite.aio", "dbos": "dbos, psycopg"}
PEER_BACKENDS = {"langgraph": ("sqlite",), "dbos": ("sqlite", "postgres")}
WORKERS = (1, 2, 4)  # W2 worker processes on PostgreSQL


@dataclass(frozen=True)
class Job:
    """One subprocess: a system's workload at one durability level."""

    system: str
    workload: str
    argv: list[str]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="fluxio benchmark suite (issue 2 §8)")
    parser.add_argument("--runs", type=int, default=5, help="samples per workload (median)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, 1 run")
    parser.add_argument("--only", default="W1,W2,W3,W4,W5", help="workloads to run")
    parser.add_argument(
        "--systems",
        default="",
        help="comma list of floors,fluxio,langgraph,dbos (default: all; --quick: floors,fluxio)",
    )
    parser.add_argument("--out", default=str(BENCH / "results"), help="results directory")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--report", default="", help="only rewrite the docs table from this .jsonl file"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per job")
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma list of sqlite,postgres"
    )
    parser.add_argument("--pg-url", default="", help="PostgreSQL admin URL (see bench/pg.py)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.no_docs = 1, True
    default = "floors,fluxio" if args.quick else "floors,fluxio,langgraph,dbos"
    args.systems = set((args.systems or default).split(","))
    args.only = set(args.only.split(","))
    args.backends = set(args.backends.split(","))
    if not args.backends <= {"sqlite", "postgres"}:
        parser.error(f"--backends takes sqlite and/or postgres, not {','.join(args.backends)}")
    args.pg_url = pg.url(args.pg_url)
    return args


def ensure_venv(peer: str) -> Path:
    """The peer's python, creating its virtualenv and installing it from PyPI if needed."""
    python = VENVS / peer / "bin" / "python"
    check = [str(python), "-c", f"import {PEER_IMPORTS[peer]}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"installing {peer} into {python.parent.parent} (takes a few minutes, once)")
    subprocess.run([sys.executable, "-m", "venv", str(VENVS / peer)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *PEERS[peer], "psutil"], check=True)
    return python


def jobs(args: argparse.Namespace) -> list[Job]:
    """Every subprocess this run needs, floors first."""
    base = ["--runs", str(args.runs), *(["--quick"] if args.quick else [])]
    out: list[Job] = []
    py = sys.executable
    if "postgres" in args.backends:
        problem = pg.problem(args.pg_url)
        if problem is not None:
            raise SystemExit(problem)
    if "floors" in args.systems and "W1" in args.only:
        out += floor_jobs(args, py, base)
    if "fluxio" in args.systems:
        out += system_jobs(args, "fluxio", py, str(BENCH / "fluxio_bench.py"), base)
    for peer in ("langgraph", "dbos"):
        if peer in args.systems and args.backends & set(PEER_BACKENDS[peer]):
            python = str(ensure_venv(peer))
            out += system_jobs(args, peer, python, str(BENCH / "peers" / f"{peer}_bench.py"), base)
    return out


def floor_jobs(args: argparse.Namespace, py: str, base: list[str]) -> list[Job]:
    """The floors W1 is measured against, for the selected backends."""
    floors = str(BENCH / "floors.py")
    out = [Job("floors", "W1", [py, floors, "asyncio", *base])]
    if "sqlite" in args.backends:
        for level in ("normal", "full"):
            out.append(Job("floors", "W1", [py, floors, "sqlite", "--durability", level, *base]))
    if "postgres" in args.backends:
        out.append(Job("floors", "W1", [py, floors, "postgres", "--pg-url", args.pg_url, *base]))
    return out


def modes_of(args: argparse.Namespace, system: str) -> tuple[list[str], list[str]]:
    """A system's durability modes for W1–W4 and for W5, on the selected backends."""
    sqlite, w5, postgres = {
        "fluxio": (["normal", "full"], ["normal", "full"], ["postgres"]),
        "langgraph": (["sync"], ["sync", "async", "exit"], []),
        "dbos": (["sqlite"], ["sqlite"], ["postgres"]),
    }[system]
    if system == "fluxio" and not args.quick:
        sqlite = [*sqlite, "memory"]
    if "sqlite" not in args.backends:
        sqlite, w5 = [], []
    return sqlite + (postgres if "postgres" in args.backends else []), w5


def system_jobs(
    args: argparse.Namespace, system: str, python: str, script: str, base: list[str]
) -> list[Job]:
    """A system's workloads at each of its durability levels."""
    main, w5_modes = modes_of(args, system)
    out = []
    for workload in ("W1", "W2", "W3", "W4", "W5"):
        if workload not in args.only:
            continue
        for mode in w5_modes if workload == "W5" else main:
            if workload in ("W4", "W5") and mode == "memory":
                continue
            argv = [python, script, workload, "--durability", mode, *base]
            if mode == "postgres":
                out += postgres_jobs(args, system, workload, [*argv, "--pg-url", args.pg_url])
            elif workload == "W4":
                sizes = [200] if args.quick else [1000, 10000] if system == "fluxio" else [1000]
                out += [Job(system, workload, [*argv, "--n", str(n)]) for n in sizes]
            else:
                out.append(Job(system, workload, argv))
    return out


def postgres_jobs(
    args: argparse.Namespace, system: str, workload: str, argv: list[str]
) -> list[Job]:
    """A workload on PostgreSQL: W2 also across worker processes (fluxio), W4 at 1,000 runs.

    ``--quick`` keeps PostgreSQL to a few seconds: W1 (with its interleaved floor) and W2
    across 2 worker processes.
    """
    workers = [Job(system, workload, [*argv, "--workers", str(k)]) for k in WORKERS]
    if args.quick:
        return {"W1": [Job(system, workload, argv)], "W2": workers[1:2]}.get(workload, [])
    if workload == "W4":
        return [Job(system, workload, [*argv, "--n", "1000"])]
    return [
        Job(system, workload, argv),
        *(workers if workload == "W2" and system == "fluxio" else []),
    ]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_job(job: Job, workdir: Path, timeout: float, errors: Path) -> list[report.Row]:
    """Run one job; its JSON lines, or none (the failure goes to the errors file)."""
    label = " ".join(a for a in shown(job.argv)[2:] if a not in ("--quick", "--pg-url", "***"))
    log(f"{job.system}: {label}")
    began = time.monotonic()
    try:
        done = subprocess.run(
            [*job.argv, "--workdir", str(workdir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        record_failure(errors, job, f"timed out after {timeout:.0f}s")
        return []
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not rows:
        record_failure(errors, job, done.stderr[-4000:])
        return rows
    for row in rows:
        log(f"  {row['name']} {row['metric']}: {report._fmt(row['median'])} {row['unit']}")
    log(f"  ({time.monotonic() - began:.1f}s)")
    return rows


def shown(argv: list[str]) -> list[str]:
    """``argv`` with the PostgreSQL URL masked (it may hold a password)."""
    return ["***" if i and argv[i - 1] == "--pg-url" else a for i, a in enumerate(argv)]


def record_failure(errors: Path, job: Job, detail: str) -> None:
    log(f"  FAILED: {job.system} {job.workload}; details in {errors}")
    with errors.open("a") as out:
        out.write(f"== {' '.join(shown(job.argv))}\n{detail}\n")


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, {platform.system()} {platform.release()}"
    )


def write_report(
    rows: list[report.Row], source: str, runs: int, docs: bool, when: float | None = None
) -> None:
    """Print the tables and, unless ``docs`` is false, put them into docs/benchmarks.md."""
    header = [
        f"Run of {time.strftime('%Y-%m-%d %H:%M', time.localtime(when))} on {machine()}; "
        f"medians of {runs} runs. Raw samples: `{source}`.",
        "",
    ]
    block = report.render(rows, header)
    if docs:
        report.update_docs(ROOT / "docs" / "benchmarks.md", block)
        log("docs/benchmarks.md updated")
    print(block)


def rewrite_report(path: Path, docs: bool) -> int:
    """Redo the tables from saved result lines (no benchmark is run)."""
    saved = [json.loads(line) for line in path.read_text().splitlines() if line]
    runs = max((r["runs"] for r in saved), default=0)
    write_report(saved, f"bench/results/{path.name}", runs, docs, path.stat().st_mtime)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        return rewrite_report(Path(args.report), not args.no_docs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    errors = out / f"{stamp}.errors.txt"
    rows: list[report.Row] = []
    failed = 0
    work = out / "work"
    work.mkdir(exist_ok=True)
    for job in jobs(args):
        got = run_job(job, work, args.timeout, errors)
        failed += not got
        rows += got
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    name = "quick" if args.quick else stamp
    (out / f"{name}.jsonl").write_text(lines)
    if not args.quick:
        (out / "latest.jsonl").write_text(lines)
    write_report(rows, f"bench/results/{name}.jsonl", args.runs, not args.no_docs)
    if failed:
        log(f"{failed} job(s) failed; see {errors}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
