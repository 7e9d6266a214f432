"""Every AuditLog (memory, SQLite, PostgreSQL) keeps the same promises."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.governance.audit.conftest import MakeLog

from fluxio.errors import NotFound, UsageError
from fluxio.governance.audit import (
    GENESIS,
    Actor,
    AuditEvent,
    AuditQuery,
    Head,
    SQLiteAuditLog,
    digest,
    entry_hash,
    signature_valid,
    verify_log,
)
from fluxio.governance.audit.sql import INSERT_ENTRY, entry_row
from fluxio.store.migrations import LATEST, MIGRATIONS
from fluxio.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

ALICE = Actor("alice", "user")
BOT = Actor("triage", "agent")


def event(tenant: str = "acme", action: str = "tool.called", **fields: Any) -> AuditEvent:
    return AuditEvent(tenant, fields.pop("actor", ALICE), action, **fields)


async def test_append_assigns_gapless_seq_and_links_each_entry_to_the_previous(
    make_log: MakeLog,
) -> None:
    log = make_log()
    first = await log.append(event(target="tool:a", inputs_digest=digest({"x": 1})))
    second = await log.append(event(target="tool:b"))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert entry_hash(second) == second.hash
    assert await log.head("acme") == Head(2, second.hash)
    assert await log.get("acme", 1) == first


async def test_tenants_have_independent_chains(make_log: MakeLog) -> None:
    log = make_log()
    await log.append(event("acme"))
    other = await log.append(event("globex"))
    assert other.seq == 1
    assert other.prev_hash == GENESIS
    assert await log.head("initech") == Head()
    assert [e.tenant_id for e in await log.entries("globex")] == ["globex"]


async def test_fifty_concurrent_appenders_make_one_unbroken_chain(
    make_log: MakeLog, key: Ed25519PrivateKey
) -> None:
    log = make_log(signing_key=key, checkpoint_every=10)
    entries = await asyncio.gather(*(log.append(event(target=f"t{i}")) for i in range(50)))
    assert sorted(e.seq for e in entries) == list(range(1, 51))
    report = await verify_log(log, "acme", key.public_key())
    assert report.ok, report
    assert (report.entries, report.signed_through) == (50, 50)


async def test_two_logs_on_one_database_never_fork_the_chain(
    make_log: MakeLog, key: Ed25519PrivateKey
) -> None:
    first, second = make_log(), make_log()
    if type(first).__name__ == "MemoryAuditLog":
        second = first  # two memory logs share nothing: the same object stands in
    await asyncio.gather(
        *(log.append(event(target=f"t{i}")) for i in range(20) for log in (first, second))
    )
    report = await verify_log(first, "acme")
    assert report.ok, report
    assert report.entries == 40


async def test_payload_round_trips_exactly_and_its_digest_is_recorded(make_log: MakeLog) -> None:
    log = make_log()
    payload = {"f": 0.1, "big": 1e21, "n": 10**20, "s": "é\u2028\x00", "l": [1.5, None, True]}
    stored = await log.append(event(payload=payload))
    read = await log.get("acme", stored.seq)
    assert read is not None
    assert read.payload == payload
    assert read.payload_digest == digest(payload)
    assert (await verify_log(log, "acme")).ok


async def test_redaction_applies_before_the_payload_is_digested_and_stored(
    make_log: MakeLog,
) -> None:
    def redact(payload: Any) -> Any:
        return {k: "[email]" if k == "email" else v for k, v in payload.items()}

    log = make_log(redact=redact)
    stored = await log.append(event(payload={"email": "bob@example.com", "n": 1}))
    read = await log.get("acme", stored.seq)
    assert read is not None
    assert read.payload == {"email": "[email]", "n": 1}
    assert read.payload_digest == digest({"email": "[email]", "n": 1})


async def test_filters_select_by_actor_action_target_result_run_and_time(
    make_log: MakeLog, clock: Callable[[], float]
) -> None:
    log = make_log(clock=clock)
    await log.append(event(target="tool:a", run_id="r1"))  # t=1000
    await log.append(event(actor=BOT, action="model.called", result="failure"))  # 1001
    await log.append(event(action="policy.decision", result="denied", target="tool:b"))  # 1002
    await log.append(event(actor=BOT, action="tool.failed", run_id="r1"))  # 1003

    async def seqs(**filters: Any) -> list[int]:
        return [e.seq for e in await log.entries("acme", AuditQuery(**filters))]

    assert await seqs(actor_id="triage") == [2, 4]
    assert await seqs(actor_type="user") == [1, 3]
    assert await seqs(action="tool.*") == [1, 4]
    assert await seqs(action="model.called") == [2]
    assert await seqs(target="tool:b") == [3]
    assert await seqs(result="denied") == [3]
    assert await seqs(run_id="r1") == [1, 4]
    assert await seqs(since=1001, until=1003) == [2, 3]
    assert await seqs(after_seq=2) == [3, 4]
    assert await seqs(limit=2, newest_first=True) == [4, 3]


async def test_action_prefix_treats_underscore_and_percent_literally(make_log: MakeLog) -> None:
    log = make_log()
    await log.append(event(action="tool_a.run"))
    await log.append(event(action="toolxa.run"))
    found = await log.entries("acme", AuditQuery(action="tool_a.*"))
    assert [e.action for e in found] == ["tool_a.run"]
    assert await log.entries("acme", AuditQuery(action="%.*")) == []


async def test_erasing_a_payload_keeps_the_chain_valid_and_is_itself_recorded(
    make_log: MakeLog,
) -> None:
    log = make_log()
    await log.append(event(payload={"email": "bob@example.com"}))
    record = await log.erase_payload("acme", 1, actor=Actor("dpo", "user"), reason="GDPR art. 17")
    erased = await log.get("acme", 1)
    assert erased is not None
    assert erased.payload is None
    assert erased.payload_erased
    assert (record.seq, record.action, record.target) == (2, "audit.payload_erased", "audit:1")
    report = await verify_log(log, "acme")
    assert report.ok, report
    assert report.erased == (1,)


async def test_erase_refuses_missing_entries_entries_without_payload_and_repeats(
    make_log: MakeLog,
) -> None:
    log = make_log()
    await log.append(event(payload={"a": 1}))
    await log.append(event())
    with pytest.raises(NotFound, match="no audit entry 9"):
        await log.erase_payload("acme", 9, actor=ALICE, reason="x")
    with pytest.raises(UsageError, match="entry 2 has no payload"):
        await log.erase_payload("acme", 2, actor=ALICE, reason="x")
    await log.erase_payload("acme", 1, actor=ALICE, reason="x")
    with pytest.raises(UsageError, match="already erased"):
        await log.erase_payload("acme", 1, actor=ALICE, reason="x")
    assert (await log.head("acme")).seq == 3  # refused erasures appended nothing


async def test_periodic_checkpoints_are_signed_every_n_entries(
    make_log: MakeLog, key: Ed25519PrivateKey
) -> None:
    log = make_log(signing_key=key, checkpoint_every=3)
    entries = [await log.append(event()) for _ in range(7)]
    checkpoints = await log.checkpoints("acme")
    assert [c.seq for c in checkpoints] == [3, 6]
    assert checkpoints[1].hash == entries[5].hash
    assert all(signature_valid(c, key.public_key()) for c in checkpoints)


async def test_checkpoint_signs_the_head_once(make_log: MakeLog, key: Ed25519PrivateKey) -> None:
    log = make_log(signing_key=key)
    head = await log.append(event())
    first = await log.checkpoint("acme")
    assert (first.seq, first.hash) == (1, head.hash)
    assert await log.checkpoint("acme") == first
    assert await log.checkpoints("acme") == [first]


async def test_checkpoint_refuses_without_a_key_and_on_an_empty_chain(
    make_log: MakeLog, key: Ed25519PrivateKey
) -> None:
    with pytest.raises(UsageError, match="no signing key"):
        await make_log().checkpoint("acme")
    with pytest.raises(UsageError, match="no audit entries yet"):
        await make_log(signing_key=key).checkpoint("acme")


async def test_a_payload_that_is_not_json_is_refused_and_others_still_append(
    make_log: MakeLog,
) -> None:
    log = make_log()
    results = await asyncio.gather(
        log.append(event(payload={"when": object()})),
        log.append(event(payload={"ok": True})),
        return_exceptions=True,
    )
    assert isinstance(results[0], UsageError)
    assert "not JSON" in str(results[0])
    assert [e.seq for e in await log.entries("acme")] == [1]
    assert (await verify_log(log, "acme")).ok


def test_log_options_are_checked(key: Ed25519PrivateKey) -> None:
    from fluxio.governance.audit import MemoryAuditLog

    with pytest.raises(UsageError, match="checkpoint_every needs a signing_key"):
        MemoryAuditLog(checkpoint_every=10)
    with pytest.raises(UsageError, match="at least 1"):
        MemoryAuditLog(signing_key=key, checkpoint_every=0)
    with pytest.raises(UsageError, match="limit must be at least 1"):
        AuditQuery(limit=0)


async def test_a_schema_7_database_keeps_its_audit_chain_through_the_upgrade(
    tmp_path: Path,
) -> None:
    """Migration 8 rebuilds the SQLite audit table (WITHOUT ROWID); nothing is lost or changed."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE fluxio_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for migration in MIGRATIONS[:7]:
        conn.executescript(migration.sqlite)
    conn.execute("INSERT INTO fluxio_meta VALUES ('schema_version', '7')")
    conn.commit()
    conn.close()
    old = SQLiteAuditLog(path, durability="normal")
    old_conn = sqlite3.connect(path)
    appended = []
    for i in range(3):  # written the way a schema-7 fluxio wrote them: same columns
        entry = old.sealer.seal(event(target=f"tool:{i}"), await _head_of(old_conn))
        old_conn.execute(INSERT_ENTRY, entry_row(entry))
        old_conn.execute(
            "INSERT INTO audit_heads VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE "
            "SET seq = excluded.seq, hash = excluded.hash",
            (entry.tenant_id, entry.seq, entry.hash),
        )
        old_conn.commit()
        appended.append(entry)
    old_conn.close()

    store = SQLiteStore(path)
    assert store.schema_version() == LATEST
    await store.close()
    log = SQLiteAuditLog(path)
    try:
        assert await log.entries("acme") == appended
        assert (await verify_log(log, "acme")).ok
        assert (await log.append(event())).seq == 4
    finally:
        await log.close()
    ddl = (
        sqlite3.connect(path)
        .execute("SELECT sql FROM sqlite_master WHERE name = 'audit_entries'")
        .fetchone()[0]
    )
    assert "WITHOUT ROWID" in ddl


async def _head_of(conn: sqlite3.Connection) -> Head:
    row = conn.execute("SELECT seq, hash FROM audit_heads WHERE tenant_id = 'acme'").fetchone()
    return Head(*row) if row else Head()


async def test_entries_of_several_steps_share_one_store_commit(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    """The batch the governance trail queues: two tenants, checkpoints due mid-batch."""
    path = tmp_path / "fluxio.db"
    store = SQLiteStore(path, durability="normal")
    log = SQLiteAuditLog(path, signing_key=key, checkpoint_every=2, durability="normal")
    await log.append(event("acme"))  # acme's head exists; globex's does not yet
    batch = [event("acme", target=f"tool:{i}") for i in range(3)] + [event("globex")] * 2
    assert await store.write_with_next_commit(log.append_all_op(batch)) == 5
    acme, globex = await log.entries("acme"), await log.entries("globex")
    assert [e.seq for e in acme] == [1, 2, 3, 4]
    assert [e.target for e in acme[1:]] == ["tool:0", "tool:1", "tool:2"]
    assert await log.head("acme") == Head(4, acme[-1].hash)
    assert await log.head("globex") == Head(2, globex[-1].hash)
    assert [c.seq for c in await log.checkpoints("acme")] == [2, 4]
    assert [c.seq for c in await log.checkpoints("globex")] == [2]
    for tenant in ("acme", "globex"):
        assert (await verify_log(log, tenant, key.public_key())).ok
    await log.close()
    await store.close()
