"""Every usage error prints one readable red paragraph on stderr and exits 2, no traceback."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from tests.cli.conftest import Fluxio, run_id_in


def assert_usage_error(result: object, *fragments: str) -> str:
    exit_code = getattr(result, "exit_code")  # noqa: B009
    stderr = getattr(result, "stderr")  # noqa: B009
    assert exit_code == 2, getattr(result, "output")  # noqa: B009
    assert "Traceback" not in getattr(result, "output")  # noqa: B009
    assert stderr.startswith("error: "), stderr
    text = " ".join(stderr.split())
    for fragment in fragments:
        assert fragment in text, text
    return text


def test_bad_input_json(fluxio: Fluxio, flows: Path) -> None:
    result = fluxio("run", str(flows), "-w", "failing", "--input", "{nope")
    assert_usage_error(result, "--input is not valid JSON", "line 1, column 2")


def test_input_file_missing(fluxio: Fluxio, flows: Path) -> None:
    result = fluxio("run", str(flows), "-w", "failing", "--input", "@missing.json")
    assert_usage_error(result, "cannot read missing.json")


def test_missing_definition_file(fluxio: Fluxio) -> None:
    assert_usage_error(fluxio("run", "nowhere.yaml"), "no such file: nowhere.yaml")


def test_unknown_file_kind(fluxio: Fluxio, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    assert_usage_error(fluxio("validate", str(notes)), "cannot load a .txt file")


def test_python_syntax_error_names_file_and_line(fluxio: Fluxio, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ndef broken(:\n")
    assert_usage_error(fluxio("run", str(bad)), f"{bad}:2: invalid Python")


def test_python_import_error_names_file_and_line(fluxio: Fluxio, tmp_path: Path) -> None:
    bad = tmp_path / "raises.py"
    bad.write_text("import os\n\nraise RuntimeError('no config')\n")
    assert_usage_error(
        fluxio("validate", str(bad)), f"{bad}:3: importing it raised RuntimeError: no config"
    )


def test_yaml_definition_error_names_file_and_line(fluxio: Fluxio, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - id: a\n    type: tool\n    tool: nope\n")
    assert_usage_error(fluxio("run", str(bad)), f"{bad}:5:", "nope")


def test_several_workflows_need_a_choice(fluxio: Fluxio, flows: Path) -> None:
    assert_usage_error(fluxio("run", str(flows)), "choose one with --workflow NAME")
    assert_usage_error(fluxio("run", str(flows), "-w", "nope"), "no workflow named 'nope'")


def test_unknown_run(fluxio: Fluxio, flows: Path) -> None:
    fluxio("run", str(flows), "-w", "failing")
    assert_usage_error(fluxio("runs", "show", "r-nope"), "no run 'r-nope'")
    assert_usage_error(fluxio("approve", "r-nope", "x"), "no run 'r-nope'")
    assert_usage_error(fluxio("cancel", "r-nope"), "no run 'r-nope'")


def test_missing_database(fluxio: Fluxio) -> None:
    assert_usage_error(fluxio("runs", "show", "r-1"), "there is no fluxio database at")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://u:secret@127.0.0.1:1/fluxio", "cannot connect to PostgreSQL at"),
        ("mysql://db/x", "unknown database scheme 'mysql'"),
        ("sqlite://relative.db", "is not a SQLite URL"),
    ],
)
def test_unsupported_database_urls(fluxio: Fluxio, url: str, fragment: str) -> None:
    result = fluxio.runner.invoke(
        __import__("fluxio.cli.main", fromlist=["app"]).app, ["--db", url, "runs", "list"]
    )
    text = assert_usage_error(result, fragment)
    assert "secret" not in text


def test_foreign_sqlite_file(fluxio: Fluxio, tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
        conn.commit()
    result = fluxio.runner.invoke(
        __import__("fluxio.cli.main", fromlist=["app"]).app,
        ["--db", str(foreign), "runs", "list"],
    )
    assert_usage_error(result, "not a fluxio one")
    status = fluxio.runner.invoke(
        __import__("fluxio.cli.main", fromlist=["app"]).app, ["--db", str(foreign), "db", "status"]
    )
    assert_usage_error(status, "not a fluxio database")


def test_approve_the_wrong_step_suggests_the_right_one(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(
        fluxio("run", str(flows), "-w", "approval_flow", "-i", '{"a":1,"b":1}').output
    )
    assert_usage_error(
        fluxio("approve", run_id, "publsh"),
        "waits for approval of 'publish', not 'publsh'",
        f"approve {run_id} publish",
    )


def test_approve_a_run_waiting_for_a_signal(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    assert_usage_error(fluxio("approve", run_id, "go"), "waiting for signal 'go'")


def test_continuing_a_run_whose_workflow_is_not_catalogued(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    (fluxio.db.parent / "catalog.json").unlink()
    assert_usage_error(fluxio("signal", run_id, "go"), "is not in the catalog", "--no-wait")
    assert fluxio("signal", run_id, "go", "--no-wait").exit_code == 0


def test_corrupt_catalog(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    (fluxio.db.parent / "catalog.json").write_text("{not json")
    assert_usage_error(fluxio("signal", run_id, "go"), "catalog", "is unreadable", "delete it")


def test_resolve_needs_exactly_one_action(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "signal_flow").output)
    assert_usage_error(fluxio("resolve", run_id), "exactly one of --retry")
    assert_usage_error(
        fluxio("resolve", run_id, "--retry", "--fail", "x"), "got --retry and --fail"
    )
    assert_usage_error(fluxio("resolve", run_id, "--retry"), "not needs_attention")
    assert_usage_error(fluxio("resolve", run_id, "--complete", "{bad"), "--complete is not valid")


def test_acting_on_a_finished_run(fluxio: Fluxio, flows: Path) -> None:
    run_id = run_id_in(fluxio("run", str(flows), "-w", "failing").output)
    assert_usage_error(fluxio("cancel", run_id), "already failed")
    assert_usage_error(fluxio("signal", run_id, "go"), "already failed")
    assert_usage_error(fluxio("approve", run_id, "x"), "already failed")


def test_bad_status_filter(fluxio: Fluxio, flows: Path) -> None:
    fluxio("run", str(flows), "-w", "failing")
    assert_usage_error(fluxio("runs", "list", "--status", "done"), "not a run status")


def test_graph_of_plain_run_code(fluxio: Fluxio, flows: Path) -> None:
    assert_usage_error(fluxio("graph", str(flows), "-w", "failing"), "plain run code")


def test_tools_must_be_python(fluxio: Fluxio, refund_files: tuple[Path, Path]) -> None:
    workflow, _ = refund_files
    assert_usage_error(fluxio("run", str(workflow), "--tools", str(workflow)), "give .py files")


def test_bad_tools_value(fluxio: Fluxio, tmp_path: Path, refund_files: tuple[Path, Path]) -> None:
    workflow, _ = refund_files
    tools = tmp_path / "tools.py"
    tools.write_text("TOOLS = ['lookup']\n")
    assert_usage_error(
        fluxio("run", str(workflow), "--tools", str(tools)), "TOOLS is a list", "ToolRegistry"
    )
