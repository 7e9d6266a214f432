"""``fluxio demo``: runs to the approval, completes on approval, resumes after a SIGKILL."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import Fluxio, Spawn, run_id_in
from tests.cli.conftest import stop as stop_process

TICKETS = 8
OUTCOMES_BEFORE_APPROVAL = 50  # list + 8 x (parse, classify, 2 lookups, enrich, draft) + join


def outcomes(db: Path) -> list[tuple[int, str, str, float, float]]:
    """Recorded outcomes; none while a starting process has not created the schema yet."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return conn.execute(
                "SELECT seq, step_key, name, started_at, finished_at FROM journal "
                "WHERE kind='outcome' ORDER BY seq"
            ).fetchall()
        except sqlite3.OperationalError:
            return []


def test_demo_stops_for_approval_and_completes_on_approve(fluxio: Fluxio) -> None:
    first = fluxio("demo", "--delay", "0")
    assert first.exit_code == 0, first.output
    run_id = run_id_in(first.output)
    assert f"approve {run_id} send_replies" in first.output
    assert "8 replies drafted" in first.output
    assert "T-1002" in first.output
    assert fluxio.status(run_id) == "waiting"
    demo_dir = fluxio.cwd / "fluxio-demo"
    assert len(list((demo_dir / "tickets").glob("*.txt"))) == TICKETS
    assert not (demo_dir / "outbox").exists()

    edited = '{"T-1004": "Thanks Tom, noted!"}'
    approved = fluxio("approve", run_id, "send_replies", "--edit", edited)
    assert approved.exit_code == 0, approved.output
    assert fluxio.status(run_id) == "completed"
    sent = sorted(p.name for p in (demo_dir / "outbox").glob("*.eml"))
    assert sent == [f"T-100{i}.eml" for i in range(1, 9)]
    assert "Thanks Tom, noted!" in (demo_dir / "outbox" / "T-1004.eml").read_text()
    assert "billing team" in (demo_dir / "outbox" / "T-1001.eml").read_text()
    assert "outbox" in approved.output
    assert "8 replies sent" in approved.output

    again = fluxio("demo")
    assert again.exit_code == 0
    assert "complete" in again.output
    assert run_id in again.output


def test_demo_reject_sends_nothing(fluxio: Fluxio) -> None:
    run_id = run_id_in(fluxio("demo", "--delay", "0", "--dir", "d").output)
    rejected = fluxio("reject", run_id, "send_replies", "--note", "tone is off")
    assert rejected.exit_code == 0, rejected.output
    assert "nothing was sent" in rejected.output
    assert not (fluxio.cwd / "d" / "outbox").exists()


def test_demo_reset_starts_a_new_run(fluxio: Fluxio) -> None:
    first = run_id_in(fluxio("demo", "--delay", "0").output)
    second = fluxio("demo", "--delay", "0", "--reset")
    assert second.exit_code == 0, second.output
    assert f"cancelled the previous demo run {first}" in second.output
    assert run_id_in(second.output.split("\n", 1)[1]) != first
    assert fluxio.status(first) == "cancelled"


def test_demo_killed_mid_run_resumes_without_repeating_steps(fluxio: Fluxio, spawn: Spawn) -> None:
    proc = spawn("demo", "--delay", "0.15")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if fluxio.db.exists() and len(outcomes(fluxio.db)) >= 12:
            break
        time.sleep(0.05)
    stdout, stderr = stop_process(proc, signal.SIGKILL)
    before = outcomes(fluxio.db)
    assert 12 <= len(before) < OUTCOMES_BEFORE_APPROVAL, f"not killed mid-run:\n{stdout}{stderr}"

    rerun = spawn("demo")
    try:
        stdout, stderr = rerun.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        stop_process(rerun, signal.SIGKILL)
        raise
    assert rerun.returncode == 0, stdout + stderr
    assert "resuming demo run" in stdout
    after = outcomes(fluxio.db)
    assert after[: len(before)] == before  # finished steps kept as they were
    keys = [row[1] for row in after]
    assert len(keys) == len(set(keys)) == OUTCOMES_BEFORE_APPROVAL
    killed_at = max(row[4] for row in before)
    assert all(row[3] >= killed_at for row in after[len(before) :] if row[3])
    reported = {line.split()[-1] for line in stdout.splitlines() if line.strip().startswith("✓")}
    assert reported
    assert not reported & {row[1] for row in before}
    run_id = run_id_in(stdout)
    assert f"approve {run_id} send_replies" in stdout
