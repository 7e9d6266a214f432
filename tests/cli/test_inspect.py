"""``runs list``, ``runs show``, ``validate``, ``graph`` and ``db``: what the user reads."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Fluxio, run_id_in

DSL_FLOW = """
from fluxio.dsl import Approval, Workflow, step, workflow


@step
def double(n: int) -> int:
    return n * 2


@step
def label(n: int) -> str:
    return f"n={n}"


numbers = Workflow("numbers", double >> Approval("check") >> label, description="Doubles.")


@workflow
async def plain(ctx, input: int) -> int:
    return input
"""

DSL_MISMATCH = """
from fluxio.dsl import Workflow, step


@step
def text(n: int) -> str:
    return str(n)


@step
def half(n: int) -> float:
    return n / 2


broken = Workflow("broken", text >> half)
"""


def test_runs_list_shows_runs_with_filters(fluxio: Fluxio, flows: Path) -> None:
    waiting = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":1,"b":1}').output
    )
    failed = run_id_in(fluxio("run", str(flows), "-w", "failing").output)
    listing = fluxio("runs", "list")
    assert listing.exit_code == 0, listing.output
    assert waiting in listing.output
    assert failed in listing.output
    assert "approval of publish" in listing.output
    assert "the printer is on fire" in listing.output
    only_failed = fluxio("runs", "list", "--status", "failed").output
    assert failed in only_failed
    assert waiting not in only_failed
    by_workflow = fluxio("runs", "list", "--workflow", "approval_flow").output
    assert waiting in by_workflow
    assert failed not in by_workflow
    limited = fluxio("runs", "list", "--limit", "1").output
    assert failed in limited
    assert waiting not in limited
    assert "no runs match" in fluxio("runs", "list", "--status", "cancelled").output


def test_runs_list_without_a_database(fluxio: Fluxio) -> None:
    result = fluxio("runs", "list")
    assert result.exit_code == 0
    assert "no runs yet" in result.output
    assert not fluxio.db.exists()


def test_runs_show_prints_the_journal_timeline(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":4,"b":5}').output
    )
    shown = fluxio("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "waiting" in shown.output
    assert "approval of publish" in shown.output
    row = next(line for line in shown.output.splitlines() if " add " in line)
    assert "outcome" in row
    assert "ok" in row
    assert " 1 " in row
    assert "ms" in row
    assert "9" in row
    failed = run_id_in(fluxio("run", str(flows), "-w", "failing").output)
    shown = fluxio("runs", "show", failed).output
    assert "error" in shown
    assert "ValueError: the printer is on fire" in shown


def test_validate_and_graph_a_yaml_workflow(
    fluxio: Fluxio, refund_files: tuple[Path, Path]
) -> None:
    workflow, tools = refund_files
    valid = fluxio("validate", str(workflow), "--tools", str(tools))
    assert valid.exit_code == 0, valid.output
    assert "✓ refund: valid" in valid.output
    assert "lookup" in valid.output
    drawn = fluxio("graph", str(workflow), "--tools", str(tools))
    assert drawn.exit_code == 0, drawn.output
    assert drawn.output.startswith("flowchart")
    assert "review" in drawn.output
    assert "refund" in drawn.output


def test_validate_and_graph_dsl_workflows(fluxio: Fluxio, tmp_path: Path) -> None:
    module = tmp_path / "dsl_flow.py"
    module.write_text(DSL_FLOW)
    valid = fluxio("validate", str(module))
    assert valid.exit_code == 0, valid.output
    assert "✓ numbers: valid" in valid.output
    assert "✓ plain: valid" in valid.output
    drawn = fluxio("graph", str(module), "-w", "numbers")
    assert drawn.exit_code == 0, drawn.output
    assert "flowchart" in drawn.output
    assert "check" in drawn.output


def test_validate_reports_dsl_type_mismatch(fluxio: Fluxio, tmp_path: Path) -> None:
    module = tmp_path / "mismatch.py"
    module.write_text(DSL_MISMATCH)
    result = fluxio("validate", str(module))
    assert result.exit_code == 2
    assert "broken" in result.stderr
    assert "Traceback" not in result.output


def test_dsl_workflow_runs_and_is_approved(fluxio: Fluxio, tmp_path: Path) -> None:
    module = tmp_path / "dsl_flow.py"
    module.write_text(DSL_FLOW)
    first = fluxio("run", str(module), "-w", "numbers", "-i", "21")
    assert first.exit_code == 3, first.output
    run_id = run_id_in(first.output)
    assert f"approve {run_id} check" in first.output
    done = fluxio("approve", run_id, "check", "--edit", "50")
    assert done.exit_code == 0, done.output
    assert '"n=50"' in done.output


def test_db_status_and_upgrade(fluxio: Fluxio, flows: Path) -> None:
    missing = fluxio("db", "status")
    assert missing.exit_code == 0
    assert "no database" in missing.output
    created = fluxio("db", "upgrade")
    assert created.exit_code == 0, created.output
    assert "schema version 0 →" in created.output
    fluxio("run", str(flows), "-w", "failing")
    status = fluxio("db", "status")
    assert status.exit_code == 0, status.output
    assert "schema version" in status.output
    assert "failed 1" in status.output
    assert "up to date" in fluxio("db", "upgrade").output


def test_tenant_scopes_every_command(fluxio: Fluxio, flows: Path) -> None:
    first = fluxio("--tenant", "acme", "run", str(flows), "-w", "signal_flow")
    assert first.exit_code == 3, first.output
    run_id = run_id_in(first.output)
    assert f"--tenant acme signal {run_id} go" in first.output
    assert run_id not in fluxio("runs", "list").output
    assert run_id in fluxio("--tenant", "acme", "runs", "list").output
    assert fluxio("signal", run_id, "go").exit_code == 2  # not visible in tenant default
    done = fluxio("--tenant", "acme", "signal", run_id, "go", "--data", "1")
    assert done.exit_code == 0, done.output


def test_a_run_held_by_a_live_lease_is_shown_as_running() -> None:
    import dataclasses
    import time

    from fluxio.cli.output import shown_status
    from fluxio.store.records import Run, RunStatus

    idle = Run("r", "default", "wf", None, RunStatus.PENDING, 0.0, 0.0)
    held = dataclasses.replace(idle, lease_owner="w", lease_expires_at=time.time() + 30)
    expired = dataclasses.replace(held, lease_expires_at=time.time() - 1)
    done = dataclasses.replace(held, status=RunStatus.COMPLETED)
    assert shown_status(idle) is RunStatus.PENDING
    assert shown_status(held) is RunStatus.RUNNING
    assert shown_status(expired) is RunStatus.PENDING
    assert shown_status(done) is RunStatus.COMPLETED
