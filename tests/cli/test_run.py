"""``fluxio run`` and the commands that continue a run, end to end on a real SQLite file."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import time
from pathlib import Path

from tests.cli.conftest import Fluxio, Spawn, run_id_in
from tests.cli.conftest import stop as stop_process


def test_run_waits_for_approval_with_exit_3_and_prints_the_command(
    fluxio: Fluxio, flows: Path
) -> None:
    result = fluxio("run", str(flows), "-w", "approval_flow", "--input", '{"a": 2, "b": 3}')
    assert result.exit_code == 3, result.output
    run_id = run_id_in(result.output)
    assert "add" in result.output  # the completed step was shown
    assert f"fluxio --db {fluxio.db} approve {run_id} publish" in result.output
    assert fluxio.status(run_id) == "waiting"


def test_approve_continues_the_run_in_process(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":1,"b":2}').output
    )
    result = fluxio(
        "approve", run_id, "publish", "--note", "ship it", "--by", "ana", "--edit", '{"x": 1}'
    )
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    assert fluxio.status(run_id) == "completed"
    shown = fluxio("runs", "show", run_id)
    assert '"total": 3' in shown.output
    assert '"note": "ship it"' in shown.output
    assert '"edited": {"x": 1}' in shown.output
    names = [row[3] for row in fluxio.journal(run_id)]
    assert names == ["add", "wait:approval:publish"]


def test_reject_fails_the_run_with_exit_1(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":1,"b":2}').output
    )
    result = fluxio("reject", run_id, "publish", "--note", "too risky")
    assert result.exit_code == 1, result.output
    assert "rejected: too risky" in result.output
    assert fluxio.status(run_id) == "failed"


def test_no_wait_only_delivers_the_decision(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":1,"b":2}').output
    )
    result = fluxio("approve", run_id, "publish", "--no-wait")
    assert result.exit_code == 0, result.output
    assert fluxio.status(run_id) == "waiting"  # delivered, not yet executed
    again = fluxio("signal", run_id, "unused", "--no-wait")
    assert again.exit_code == 0


def test_failed_run_exits_1_with_the_error(fluxio: Fluxio, flows: Path) -> None:
    result = fluxio("run", str(flows), "-w", "failing")
    assert result.exit_code == 1, result.output
    assert "the printer is on fire" in result.output
    assert "✗ boom" in result.output


def test_signal_delivers_a_payload_and_completes(fluxio: Fluxio, flows: Path) -> None:
    first = fluxio("run", str(flows), "-w", "signal_flow")
    assert first.exit_code == 3
    run_id = run_id_in(first.output)
    assert f"signal {run_id} go" in first.output
    result = fluxio("signal", run_id, "go", "--data", '{"n": 7}')
    assert result.exit_code == 0, result.output
    assert '{"n": 7}' in result.output


def test_short_timers_are_waited_out_and_long_ones_exit_3(fluxio: Fluxio, flows: Path) -> None:
    started = time.monotonic()
    result = fluxio("run", str(flows), "-w", "short_timer")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.4
    assert '"slept"' in result.output
    long = fluxio("run", str(flows), "-w", "long_timer")
    assert long.exit_code == 3, long.output
    assert "waiting for a timer" in long.output


def test_input_from_file(fluxio: Fluxio, flows: Path, tmp_path: Path) -> None:
    data = tmp_path / "input.json"
    data.write_text(json.dumps({"a": 40, "b": 2}))
    result = fluxio("run", str(flows), "-w", "approval_flow", "--input", f"@{data}")
    assert result.exit_code == 3, result.output
    run_id = run_id_in(result.output)
    assert [r[3] for r in fluxio.journal(run_id)] == ["add"]


def test_idempotency_key_finds_the_same_run(fluxio: Fluxio, flows: Path) -> None:
    args = ("run", str(flows), "-w", "signal_flow", "--idempotency-key", "order-1")
    first, second = fluxio(*args), fluxio(*args)
    assert run_id_in(first.output) == run_id_in(second.output)


def test_yaml_workflow_with_tools_runs_and_records_the_catalog(
    fluxio: Fluxio, refund_files: tuple[Path, Path]
) -> None:
    workflow, tools = refund_files
    small = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 7}')
    assert small.exit_code == 0, small.output
    assert '"refunded": 20.0' in small.output
    large = fluxio("run", str(workflow), "--tools", str(tools), "-i", '{"order_id": 700}')
    assert large.exit_code == 3, large.output
    run_id = run_id_in(large.output)
    assert f"approve {run_id} review" in large.output
    catalog = json.loads((fluxio.db.parent / "catalog.json").read_text())
    assert catalog["workflows"]["refund"] == {
        "file": str(workflow.resolve()),
        "tools": [str(tools.resolve())],
    }
    approved = fluxio("approve", run_id, "review")
    assert approved.exit_code == 0, approved.output
    assert '"refunded": 250.0' in approved.output


def test_default_database_is_dot_fluxio_in_the_working_directory(
    fluxio: Fluxio, flows: Path
) -> None:
    result = fluxio.runner.invoke(
        __import__("fluxio.cli.main", fromlist=["app"]).app,
        ["run", str(flows), "-w", "failing"],
        env={"FLUXIO_DATABASE_URL": None},
    )
    assert result.exit_code == 1
    assert (fluxio.cwd / ".fluxio" / "fluxio.db").is_file()
    assert (fluxio.cwd / ".fluxio" / "catalog.json").is_file()


def test_env_url_with_sqlite_scheme_is_used(fluxio: Fluxio, flows: Path) -> None:
    target = fluxio.cwd / "elsewhere.db"
    result = fluxio.runner.invoke(
        __import__("fluxio.cli.main", fromlist=["app"]).app,
        ["run", str(flows), "-w", "failing"],
        env={"FLUXIO_DATABASE_URL": f"sqlite:///{target}"},
    )
    assert result.exit_code == 1
    assert target.is_file()


def test_crash_during_side_effect_needs_attention_then_resolve(
    fluxio: Fluxio, flows: Path, spawn: Spawn
) -> None:
    proc = spawn(
        "run", str(flows), "-w", "payment", "-i", '{"amount": 5}', "--idempotency-key", "pay-1"
    )
    deadline = time.monotonic() + 60
    run_id = ""
    while time.monotonic() < deadline and not run_id and proc.poll() is None:
        if fluxio.db.exists():
            # The file can exist before the subprocess has created the schema.
            with (
                contextlib.suppress(sqlite3.OperationalError),
                contextlib.closing(sqlite3.connect(fluxio.db)) as conn,
            ):
                row = conn.execute(
                    "SELECT run_id FROM journal WHERE kind='intent' AND name='charge'"
                ).fetchone()
                run_id = row[0] if row else ""
        time.sleep(0.05)
    stdout, stderr = stop_process(proc, signal.SIGKILL)
    assert run_id, f"the charge step never started:\n{stdout}\n{stderr}"
    again = fluxio(
        "run", str(flows), "-w", "payment", "-i", '{"amount": 5}', "--idempotency-key", "pay-1"
    )
    assert again.exit_code == 4, again.output
    assert "may or may not have run" in again.output
    assert f"resolve {run_id} --retry" in again.output
    shown = fluxio("runs", "show", run_id).output
    assert "needs_attention" in shown
    assert "attention step 1:" in " ".join(shown.split())
    assert "intent" in shown
    resolved = fluxio("resolve", run_id, "--complete", '{"charged": 5}')
    assert resolved.exit_code == 0, resolved.output
    assert fluxio.status(run_id) == "completed"
    assert '{"charged": 5}' in resolved.output


def test_cancel_a_waiting_run(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    result = fluxio("cancel", run_id)
    assert result.exit_code == 0, result.output
    assert "cancelled" in result.output
    assert fluxio.status(run_id) == "cancelled"


def test_yaml_workflows_can_call_the_built_in_tools(fluxio: Fluxio) -> None:
    flow = fluxio.cwd / "cheap.yaml"
    flow.write_text(
        """
name: cheap-items
steps:
  - id: pick
    type: tool
    tool: transform_data
    inputs:
      data: input
      expression: {value: "items[?price < `10`].name"}
outputs:
  names: steps.pick.result
""",
        encoding="utf-8",
    )
    items = {"items": [{"name": "pen", "price": 2}, {"name": "lamp", "price": 40}]}
    result = fluxio("run", str(flow), "--input", json.dumps(items))
    assert result.exit_code == 0, result.output
    shown = fluxio("runs", "show", run_id_in(result.output))
    assert '"pen"' in shown.output
    assert '"lamp"' not in shown.output.split("outputs", 1)[-1]
