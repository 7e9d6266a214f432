"""The audit log in PostgreSQL (psycopg 3, async), in the same database as ``PostgresStore``.

Each append is one transaction that locks the tenant's head row (``SELECT ... FOR UPDATE``)
from reading it to writing the new entry, so appenders on any number of connections and
machines never fork a chain: they queue on that row. Every transaction sets
``fluxio.tenant`` so the tables' row-level security shows it only its own tenant's rows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg_pool import AsyncConnectionPool

from fluxio.errors import StoreError, UsageError
from fluxio.governance.audit.chain import Head, seal
from fluxio.governance.audit.entry import Actor, AuditEntry, AuditEvent
from fluxio.governance.audit.log import AuditQuery, Redact, Sealer, erasable, erasure_event
from fluxio.governance.audit.signing import Checkpoint
from fluxio.governance.audit.sql import (
    ERASE_PAYLOAD,
    GET_CHECKPOINT,
    GET_ENTRY,
    GET_HEAD,
    INSERT_CHECKPOINT,
    LIST_CHECKPOINTS,
    SELECT_ENTRIES,
    append_params,
    checkpoint_row,
    entry_from_row,
    order_and_limit,
    postgres,
    where,
)
from fluxio.store.pg_tables import PostgresTables
from fluxio.store.postgres import redact_url

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError(
        "the PostgreSQL audit log needs psycopg 3: pip install 'fluxio[postgres]'"
    ) from exc

__all__ = ["PostgresAuditLog"]

T = TypeVar("T")
Cursor = psycopg.AsyncCursor[Any]
_INSERT_CHECKPOINT = postgres(INSERT_CHECKPOINT)
_GET_HEAD = postgres(GET_HEAD)
_LOCK_HEAD = postgres(GET_HEAD + " FOR UPDATE")
_GET_ENTRY = postgres(GET_ENTRY)
_ERASE_PAYLOAD = postgres(ERASE_PAYLOAD)
_GET_CHECKPOINT = postgres(GET_CHECKPOINT)
_LIST_CHECKPOINTS = postgres(LIST_CHECKPOINTS)
_APPEND = (
    b"SELECT * FROM fluxio_audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    b"%s, %s, %s, %s, %s, %s, %s, %s)"
)


class PostgresAuditLog(PostgresTables):
    """A durable audit log in PostgreSQL.

    Args:
        url: a ``postgresql://`` URL or libpq connection string.
        schema: a schema to use instead of the connection's default ``search_path``.
        pool_size: connections this log may open.
        connect_timeout: seconds to wait for a connection.
        signing_key: signs checkpoints (needed for ``checkpoint()`` and ``checkpoint_every``).
        checkpoint_every: sign a checkpoint every N entries of a tenant.
        clock: the time source.
        redact: applied to every payload before it is digested and stored.
        pool: an open pool to share (``PostgresAuditLog.beside(store)``).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        pool: AsyncConnectionPool[Any] | None = None,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
        clock: Callable[[], float] = time.time,
        redact: Redact | None = None,
    ) -> None:
        super().__init__(
            url,
            schema=schema,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            name="fluxio-audit",
            pool=pool,
        )
        self.sealer = Sealer(
            signing_key=signing_key, checkpoint_every=checkpoint_every, clock=clock, redact=redact
        )

    async def _tx(self, tenant_id: str, body: Callable[[Cursor], Awaitable[T]]) -> T:
        """Run ``body`` in one transaction scoped (by row-level security) to ``tenant_id``."""
        try:
            async with self.scoped(tenant_id) as cur:
                return await body(cur)
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL at {redact_url(self.url)} refused an audit log operation: {exc}. "
                "Nothing was written."
            ) from exc

    # -- writes --------------------------------------------------------------------------

    async def append(self, event: AuditEvent) -> AuditEntry:
        """Seal ``event`` after its tenant's locked head and store both in one transaction."""
        return await self._tx(event.tenant_id, lambda cur: self._append(cur, event))

    async def _append(self, cur: Cursor, event: AuditEvent) -> AuditEntry:
        """One statement (``fluxio_audit_append``): the database locks the head, completes
        and hashes the entry, and moves the head; the entry is rebuilt from what it says."""
        event = self.sealer.redacted(event)
        timestamp = event.timestamp if event.timestamp is not None else self.sealer.clock()
        await cur.execute(_APPEND, append_params(event, timestamp))
        row = await cur.fetchone()
        assert row is not None  # the function always returns its row
        seq, prev_hash, hash_ = row
        entry = seal(dataclasses.replace(event, timestamp=timestamp), Head(seq - 1, prev_hash), 0)
        if entry.hash != hash_:  # the database and this process disagree on the JSON
            raise StoreError(
                f"PostgreSQL hashed audit entry {seq} of tenant {event.tenant_id!r} as {hash_}, "
                f"this process as {entry.hash}; the transaction was rolled back"
            )
        if checkpoint := self.sealer.due(entry):
            await cur.execute(_INSERT_CHECKPOINT, checkpoint_row(checkpoint))
        return entry

    def append_all_op(self, events: Sequence[AuditEvent]) -> Callable[[Any], Awaitable[int]]:
        """The appends of ``events`` as an operation of a ``PostgresStore`` batch: one
        statement each, sent without waiting for results, so the entries join the steps'
        pipelined commit (``store.write_with_next_commit``). Not for logs that sign
        checkpoints (a checkpoint needs the hash back; use ``append``)."""

        async def op(tx: Any) -> int:
            # Stable by tenant: each tenant's entries keep their order, and concurrent
            # batches lock the tenants' heads in one order (no deadlock between them).
            for event in sorted(events, key=_tenant):
                redacted = self.sealer.redacted(event)
                timestamp = event.timestamp if event.timestamp is not None else self.sealer.clock()
                await tx.cur.execute(_APPEND, append_params(redacted, timestamp))
            return len(events)

        return op

    async def erase_payload(
        self, tenant_id: str, seq: int, *, actor: Actor, reason: str
    ) -> AuditEntry:
        """Erase one entry's payload (its digest stays) and append the record of it."""

        async def body(cur: Cursor) -> AuditEntry:
            await _locked_head(cur, tenant_id)  # serialize with appenders of this tenant
            await cur.execute(_GET_ENTRY, (tenant_id, seq))
            row = await cur.fetchone()
            erasable(entry_from_row(row) if row else None, tenant_id, seq)
            await cur.execute(_ERASE_PAYLOAD, (tenant_id, seq))
            return await self._append(cur, erasure_event(tenant_id, seq, actor, reason))

        return await self._tx(tenant_id, body)

    async def checkpoint(self, tenant_id: str) -> Checkpoint:
        """Sign the tenant's head now (or return the checkpoint already stored for it)."""

        async def body(cur: Cursor) -> Checkpoint:
            head = await _locked_head(cur, tenant_id)
            await cur.execute(_GET_CHECKPOINT, (tenant_id, head.seq))
            if found := await cur.fetchone():
                return Checkpoint(*found)
            checkpoint = self.sealer.sign(tenant_id, head)
            await cur.execute(_INSERT_CHECKPOINT, checkpoint_row(checkpoint))
            return checkpoint

        return await self._tx(tenant_id, body)

    # -- reads ---------------------------------------------------------------------------

    async def entries(self, tenant_id: str, query: AuditQuery | None = None) -> list[AuditEntry]:
        """A tenant's entries matching ``query``."""
        query = query or AuditQuery()
        clause, params = where(tenant_id, query)
        sql = postgres(SELECT_ENTRIES + clause + order_and_limit(query))
        return [entry_from_row(r) for r in await self._read(tenant_id, sql, params)]

    async def get(self, tenant_id: str, seq: int) -> AuditEntry | None:
        """One entry, or ``None``."""
        rows = await self._read(tenant_id, _GET_ENTRY, (tenant_id, seq))
        return entry_from_row(rows[0]) if rows else None

    async def head(self, tenant_id: str) -> Head:
        """The tenant's last seq and hash."""
        rows = await self._read(tenant_id, _GET_HEAD, (tenant_id,))
        return Head(*rows[0]) if rows else Head()

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """The tenant's checkpoints, by seq."""
        rows = await self._read(tenant_id, _LIST_CHECKPOINTS, (tenant_id,))
        return [Checkpoint(*r) for r in rows]

    async def _read(self, tenant_id: str, sql: str, params: Sequence[Any]) -> list[Any]:
        async def body(cur: Cursor) -> list[Any]:
            await cur.execute(sql.encode(), params)
            return await cur.fetchall()

        return await self._tx(tenant_id, body)

    async def __aenter__(self) -> PostgresAuditLog:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _tenant(event: AuditEvent) -> str:
    return event.tenant_id


async def _locked_head(cur: Cursor, tenant_id: str) -> Head:
    """The tenant's head, locked until the transaction ends (created on first use)."""
    await cur.execute(_LOCK_HEAD, (tenant_id,))
    row = await cur.fetchone()
    if row is None:
        await cur.execute(
            "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (%s, 0, %s) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            (tenant_id, Head().hash),
        )
        await cur.execute(_LOCK_HEAD, (tenant_id,))
        row = await cur.fetchone()
    assert row is not None
    return Head(row[0], row[1])
