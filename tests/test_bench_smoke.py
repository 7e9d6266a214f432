"""The benchmark harness still runs (at toy sizes): `make bench` must not rot between releases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_reports_every_workload_and_w5_resumes_after_the_kill(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
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
