"""``fluxio worker``: serves catalogued or given workflows until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from tests.cli.conftest import Fluxio, Spawn, run_id_in
from tests.cli.conftest import stop as stop_process


def wait_for_status(fluxio: Fluxio, run_id: str, status: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while fluxio.status(run_id) != status:
        assert time.monotonic() < deadline, f"run {run_id} is {fluxio.status(run_id)}"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_executes_delivered_signals_and_stops_gracefully(
    fluxio: Fluxio, flows: Path, spawn: Spawn, signum: signal.Signals
) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    assert fluxio("signal", run_id, "go", "--data", '"hello"', "--no-wait").exit_code == 0
    worker = spawn("worker", "--concurrency", "4")  # no PATHS: serves the catalog
    try:
        wait_for_status(fluxio, run_id, "completed")
    finally:
        stdout, stderr = stop_process(worker, signum)
    assert worker.returncode == 0, stdout + stderr
    assert "signal_flow" in stdout
    assert "worker stopped" in stdout


def test_worker_with_paths_and_tools(
    fluxio: Fluxio, refund_files: tuple[Path, Path], spawn: Spawn
) -> None:
    workflow, tools = refund_files
    run_id = run_id_in(
        fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 500}').output
    )
    assert fluxio("approve", run_id, "review", "--no-wait").exit_code == 0
    (fluxio.db.parent / "catalog.json").unlink()  # the worker gets the files explicitly
    worker = spawn("worker", str(workflow), "--tools", str(tools))
    try:
        wait_for_status(fluxio, run_id, "completed")
    finally:
        stdout, stderr = stop_process(worker, signal.SIGTERM)
    assert worker.returncode == 0, stdout + stderr
