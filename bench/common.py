"""Shared by every benchmark script, fluxio's and the peers': stdlib only.

A workload script prints one JSON line per measured metric::

    {"name": "W1", "system": "fluxio", "durability": "normal", "metric": "step_latency",
     "value": 48.1, "unit": "us/step", "runs": 5, "median": 48.1, "samples": [...],
     "params": {"steps": 200}}

The peers' scripts run in their own virtualenvs without fluxio installed; they import this
module by path, so it must not import anything outside the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "KillResult",
    "StepLog",
    "emit",
    "hang_at_kill_point",
    "kill_and_restart",
    "mark_recover",
    "parse_args",
    "rss_bytes",
    "run_kill_samples",
    "sizes",
]

# Workload sizes: (full, quick). Quick sizes make a smoke run that finishes in seconds.
_SIZES: dict[str, tuple[int, int]] = {
    "w1_steps": (200, 20),
    "w2_runs": (500, 20),
    "w2_steps": (5, 5),
    "w2_queued_runs": (3000, 40),
    "w3_branches": (500, 20),
    "w5_steps": (50, 10),
    "w5_kill_after": (25, 5),
}


def sizes(quick: bool) -> dict[str, int]:
    """The workload sizes for a full or a quick run."""
    return {name: pair[1] if quick else pair[0] for name, pair in _SIZES.items()}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line every workload script accepts (the orchestrator builds it)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", help="W1, W2, W3, W4, W5 or a floor name")
    parser.add_argument("--durability", default="", help="the system's durability mode")
    parser.add_argument("--runs", type=int, default=5, help="samples to take")
    parser.add_argument("--quick", action="store_true", help="smoke sizes")
    parser.add_argument("--n", type=int, default=1000, help="W4: suspended runs")
    parser.add_argument("--workdir", default="", help="where databases go (default: a temp dir)")
    parser.add_argument("--pg-url", default="", help="PostgreSQL admin URL (durability postgres)")
    parser.add_argument("--workers", type=int, default=0, help="W2: worker processes (0: inline)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--log", default="", help=argparse.SUPPRESS)
    parser.add_argument("--marker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def emit(
    name: str,
    system: str,
    durability: str,
    metric: str,
    unit: str,
    samples: Sequence[float],
    **params: Any,
) -> dict[str, Any]:
    """Print one result line (median of ``samples``) and return it."""
    median = statistics.median(samples) if samples else float("nan")
    line = {
        "name": name,
        "system": system,
        "durability": durability,
        "metric": metric,
        "value": median,
        "unit": unit,
        "runs": len(samples),
        "median": median,
        "samples": [round(s, 3) for s in samples],
        "params": params,
    }
    print(json.dumps(line), flush=True)
    return line


def rss_bytes() -> int:
    """This process's resident set size now (from /proc, else the peak via resource)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class StepLog:
    """An append-only file of executed step numbers that survives SIGKILL.

    Each step body of the W5 workload appends its number; the parent reads the file after
    the crash and after the restart to see where the run resumed and what ran twice.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, text: str) -> None:
        """Append one line; the OS has it once this returns, even if the process dies."""
        os.write(self._fd, f"{text}\n".encode())

    def step(self, number: int) -> None:
        """Record that step ``number`` is executing, with a monotonic timestamp."""
        self.write(f"step {number} {time.monotonic():.6f}")


async def hang_at_kill_point(marker: str, number: int, kill_after: int, child: str) -> None:
    """In the first process, the step after ``kill_after`` tells the parent and hangs.

    By then steps ``1..kill_after`` have returned, so a system that acknowledges a step only
    once it is durable must resume at ``kill_after + 1``. The hang is an ``await`` so that
    background work (asynchronous checkpoint writers) goes on until the SIGKILL lands.
    """
    if child != "first" or number != kill_after + 1:
        return
    Path(marker).write_text(str(number))
    await asyncio.sleep(600)


class KillResult:
    """What one W5 crash-and-restart sample showed."""

    def __init__(self, log_text: str, kill_after: int, steps: int) -> None:
        first, _, second = log_text.partition("restart\n")
        self.before = _steps(first)
        self.after = _steps(second)
        self.resumed_at = self.after[0][0] if self.after else -1
        recovered = {n for n, _ in self.before if n <= kill_after}
        self.rerun = sorted({n for n, _ in self.after} & recovered)
        self.completed = bool(self.after) and self.after[-1][0] == steps
        self.recover_start = _marked(second, "recover")
        self.first_step_at = self.after[0][1] if self.after else float("nan")

    @property
    def recovery_ms(self) -> float:
        """From the start of recovery code in the new process to its first step body."""
        return (self.first_step_at - self.recover_start) * 1000.0


def _steps(text: str) -> list[tuple[int, float]]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "step":
            out.append((int(parts[1]), float(parts[2])))
    return out


def _marked(text: str, word: str) -> float:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == word:
            return float(parts[1])
    return float("nan")


def kill_and_restart(
    command: Callable[[str, Path], list[str]],
    workdir: Path,
    *,
    steps: int,
    kill_after: int,
    before_restart: Callable[[Path], None] | None = None,
    timeout: float = 120.0,
) -> KillResult:
    """One W5 sample: start the run, SIGKILL it past step ``kill_after``, restart it.

    ``command(phase, db)`` is the child's argv for phase ``first`` or ``restart``; children
    get ``--log``/``--marker`` appended and write step lines to the log.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db, log, marker = workdir / "w5.db", workdir / "w5.log", workdir / "w5.marker"
    extra = ["--log", str(log), "--marker", str(marker)]
    first = subprocess.Popen([*command("first", db), *extra])
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if first.poll() is not None:
            raise RuntimeError(f"W5 child ended with {first.returncode} before the kill point")
        if time.monotonic() > deadline:
            first.kill()
            raise RuntimeError("W5 child never reached the kill point")
        time.sleep(0.0005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    if before_restart is not None:
        before_restart(db)
    StepLog(log).write("restart")
    subprocess.run([*command("restart", db), *extra], check=True, timeout=timeout)
    return KillResult(log.read_text(), kill_after, steps)


def run_kill_samples(
    system: str,
    durability: str,
    args: argparse.Namespace,
    command: Callable[[str, Path], list[str]],
    workdir: Path,
    before_restart: Callable[[Path], None] | None = None,
) -> None:
    """Take ``args.runs`` W5 samples and print the resumed-at and recovery lines."""
    size = sizes(args.quick)
    results = []
    for i in range(args.runs):
        results.append(
            kill_and_restart(
                command,
                workdir / f"w5-{durability}-{i}",
                steps=size["w5_steps"],
                kill_after=size["w5_kill_after"],
                before_restart=before_restart,
            )
        )
    expected = size["w5_kill_after"] + 1
    params = {
        "steps": size["w5_steps"],
        "killed_after": size["w5_kill_after"],
        "expected": expected,
        "always_resumed_at_expected": all(r.resumed_at == expected for r in results),
        "rerun_finished_steps": [len(r.rerun) for r in results],
        "completed": [r.completed for r in results],
    }
    emit("W5", system, durability, "resumed_at", "step", [r.resumed_at for r in results], **params)
    emit("W5", system, durability, "recovery", "ms", [r.recovery_ms for r in results], **params)


def mark_recover(log_path: str) -> None:
    """Stamp the start of recovery code (after imports) in the W5 log."""
    StepLog(log_path).write(f"recover {time.monotonic():.6f}")


def python() -> str:
    """The interpreter running this script (the peer's venv python for peers)."""
    return sys.executable
