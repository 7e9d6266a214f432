"""Fixtures for CLI tests: an in-process runner bound to a database in tmp_path, subprocesses,
and sample definition files."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fluxio.cli.main import app

FLOWS = '''
"""Sample workflows for the CLI tests (plain run code in a WORKFLOWS dict)."""
import time

from fluxio.engine import RetryPolicy, StepOptions
from fluxio.errors import StepFailed

ONCE = StepOptions(retry=RetryPolicy(max_attempts=1))
CHARGE = StepOptions(side_effects=True, idempotent=False, retry=RetryPolicy(max_attempts=1))


def add(a, b):
    return a + b


def boom():
    raise ValueError("the printer is on fire")


def charge(amount):
    time.sleep(60)
    return {"charged": amount}


async def approval_flow(ctx, input):
    total = await ctx.step(add, input["a"], input["b"])
    decision = await ctx.wait_for("approval:publish", reason="approval")
    if decision["decision"] != "approve":
        raise StepFailed("rejected: " + decision.get("note", ""), retryable=False)
    return {"total": total, "note": decision["note"], "edited": decision.get("payload")}


async def failing(ctx, input):
    await ctx.step(boom, options=ONCE)


async def signal_flow(ctx, input):
    return await ctx.wait_for("go")


async def short_timer(ctx, input):
    await ctx.sleep(0.4)
    return "slept"


async def long_timer(ctx, input):
    await ctx.sleep(3600)


async def payment(ctx, input):
    return await ctx.step(charge, input["amount"], options=CHARGE)


WORKFLOWS = {
    "approval_flow": approval_flow,
    "failing": failing,
    "signal_flow": signal_flow,
    "short_timer": short_timer,
    "long_timer": long_timer,
    "payment": payment,
}
'''

TOOLS = """
def lookup(order_id):
    return {"order_id": order_id, "amount": 250.0 if order_id > 100 else 20.0}


def refund(order_id, amount):
    return {"refunded": amount, "order_id": order_id}


TOOLS = {"lookup": lookup, "refund": refund}
"""

REFUND_YAML = """
name: refund
description: Refund an order; large amounts need a person's approval.
steps:
  - id: lookup
    type: tool
    tool: lookup
    inputs:
      order_id: input.order_id
  - id: route
    type: decision
    depends_on: [lookup]
    branches:
      - when: steps.lookup.output.amount > 100.0
        goto: [review]
    default: [auto]
  - id: review
    type: wait
    wait_for: approval
  - id: auto
    type: tool
    tool: lookup
    inputs:
      order_id: input.order_id
  - id: refund
    type: tool
    tool: refund
    depends_on: [review, auto]
    inputs:
      order_id: steps.lookup.output.order_id
      amount: steps.lookup.output.amount
outputs:
  refunded: steps.refund.output.refunded
"""


@dataclass
class Fluxio:
    """Runs ``fluxio --db <tmp db> ...`` in-process and knows where things are."""

    db: Path
    runner: CliRunner
    cwd: Path

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(
            app, ["--db", str(self.db), *args], env={"COLUMNS": "200", "FLUXIO_DATABASE_URL": None}
        )

    def journal(self, run_id: str) -> list[tuple[int, str, str, str, int, float]]:
        """(seq, step_key, kind, name, ok, started_at) rows, read straight from the file."""
        with contextlib.closing(sqlite3.connect(self.db)) as conn:
            return conn.execute(
                "SELECT seq, step_key, kind, name, ok, started_at FROM journal WHERE run_id=? "
                "ORDER BY seq",
                (run_id,),
            ).fetchall()

    def status(self, run_id: str) -> str:
        with contextlib.closing(sqlite3.connect(self.db)) as conn:
            (status,) = conn.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return str(status)


@pytest.fixture
def fluxio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fluxio:
    monkeypatch.chdir(tmp_path)
    return Fluxio(tmp_path / "state" / "fluxio.db", CliRunner(), tmp_path)


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(textwrap.dedent(FLOWS), encoding="utf-8")
    return path


@pytest.fixture
def refund_files(tmp_path: Path) -> tuple[Path, Path]:
    yaml_file = tmp_path / "refund.yaml"
    yaml_file.write_text(REFUND_YAML, encoding="utf-8")
    tools = tmp_path / "refund_tools.py"
    tools.write_text(TOOLS, encoding="utf-8")
    return yaml_file, tools


def run_id_in(output: str) -> str:
    """The run id a command printed (``run <id> ...``)."""
    for word in output.split():
        if len(word) == 26 and word.isalnum() and word.islower():
            return word
    raise AssertionError(f"no run id in output:\n{output}")


Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start ``python -m fluxio.cli.main --db <db> ...`` as a real process in tmp_path.

    Every process started is killed and reaped at teardown, even when the test failed.
    """
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, db: Path | None = None) -> subprocess.Popen[str]:
        env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
        env.pop("FLUXIO_DATABASE_URL", None)
        database = db or tmp_path / "state" / "fluxio.db"
        proc = subprocess.Popen(
            [sys.executable, "-m", "fluxio.cli.main", "--db", str(database), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def stop(proc: subprocess.Popen[str], signum: int, timeout: float = 60) -> tuple[str, str]:
    """Send ``signum``, wait for the process to exit, and return its output (kill if stuck)."""
    proc.send_signal(signum)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"process did not stop on signal {signum}:\n{out}\n{err}") from None
