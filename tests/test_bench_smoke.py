"""The benchmark harness still runs (at toy sizes): `make bench` must not rot between releases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"


def bench_report(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``bench/report.py``, imported the way ``bench/run.py`` imports it."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import report

    return report


def row(name: str, system: str, durability: str, metric: str, median: float, **params: Any):
    return {
        "name": name,
        "system": system,
        "durability": durability,
        "metric": metric,
        "value": median,
        "unit": "runs/s" if "throughput" in metric else "us/step",
        "runs": 1,
        "median": median,
        "samples": [median],
        "params": params,
    }


@pytest.mark.slow
def test_quick_bench_reports_every_workload_and_w5_resumes_after_the_kill(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=110,
    )
    lines = [json.loads(x) for x in (tmp_path / "quick.jsonl").read_text().splitlines() if x]
    fluxio = [x for x in lines if x.get("system") == "fluxio"]
    assert {x["name"] for x in fluxio} >= {"W1", "W2", "W3", "W4", "W5"}
    w5 = [x for x in fluxio if x["name"] == "W5"]
    assert w5
    assert all(x["params"]["always_resumed_at_expected"] is True for x in w5)
    assert {x["durability"] for x in w5} == {"normal", "full"}
    on_postgres = {
        (x["system"], x["name"], x["metric"]) for x in lines if x["durability"] == "postgres"
    }
    assert on_postgres == {
        ("floor:postgres", "W1", "step_latency"),
        ("fluxio", "W1", "step_latency"),
        ("fluxio", "W2", "workers_throughput"),
    }
    w1 = next(x for x in fluxio if x["name"] == "W1" and x["durability"] == "postgres")
    assert len(w1["params"]["floor_ratios"]) == w1["runs"]
    workers = next(x for x in fluxio if x["metric"] == "workers_throughput")
    assert workers["params"]["workers"] == 2
    assert workers["median"] > 0


def test_postgres_targets_are_judged_against_the_floor_dbos_and_two_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = bench_report(monkeypatch)
    rows = [
        row(
            "W1",
            "fluxio",
            "postgres",
            "step_latency",
            500.0,
            floor_ratios=[1.5],
            floor_samples=[333.0],
        ),
        row("W1", "floor:postgres", "postgres", "step_latency", 200.0),
        row("W1", "dbos", "postgres", "step_latency", 3000.0),
        row(
            "W2",
            "fluxio",
            "postgres",
            "workers_throughput",
            900.0,
            workers=1,
            runs=3000,
            steps=5,
            concurrency=200,
        ),
        row(
            "W2",
            "fluxio",
            "postgres",
            "workers_throughput",
            800.0,
            workers=2,
            runs=3000,
            steps=5,
            concurrency=200,
        ),
    ]
    text = report.render(rows)
    assert "### PostgreSQL" in text
    assert "### SQLite" not in text
    assert "| W1: ≤ 2× raw commit floor (333 µs) | 500 µs/step = 1.5× floor | yes |" in text
    assert "| W1: ≥ 2× faster than DBOS | DBOS 3,000 µs/step = 6.0× fluxio | yes |" in text
    assert "| W2, 2 worker processes: ≥ 1,000 runs/s | 800 runs/s | **no** |" in text
    assert "| 1: 900, 2: 800 runs/s | **no** |" in text
    assert "| 2 | 800 runs/s | 800–800 | 1 | 0.89× |" in text


def test_unknown_backend_is_refused_with_the_choices(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--backends", "mysql", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--backends takes sqlite and/or postgres, not mysql" in done.stderr


def test_unreachable_postgres_stops_the_run_and_says_how_to_leave_it_out(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "--out",
            str(tmp_path),
            "--pg-url",
            "postgresql://127.0.0.1:1/none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "PostgreSQL is not reachable at postgresql://127.0.0.1:1/none" in done.stderr
    assert "--backends sqlite" in done.stderr
    assert not (tmp_path / "quick.jsonl").exists()
