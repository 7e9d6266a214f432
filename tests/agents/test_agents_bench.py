"""``bench/agents_bench.py`` still runs (at toy sizes, without the peers' virtualenv)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "agents_bench.py"


def test_the_agent_benchmark_runs_and_reports_every_number() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-peers"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["per_iteration_s"]) == {"fluxio (SQLite normal)", "fluxio (SQLite full)"}
    assert all(v > 0 for v in report["per_iteration_s"].values())
    assert set(report["per_call_s"]) == {"tool", "model"}
    assert "| fluxio (SQLite normal) |" in done.stdout
