"""Micro-benchmark: the cost of redacting a 10 KB payload (governance is on the hot path).

Usage::

    python bench/governance_redaction.py            # 200 runs per case
    python bench/governance_redaction.py --runs 50 --size 10240

Prints one JSON line per case (``bench/common.py`` format): the median milliseconds to redact
a ~10 KB tool result, as one text (``redact_text``) and as a JSON value (``redact``), in each
mode, plus a payload with no sensitive values at all (the common case). ``params.cpu_ms`` is
the median CPU time, which a busy machine inflates less than wall-clock time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from fluxio.governance.redaction import RedactionConfig, Redactor, Vault

SYSTEM = "fluxio"

# A tool result as agents see them: prose, log lines, records; a few sensitive values.
_RECORD_LINES = (
    "Ticket 48213 opened 2024-03-02 10:32 by customer (tier gold), status open, priority P2.",
    "Customer says the export at 09:15 failed with error 502 after upgrading to v2.3.1.",
    "Contact: jane.doe@example.com, phone +44 20 7946 0958, prefers email.",
    "Order #100234567 shipped 2024-03-04 via carrier DHL, tracking 1Z999AA10123456784.",
    "Payment: card 4111 1111 1111 1111 declined, retried with IBAN DE89 3704 0044 0532 0130 00.",
    "[2024-03-04 12:30:45] worker-7 GET /api/v1/orders?page=3 200 in 35ms from 203.0.113.42",
    "Agent note: refund approved up to $120.00 per policy RF-7; escalate if above threshold.",
    "debug: config loaded (timeout=30s, retries=3, region=eu-west-1, "
    "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc)",
)
_CLEAN_LINE = (
    "The quarterly report shows revenue grew 12.5% to $4.2M while churn fell to 3.1%; the team "
    "shipped releases 2.3.0 through 2.3.4 and closed 418 tickets in 14 days on average."
)


def payload(size: int, *, sensitive: bool = True) -> str:
    """About ``size`` characters of tool-result text."""
    lines = _RECORD_LINES if sensitive else (_CLEAN_LINE,)
    out: list[str] = []
    while sum(len(line) + 1 for line in out) < size:
        out.append(lines[len(out) % len(lines)])
    return "\n".join(out)[:size]


def structured(size: int) -> dict[str, Any]:
    """The same content as a JSON tool result: a list of records with a few fields each."""
    text = payload(size)
    return {
        "tool": "crm.search",
        "items": [{"id": i, "summary": line, "tags": ["crm", "support"]}
                  for i, line in enumerate(text.split("\n"))],
    }  # fmt: skip


def measure(fn: Callable[[], object], runs: int) -> tuple[list[float], float]:
    """Wall-clock milliseconds per call, ``runs`` times after a warm-up, and the median CPU ms.

    CPU time is reported too because on a shared machine wall-clock time includes waiting
    for a core.
    """
    for _ in range(5):
        fn()
    samples, cpu = [], []
    gc.disable()
    try:
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    finally:
        gc.enable()
    return samples, round(statistics.median(cpu), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--size", type=int, default=10 * 1024)
    args = parser.parse_args()
    text, clean, value = (
        payload(args.size),
        payload(args.size, sensitive=False),
        structured(args.size),
    )
    vault = Vault(Vault.generate_key())
    redactors = {
        mode: Redactor(RedactionConfig(mode=mode), vault=vault, salt=b"bench")
        for mode in ("mask", "hash", "tokenize")
    }
    findings = len(redactors["mask"].redact_text(text).findings)
    params = {"bytes": len(text.encode()), "findings": findings}
    for mode, redactor in redactors.items():
        samples, cpu = measure(lambda r=redactor: r.redact_text(text), args.runs)
        common.emit(
            "redaction_text", SYSTEM, mode, "redact_10kb", "ms", samples, cpu_ms=cpu, **params
        )
    samples, cpu = measure(lambda: redactors["mask"].redact(value), args.runs)
    json_params = {"bytes": len(json.dumps(value).encode()), "strings": len(value["items"]) * 4}
    common.emit(
        "redaction_json", SYSTEM, "mask", "redact_10kb", "ms", samples, cpu_ms=cpu, **json_params
    )
    samples, cpu = measure(lambda: redactors["mask"].redact_text(clean), args.runs)
    common.emit(
        "redaction_clean",
        SYSTEM,
        "mask",
        "redact_10kb",
        "ms",
        samples,
        cpu_ms=cpu,
        bytes=len(clean),
    )


if __name__ == "__main__":
    main()
