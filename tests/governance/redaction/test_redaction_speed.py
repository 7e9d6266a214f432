"""Redaction sits on the hot path of every governed step: it must cost milliseconds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from fluxio.governance.redaction import Redactor

ROOT = Path(__file__).resolve().parents[3]
LINES = (
    "Contact: jane.doe@example.com, phone +44 20 7946 0958, prefers email.",
    "Payment: card 4111 1111 1111 1111 declined, retried with IBAN DE89 3704 0044 0532 0130 00.",
    "[2024-03-04 12:30:45] worker-7 GET /api/v1/orders?page=3 200 in 35ms from 203.0.113.42",
    "The quarterly report shows revenue grew 12.5% to $4.2M while churn fell to 3.1%.",
)


def test_redacting_a_10kb_payload_takes_a_few_milliseconds() -> None:
    text = "\n".join(LINES * 40)[: 10 * 1024]
    redactor = Redactor()
    redactor.redact_text(text)
    best = min(_cpu_ms(lambda: redactor.redact_text(text)) for _ in range(5))
    assert best < 20.0  # measured ~2 ms of CPU; generous for loaded CI machines


def _cpu_ms(fn: object) -> float:
    start = time.process_time()
    fn()  # type: ignore[operator]
    return (time.process_time() - start) * 1000


def test_the_benchmark_script_prints_one_json_line_per_case() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "governance_redaction.py"), "--runs", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    cases = {(line["name"], line["durability"]) for line in lines}
    assert cases == {
        ("redaction_text", "mask"),
        ("redaction_text", "hash"),
        ("redaction_text", "tokenize"),
        ("redaction_json", "mask"),
        ("redaction_clean", "mask"),
    }
    assert all(line["unit"] == "ms" and line["runs"] == 3 for line in lines)
    assert all(0 < line["median"] < 100 for line in lines)
    assert lines[0]["params"]["bytes"] == 10 * 1024
