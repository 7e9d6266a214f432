"""Approval requests in fluxio's SQLite database file, beside the runs that wait for them.

``SQLiteApprovalStore`` opens its own connection to the file (WAL mode lets it live beside a
running ``SQLiteStore`` and ``fluxio approvals`` in another process). Each write is one
statement or one ``BEGIN IMMEDIATE`` transaction, so decisions from several processes are
serialized by SQLite's write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fluxio.errors import DatabaseLocked, StoreError
from fluxio.governance.approvals import sql
from fluxio.governance.approvals.learning import ApprovalPattern
from fluxio.governance.approvals.request import ApprovalRequest
from fluxio.store.sqlite import SQLiteStore

__all__ = ["SQLiteApprovalStore"]


class SQLiteApprovalStore:
    """Approval requests and learned patterns in a fluxio SQLite file.

    Args:
        path: the database file (created and migrated like ``SQLiteStore`` does).
        busy_timeout: seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None

    async def _ready(self) -> sqlite3.Connection:
        if self._conn is None:
            store = SQLiteStore(self.path, busy_timeout=self.busy_timeout)  # migrates the file
            await store.close()
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout
            )
        return self._conn

    async def _run(self, statement: str, params: Sequence[Any]) -> sqlite3.Cursor:
        conn = await self._ready()
        try:
            return conn.execute(statement, params)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        if "locked" in str(exc) or "busy" in str(exc):
            return DatabaseLocked(
                f"{self.path} stayed locked by another process for more than "
                f"{self.busy_timeout:g}s; retry, or stop the other process. Nothing was written."
            )
        return StoreError(f"{self.path}: could not read or write approvals: {exc}")

    async def create(self, request: ApprovalRequest) -> tuple[ApprovalRequest, bool]:
        """See ``ApprovalStore.create``."""
        created = (await self._run(sql.CREATE, sql.request_row(request))).rowcount == 1
        if created:
            return request, True
        stored = await self.get(request.tenant_id, request.approval_id)
        assert stored is not None  # the insert conflicted with it
        return stored, False

    async def get(self, tenant_id: str, approval_id: str) -> ApprovalRequest | None:
        """See ``ApprovalStore.get``."""
        row = (await self._run(sql.GET, (tenant_id, approval_id))).fetchone()
        return sql.request_of(row[0]) if row else None

    async def requests(
        self,
        tenant_id: str,
        *,
        statuses: Sequence[str] = (),
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[ApprovalRequest]:
        """See ``ApprovalStore.list``."""
        text, params = sql.list_query(tenant_id, statuses, run_id, limit)
        return [sql.request_of(r[0]) for r in (await self._run(text, params)).fetchall()]

    async def update(self, request: ApprovalRequest) -> bool:
        """See ``ApprovalStore.update``: one ``UPDATE ... WHERE status = 'pending'``."""
        return (await self._run(sql.UPDATE, sql.update_params(request))).rowcount == 1

    async def mark_delivered(self, tenant_id: str, approval_id: str, at: float) -> None:
        """See ``ApprovalStore.mark_delivered``."""
        await self._run(sql.MARK_DELIVERED, (at, tenant_id, approval_id))

    async def undelivered(self, tenant_id: str) -> list[ApprovalRequest]:
        """See ``ApprovalStore.undelivered``."""
        rows = (await self._run(sql.UNDELIVERED, (tenant_id,))).fetchall()
        return [sql.request_of(r[0]) for r in rows]

    async def patterns(
        self, tenant_id: str, pattern_id: str | None = None
    ) -> list[ApprovalPattern]:
        """See ``ApprovalStore.patterns``."""
        text, params = sql.PATTERNS, [tenant_id]
        if pattern_id is not None:
            text, params = text + " AND pattern_id = ?", [tenant_id, pattern_id]
        rows = (await self._run(text + " ORDER BY pattern_id, approvers", params)).fetchall()
        return [sql.pattern_of_row(r[0]) for r in rows]

    async def save_pattern(self, pattern: ApprovalPattern) -> bool:
        """See ``ApprovalStore.save_pattern``."""
        if pattern.version == 1:
            return (await self._run(sql.INSERT_PATTERN, sql.pattern_row(pattern))).rowcount == 1
        return (await self._run(sql.UPDATE_PATTERN, sql.pattern_update(pattern))).rowcount == 1

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def __aenter__(self) -> SQLiteApprovalStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
