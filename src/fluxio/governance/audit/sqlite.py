"""The audit log in fluxio's SQLite database file.

``SQLiteAuditLog`` opens its own connection to the database file fluxio uses (WAL mode), so
it can live beside a running ``SQLiteStore``. Every append runs in a ``BEGIN IMMEDIATE``
transaction: it holds the database's write lock from reading the tenant's head to storing the
new entry, so appenders in any number of tasks or processes never fork a chain. Appends
requested in the same event-loop turn share one transaction (group commit), each in its own
savepoint.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxio.errors import DatabaseLocked, StoreError, UsageError
from fluxio.governance.audit.chain import Head, Sealed, sealed_entry, sealing
from fluxio.governance.audit.entry import Actor, AuditEntry, AuditEvent
from fluxio.governance.audit.log import AuditQuery, Redact, Sealer, erasable, erasure_event
from fluxio.governance.audit.signing import Checkpoint
from fluxio.governance.audit.sql import (
    ERASE_PAYLOAD,
    GET_CHECKPOINT,
    GET_ENTRY,
    GET_HEAD,
    INSERT_CHECKPOINT,
    INSERT_ENTRY,
    LIST_CHECKPOINTS,
    SELECT_ENTRIES,
    checkpoint_row,
    entry_from_row,
    order_and_limit,
    sealed_row,
    where,
)
from fluxio.store.sqlite import Durability, SQLiteStore

__all__ = ["SQLiteAuditLog"]

Op = Callable[[sqlite3.Cursor], Any]
_INSERT_HEAD = "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, ?, ?)"
_UPDATE_HEAD = "UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?"


class SQLiteAuditLog:
    """A durable audit log in fluxio's SQLite database file.

    Args:
        path: the database file (created and migrated like ``SQLiteStore`` does).
        durability: ``full`` (fsync every commit) or ``normal`` (survives process crashes).
        busy_timeout: seconds to wait for another process's write lock.
        signing_key: signs checkpoints (needed for ``checkpoint()`` and ``checkpoint_every``).
        checkpoint_every: sign a checkpoint every N entries of a tenant.
        clock: the time source.
        redact: applied to every payload before it is digested and stored.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability = "full",
        busy_timeout: float = 5.0,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
        clock: Callable[[], float] = time.time,
        redact: Redact | None = None,
    ) -> None:
        if durability not in ("full", "normal"):
            raise UsageError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.sealer = Sealer(
            signing_key=signing_key, checkpoint_every=checkpoint_every, clock=clock, redact=redact
        )
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._flush_scheduled = False

    async def _ready(self) -> sqlite3.Connection:
        """The connection, opened on first use once the store has migrated the file."""
        if self._conn is None:
            store = SQLiteStore(
                self.path, durability=self.durability, busy_timeout=self.busy_timeout
            )
            await store.close()
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout
            )
            conn.execute(f"PRAGMA synchronous={self.durability.upper()}")
            if self._conn is None:
                self._conn = conn
            else:  # another task opened it while this one waited
                conn.close()
        return self._conn

    # -- writes --------------------------------------------------------------------------

    async def append(self, event: AuditEvent) -> AuditEntry:
        """Seal ``event`` after its tenant's head and store both in one transaction."""
        entry: AuditEntry = await self._write(lambda cur: self._append(cur, event))
        return entry

    def append_op(self, event: AuditEvent) -> Op:
        """The append as an operation on a cursor, for a caller that commits it itself.

        ``store.write_with_next_commit(log.append_op(event))`` appends in the transaction of
        a ``SQLiteStore`` on the same file (no commit of its own); the head is read inside
        that transaction, under the write lock, so the chain cannot fork.
        """
        return lambda cur: self._append(cur, event)

    def append_all_op(self, events: Sequence[AuditEvent]) -> Op:
        """``append_op`` for many events: appended in order, each tenant's head read and
        written once (what a commit carrying several steps' entries needs)."""
        return lambda cur: len(self._append_all(cur, events))

    def _append(self, cur: sqlite3.Cursor, event: AuditEvent) -> AuditEntry:
        [(redacted, sealed)] = self._append_all(cur, [event])
        return sealed_entry(redacted, sealed)

    def _append_all(
        self, cur: sqlite3.Cursor, events: Sequence[AuditEvent]
    ) -> list[tuple[AuditEvent, Sealed]]:
        """Seal and store ``events`` in order under the write lock; each tenant's head is
        read once and written once. Returns each (redacted) event with what sealed it."""
        heads: dict[str, tuple[Head, bool]] = {}
        done = []
        for event in events:
            event = self.sealer.redacted(event)
            tenant = event.tenant_id
            head, stored = heads.get(tenant) or _head(cur, tenant)
            sealed = sealing(event, head, self.sealer.clock())
            cur.execute(INSERT_ENTRY, sealed_row(event, sealed))
            heads[tenant] = (Head(sealed.seq, sealed.hash), stored)
            if checkpoint := self.sealer.due_at(tenant, heads[tenant][0]):
                cur.execute(INSERT_CHECKPOINT, checkpoint_row(checkpoint))
            done.append((event, sealed))
        for tenant, (head, stored) in heads.items():
            _set_head(cur, tenant, head, stored)
        return done

    async def erase_payload(
        self, tenant_id: str, seq: int, *, actor: Actor, reason: str
    ) -> AuditEntry:
        """Erase one entry's payload (its digest stays) and append the record of it."""

        def op(cur: sqlite3.Cursor) -> AuditEntry:
            row = cur.execute(GET_ENTRY, (tenant_id, seq)).fetchone()
            erasable(entry_from_row(row) if row else None, tenant_id, seq)
            cur.execute(ERASE_PAYLOAD, (tenant_id, seq))
            return self._append(cur, erasure_event(tenant_id, seq, actor, reason))

        entry: AuditEntry = await self._write(op)
        return entry

    async def checkpoint(self, tenant_id: str) -> Checkpoint:
        """Sign the tenant's head now (or return the checkpoint already stored for it)."""

        def op(cur: sqlite3.Cursor) -> Checkpoint:
            row = cur.execute(GET_HEAD, (tenant_id,)).fetchone()
            head = Head(*row) if row else Head()
            if found := cur.execute(GET_CHECKPOINT, (tenant_id, head.seq)).fetchone():
                return Checkpoint(*found)
            checkpoint = self.sealer.sign(tenant_id, head)
            cur.execute(INSERT_CHECKPOINT, checkpoint_row(checkpoint))
            return checkpoint

        checkpoint: Checkpoint = await self._write(op)
        return checkpoint

    # -- reads ---------------------------------------------------------------------------

    async def entries(self, tenant_id: str, query: AuditQuery | None = None) -> list[AuditEntry]:
        """A tenant's entries matching ``query``."""
        query = query or AuditQuery()
        clause, params = where(tenant_id, query)
        rows = await self._read(SELECT_ENTRIES + clause + order_and_limit(query), params)
        return [entry_from_row(r) for r in rows]

    async def get(self, tenant_id: str, seq: int) -> AuditEntry | None:
        """One entry, or ``None``."""
        rows = await self._read(GET_ENTRY, (tenant_id, seq))
        return entry_from_row(rows[0]) if rows else None

    async def head(self, tenant_id: str) -> Head:
        """The tenant's last seq and hash."""
        rows = await self._read(GET_HEAD, (tenant_id,))
        return Head(*rows[0]) if rows else Head()

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """The tenant's checkpoints, by seq."""
        return [Checkpoint(*r) for r in await self._read(LIST_CHECKPOINTS, (tenant_id,))]

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn = await self._ready()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc, "read the audit log") from exc

    # -- group commit --------------------------------------------------------------------

    async def _write(self, op: Op) -> Any:
        await self._ready()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((op, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        if not batch or self._conn is None:
            return
        try:
            results = _apply(self._conn, batch)
        except Exception as exc:  # noqa: BLE001 - log boundary: every waiter gets the error
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            error = exc
            if isinstance(exc, sqlite3.Error):
                error = self._translate(exc, "append to the audit log")
            results = [(future, None, error) for _, future in batch]
        for future, value, failure in results:
            if future.done():
                continue
            if failure is None:
                future.set_result(value)
            else:
                future.set_exception(failure)

    def _translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return DatabaseLocked(
                f"{self.path} stayed locked by another process for more than "
                f"{self.busy_timeout:g}s while trying to {doing}; stop the other process or "
                "raise busy_timeout. Nothing was written."
            )
        return StoreError(f"{self.path}: could not {doing}: {text}")

    async def close(self) -> None:
        """Commit what is pending and close the connection."""
        if self._pending:
            self._flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def __aenter__(self) -> SQLiteAuditLog:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _head(cur: sqlite3.Cursor, tenant_id: str) -> tuple[Head, bool]:
    """The tenant's head, and whether a head row exists (read under the write lock)."""
    row = cur.execute(GET_HEAD, (tenant_id,)).fetchone()
    return (Head(*row), True) if row else (Head(), False)


def _set_head(cur: sqlite3.Cursor, tenant_id: str, head: Head, stored: bool) -> None:
    if stored:
        cur.execute(_UPDATE_HEAD, (head.seq, head.hash, tenant_id))
    else:
        cur.execute(_INSERT_HEAD, (tenant_id, head.seq, head.hash))


def _apply(
    conn: sqlite3.Connection, batch: list[tuple[Op, asyncio.Future[Any]]]
) -> list[tuple[asyncio.Future[Any], Any, Exception | None]]:
    """One transaction for the batch; an op that is refused rolls back only its savepoint."""
    cur = conn.cursor()
    results: list[tuple[asyncio.Future[Any], Any, Exception | None]] = []
    cur.execute("BEGIN IMMEDIATE")
    if len(batch) == 1:  # no savepoint needed: a refusal rolls back the whole transaction
        op, future = batch[0]
        try:
            results.append((future, op(cur), None))
        except UsageError as exc:
            cur.execute("ROLLBACK")
            return [(future, None, exc)]
        cur.execute("COMMIT")
        return results
    for op, future in batch:
        cur.execute("SAVEPOINT audit_op")
        try:
            results.append((future, op(cur), None))
        except UsageError as exc:  # NotFound too: the op is refused, the batch goes on
            cur.execute("ROLLBACK TO audit_op")
            results.append((future, None, exc))
        cur.execute("RELEASE audit_op")
    cur.execute("COMMIT")
    return results
