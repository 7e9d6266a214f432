"""The audit benchmark still runs (at toy size) and reports every measurement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_audit_benchmark_reports_append_and_verify_costs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "governance_audit.py"),
            "--appends",
            "50",
            "--runs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=100,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    measured = {(x["name"], x["metric"], x["durability"]) for x in lines}
    assert ("audit_append", "memory", "memory") in measured
    assert ("audit_append", "sqlite", "full") in measured
    assert ("audit_append", "sqlite 50 concurrent", "normal") in measured
    assert ("audit_verify", "offline", "memory") in measured
    assert all(x["unit"] in ("us/append", "us/entry") and x["median"] > 0 for x in lines)
