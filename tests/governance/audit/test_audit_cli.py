"""``fluxio audit list|export|verify|checkpoint|keygen|erase`` through the real CLI app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from fluxio.cli.main import app
from fluxio.governance.audit import Actor, AuditEvent, SQLiteAuditLog


@dataclass
class Audit:
    """Runs ``fluxio --db <tmp db> audit ...`` in-process."""

    db: Path

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(
            app,
            ["--db", str(self.db), "audit", *args],
            env={"COLUMNS": "200", "FLUXIO_DATABASE_URL": None, "FLUXIO_AUDIT_KEY": None},
        )

    @property
    def key(self) -> Path:
        return self.db.parent / "audit_key.pem"

    @property
    def public_key(self) -> Path:
        return self.db.parent / "audit_key.pub.pem"

    def record(self, *events: AuditEvent) -> None:
        async def append() -> None:
            async with SQLiteAuditLog(self.db) as log:
                for event in events:
                    await log.append(event)

        asyncio.run(append())

    def sql(self, statement: str) -> None:
        with contextlib.closing(sqlite3.connect(self.db)) as conn, conn:
            conn.execute(statement)


@pytest.fixture
def audit(tmp_path: Path) -> Audit:
    return Audit(tmp_path / "state" / "fluxio.db")


@pytest.fixture
def recorded(audit: Audit) -> Audit:
    alice, bot = Actor("alice", "user"), Actor("triage", "agent")
    audit.record(
        AuditEvent("default", alice, "tool.called", target="tool:send", payload={"to": "bob"}),
        AuditEvent("default", bot, "policy.decision", target="tool:rm", result="denied"),
        AuditEvent("default", bot, "model.called", target="model:fake", duration_ms=42.0),
        AuditEvent("other", alice, "tool.called", target="tool:other"),
    )
    return audit


def usage_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in " ".join(result.stderr.split())


def test_list_shows_the_tenants_entries_newest_first(recorded: Audit) -> None:
    result = recorded("list")
    assert result.exit_code == 0, result.output
    assert "tool:other" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if "tool:" in line or "model:" in line]
    assert ["model.called" in rows[0], "policy.decision" in rows[1], "tool.called" in rows[2]] == [
        True,
        True,
        True,
    ]
    assert "denied" in rows[1]


def test_list_filters_and_prints_json(recorded: Audit) -> None:
    result = recorded("list", "--action", "tool.*", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["seq"], e["target"]) for e in lines] == [(1, "tool:send")]
    denied = recorded("list", "--result", "denied", "--actor", "triage", "--since", "1h")
    assert "tool:rm" in denied.stdout
    assert "tool:send" not in denied.stdout
    assert "no audit entries match" in recorded("list", "--until", "2000-01-01").stdout


def test_list_without_a_database_says_so(audit: Audit) -> None:
    result = audit("list")
    assert result.exit_code == 0
    assert "no audit entries yet" in result.stdout


def test_list_refuses_bad_filters(recorded: Audit) -> None:
    usage_error(recorded("list", "--result", "meh"), "--result 'meh' is not one of success")
    usage_error(recorded("list", "--since", "yesterday"), "neither an ISO time")


def test_keygen_checkpoint_export_and_offline_verify(recorded: Audit, tmp_path: Path) -> None:
    assert recorded("keygen").exit_code == 0
    usage_error(recorded("keygen"), "already exists")
    signed = recorded("checkpoint")
    assert "signed seq 3 of tenant default" in signed.stdout
    bundle = tmp_path / "audit.jsonl"
    exported = recorded("export", str(bundle))
    assert "wrote 3 entries and 1 checkpoints" in exported.stdout
    result = recorded("verify", "--bundle", str(bundle), "--public-key", str(recorded.public_key))
    assert result.exit_code == 0, result.output
    assert "OK tenant default: 3 entries, hash chain intact, signed through seq 3" in result.stdout


def test_offline_verify_reports_the_first_bad_seq_and_exits_1(
    recorded: Audit, tmp_path: Path
) -> None:
    recorded("keygen")
    bundle = tmp_path / "audit.jsonl"
    recorded("export", str(bundle))
    bundle.write_text(bundle.read_text().replace("tool:rm", "tool:ls"))
    result = recorded("verify", "--bundle", str(bundle), "--public-key", str(recorded.public_key))
    assert result.exit_code == 1
    assert "FAILED tenant default: first bad seq 2 (hash_mismatch)" in result.stdout


def test_offline_verify_of_a_damaged_file_exits_1(recorded: Audit, tmp_path: Path) -> None:
    recorded("keygen")
    bundle = tmp_path / "audit.jsonl"
    recorded("export", str(bundle))
    bundle.write_text(bundle.read_text()[:-20])
    result = recorded("verify", "--bundle", str(bundle), "--public-key", str(recorded.public_key))
    assert result.exit_code == 1
    assert "the bundle is damaged" in result.stdout


def test_offline_verify_needs_the_bundle_and_the_public_key(
    recorded: Audit, tmp_path: Path
) -> None:
    usage_error(recorded("verify", "--bundle", str(tmp_path / "b.jsonl")), "needs the signer's")
    recorded("keygen")
    usage_error(
        recorded("verify", "--bundle", "nope.jsonl", "--public-key", str(recorded.public_key)),
        "no bundle at nope.jsonl",
    )


def test_verify_against_the_database_catches_an_edited_row(recorded: Audit) -> None:
    assert recorded("verify").exit_code == 0
    recorded.sql(
        "UPDATE audit_entries SET result = 'success' WHERE tenant_id = 'default' AND seq = 2"
    )
    result = recorded("verify")
    assert result.exit_code == 1
    assert "first bad seq 2 (hash_mismatch)" in result.stdout


def test_verify_with_the_key_catches_a_truncated_database(recorded: Audit) -> None:
    recorded("keygen")
    recorded("checkpoint")
    recorded.sql("DELETE FROM audit_entries WHERE tenant_id = 'default' AND seq = 3")
    result = recorded("verify")
    assert result.exit_code == 1
    assert "first bad seq 3 (truncated)" in result.stdout


def test_erase_keeps_the_chain_verifiable(recorded: Audit) -> None:
    erased = recorded("erase", "1", "--reason", "GDPR request 17", "--by", "dpo")
    assert "erased the payload of entry 1; recorded as entry 4" in erased.stdout
    result = recorded("verify")
    assert result.exit_code == 0, result.output
    assert "payload erased (allowed): seq 1" in result.stdout
    assert "checkpoints not checked: no public key" in result.stdout
    assert "entries 1..4 are not covered by a signed checkpoint yet" in result.stdout
    usage_error(recorded("erase", "1", "--reason", "again"), "already erased")
    usage_error(recorded("erase", "99", "--reason", "x"), "no audit entry 99")


def test_commands_that_need_a_database_or_key_say_so(audit: Audit, tmp_path: Path) -> None:
    usage_error(audit("verify"), "no database at")
    usage_error(audit("export", str(tmp_path / "b.jsonl")), "no database at")
    audit.record(AuditEvent("default", Actor("a"), "tool.called"))
    usage_error(audit("checkpoint"), "no audit signing key")
    usage_error(audit("checkpoint", "--key", str(tmp_path / "none.pem")), "cannot read")


def test_verify_against_the_database_catches_a_deleted_tail_even_without_a_key(
    recorded: Audit,
) -> None:
    recorded.sql("DELETE FROM audit_entries WHERE tenant_id = 'default' AND seq = 3")
    result = recorded("verify")
    assert result.exit_code == 1
    assert "first bad seq 3 (truncated)" in result.stdout
    assert "the log's head records seq 3" in result.stdout
