"""Approval requests in PostgreSQL, in the same database (and schema) as ``PostgresStore``.

Every statement runs in a transaction that sets ``fluxio.tenant``, so row-level security
shows it only its own tenant's requests and patterns. A decision is one conditional
``UPDATE ... WHERE status = 'pending' AND version = ?``: of two workers deciding at once,
exactly one matches the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from fluxio.errors import StoreError, UsageError
from fluxio.governance.approvals import sql
from fluxio.governance.approvals.learning import ApprovalPattern
from fluxio.governance.approvals.request import ApprovalRequest
from fluxio.store.pg_tables import PostgresTables
from fluxio.store.postgres import redact_url

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError(
        "the PostgreSQL approval store needs psycopg 3: pip install 'fluxio[postgres]'"
    ) from exc

__all__ = ["PostgresApprovalStore"]


class PostgresApprovalStore(PostgresTables):
    """Approval requests and learned patterns in PostgreSQL.

    Args:
        url: a ``postgresql://`` URL or libpq connection string.
        schema: the schema fluxio's tables live in, if not the default ``search_path``.
        pool_size: connections this store may open.
        connect_timeout: seconds to wait for a connection.
        pool: an open pool to share (``PostgresApprovalStore.beside(store)``).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 2,
        connect_timeout: float = 10.0,
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        super().__init__(
            url,
            schema=schema,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            name="fluxio-approvals",
            pool=pool,
        )

    async def _run(
        self, tenant_id: str, statement: str, params: Sequence[Any]
    ) -> tuple[int, list[Any]]:
        """One statement in the tenant's scope: the affected row count and the rows."""
        try:
            async with self.scoped(tenant_id) as cur:
                await cur.execute(sql.postgres(statement).encode(), params)
                rows = await cur.fetchall() if cur.description else []
                return cur.rowcount, rows
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL at {redact_url(self.url)} refused an approval operation of tenant "
                f"{tenant_id!r}: {exc}. Nothing was written."
            ) from exc

    async def create(self, request: ApprovalRequest) -> tuple[ApprovalRequest, bool]:
        """See ``ApprovalStore.create``."""
        count, _ = await self._run(request.tenant_id, sql.CREATE, sql.request_row(request))
        if count == 1:
            return request, True
        stored = await self.get(request.tenant_id, request.approval_id)
        assert stored is not None  # the insert conflicted with it
        return stored, False

    async def get(self, tenant_id: str, approval_id: str) -> ApprovalRequest | None:
        """See ``ApprovalStore.get``."""
        _, rows = await self._run(tenant_id, sql.GET, (tenant_id, approval_id))
        return sql.request_of(rows[0][0]) if rows else None

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
        _, rows = await self._run(tenant_id, text, params)
        return [sql.request_of(r[0]) for r in rows]

    async def update(self, request: ApprovalRequest) -> bool:
        """See ``ApprovalStore.update``: one ``UPDATE ... WHERE status = 'pending'``."""
        count, _ = await self._run(request.tenant_id, sql.UPDATE, sql.update_params(request))
        return count == 1

    async def mark_delivered(self, tenant_id: str, approval_id: str, at: float) -> None:
        """See ``ApprovalStore.mark_delivered``."""
        await self._run(tenant_id, sql.MARK_DELIVERED, (at, tenant_id, approval_id))

    async def undelivered(self, tenant_id: str) -> list[ApprovalRequest]:
        """See ``ApprovalStore.undelivered``."""
        _, rows = await self._run(tenant_id, sql.UNDELIVERED, (tenant_id,))
        return [sql.request_of(r[0]) for r in rows]

    async def patterns(
        self, tenant_id: str, pattern_id: str | None = None
    ) -> list[ApprovalPattern]:
        """See ``ApprovalStore.patterns``."""
        text, params = sql.PATTERNS, [tenant_id]
        if pattern_id is not None:
            text, params = text + " AND pattern_id = ?", [tenant_id, pattern_id]
        _, rows = await self._run(tenant_id, text + " ORDER BY pattern_id, approvers", params)
        return [sql.pattern_of_row(r[0]) for r in rows]

    async def save_pattern(self, pattern: ApprovalPattern) -> bool:
        """See ``ApprovalStore.save_pattern``."""
        statement, params = (
            (sql.INSERT_PATTERN, sql.pattern_row(pattern))
            if pattern.version == 1
            else (sql.UPDATE_PATTERN, sql.pattern_update(pattern))
        )
        count, _ = await self._run(pattern.tenant_id, statement, params)
        return count == 1

    async def __aenter__(self) -> PostgresApprovalStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
