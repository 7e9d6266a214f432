"""``fluxio approvals list|show|approve|reject`` on a real SQLite database, through CliRunner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import pytest
import typer
from tests.governance.approvals.support import REFUNDED, Desk
from typer.testing import CliRunner, Result

from fluxio.cli.commands import approvals
from fluxio.cli.settings import Settings
from fluxio.engine.clock import SystemClock
from fluxio.governance import SQLiteApprovalStore, SQLiteAuditLog
from fluxio.governance.audit import AuditQuery
from fluxio.store.sqlite import SQLiteStore

cli = typer.Typer()


@cli.callback()
def options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db")] = None,
    tenant: Annotated[str, typer.Option("--tenant")] = "default",
) -> None:
    ctx.obj = Settings(db=db, tenant=tenant)


cli.add_typer(approvals.app, name="approvals")


class Database:
    """A SQLite file with a refund run held for approval, and the CLI pointed at it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.approval_id = asyncio.run(self._hold())

    async def _hold(self) -> str:
        store = SQLiteStore(self.path, durability="normal")
        audit = SQLiteAuditLog(self.path)
        desk = Desk(store, SQLiteApprovalStore(self.path), clock=SystemClock(), audit=audit)
        approval_id = await desk.held(250.0, order="A-9")
        await audit.close()
        await store.close()
        return approval_id

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(
            cli, ["--db", str(self.path), "approvals", *args], env={"COLUMNS": "200"}
        )

    def finish(self) -> str:
        """Continue the woken run in a fresh process (engine) and return its result."""

        async def run() -> str:
            store = SQLiteStore(self.path, durability="normal")
            desk = Desk(store, SQLiteApprovalStore(self.path), clock=SystemClock())
            request = await desk.approvals.get("default", self.approval_id)
            result: str = await desk.engine.result(request.run_id)
            await store.close()
            return result

        return asyncio.run(run())


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "fluxio.db")


def test_list_shows_the_pending_request_and_show_its_details(db: Database) -> None:
    listed = db("list")
    assert listed.exit_code == 0, listed.output
    assert db.approval_id in listed.output
    assert "tool:refund" in listed.output
    assert "any of role:finance" in listed.output

    shown = db("show", db.approval_id)
    assert shown.exit_code == 0, shown.output
    assert '"amount": 250.0' in shown.output
    assert "refunds-need-approval" in shown.output

    as_json = db("list", "--status", "all", "--json")
    assert json.loads(as_json.output.splitlines()[0])["approval_id"] == db.approval_id
    assert "no approved approval requests" in db("list", "--status", "approved").output


def test_approve_with_an_edit_wakes_the_run_that_then_refunds_the_edited_amount(
    db: Database,
) -> None:
    edit = json.dumps({"order": "A-9", "amount": 80.0})
    approved = db("approve", db.approval_id, "--by", "alice", "--role", "finance",
                  "--note", "partial", "--edit", edit)  # fmt: skip
    assert approved.exit_code == 0, approved.output
    assert "approved by alice" in approved.output
    assert db.finish() == "refunded 80 on A-9"
    assert REFUNDED == [("A-9", 80.0)]

    again = db("reject", db.approval_id, "--by", "bob", "--role", "finance")
    assert again.exit_code == 2
    assert "already approved" in again.output

    async def decided() -> list[str]:
        async with SQLiteAuditLog(db.path) as log:
            found = await log.entries("default", AuditQuery(action="approval.*"))
            return [f"{e.action} {e.actor.id}" for e in found]

    assert asyncio.run(decided()) == [
        "approval.requested refund",
        "approval.decided alice",
        "approval.refused bob",
    ]


def test_reject_fails_the_step_and_bad_deciders_get_one_clear_line(db: Database) -> None:
    outsider = db("approve", db.approval_id, "--by", "eve", "--role", "intern")
    assert outsider.exit_code == 2
    assert "'eve' (roles: intern) is not an approver" in outsider.output
    assert "Traceback" not in outsider.output

    bad_edit = db("approve", db.approval_id, "--by", "alice", "--role", "finance", "--edit", "[1]")
    assert bad_edit.exit_code == 2
    assert "--edit must be a JSON object" in bad_edit.output

    rejected = db("reject", db.approval_id, "--by", "bob", "--role", "finance", "--note", "no")
    assert rejected.exit_code == 0, rejected.output
    assert db.finish().startswith("not refunded")
    assert REFUNDED == []


def test_unknown_ids_statuses_and_databases_are_refused_cleanly(
    db: Database, tmp_path: Path
) -> None:
    unknown = db("show", "apr_nope")
    assert unknown.exit_code == 2
    assert "no approval 'apr_nope'" in unknown.output
    status = db("list", "--status", "maybe")
    assert status.exit_code == 2
    assert "--status must be one of" in status.output
    missing = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "approvals", "list"])
    assert missing.exit_code == 0
    assert "no approval requests yet" in missing.output
    decide = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "none.db"), "approvals", "approve", "apr_x"]
    )
    assert decide.exit_code == 2
    assert "there is no fluxio database" in decide.output
