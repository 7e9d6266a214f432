"""A pool to a fluxio PostgreSQL database for components with tables of their own.

The audit log, the budget ledger and the approval store keep their rows beside the runs, in
the same schema history. They share this base: the schema is brought up to date by
``PostgresStore`` (one migration path), the pool opens on first use, and every statement runs
in a transaction scoped to one tenant by row-level security (``scoped``).

``X.beside(store)`` builds one on an open ``PostgresStore``'s own pool: a governed worker
then holds one pool, not one per component (which would multiply the connections every
worker process opens).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any, Self

from psycopg import AsyncCursor
from psycopg_pool import AsyncConnectionPool

from fluxio.errors import StoreError, UsageError
from fluxio.store.postgres import PostgresStore, pooled, redact_url

__all__ = ["PostgresTables"]

_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresTables:
    """Base of the PostgreSQL backends that keep fluxio tables other than runs and journal.

    Args:
        url: a ``postgresql://`` URL.
        schema: the schema to use instead of the connection's ``search_path``.
        pool_size: connections this component may open.
        connect_timeout: seconds to wait for a connection.
        name: the pool's name in logs.
        pool: an open pool to use instead of one of its own (``beside``); not closed here.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        name: str = "fluxio-tables",
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        if schema is not None and not _SCHEMA.match(schema):
            raise UsageError(f"schema {schema!r} must be a plain SQL identifier")
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema is not None:
            kwargs["options"] = f"-c search_path={schema}"
        self._owns_pool = pool is None
        self._pool: AsyncConnectionPool[Any] = pool or AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=kwargs,
            timeout=connect_timeout,
            open=False,
            name=name,
        )
        self._opened = pool is not None  # the store that owns it migrated the schema
        self._opening = asyncio.Lock()

    @classmethod
    def beside(cls, store: PostgresStore, **options: Any) -> Self:
        """One on ``store``'s database, schema and pool (``store`` must be open)."""
        return cls(store.url, schema=store.schema, pool=store.pool, **options)

    @classmethod
    async def connect(cls, url: str, **options: Any) -> Self:
        """Open: migrate the schema (as ``PostgresStore`` does) and connect."""
        tables = cls(url, **options)
        await tables.open()
        return tables

    async def open(self) -> None:
        """Bring the schema up to date and open the pool (done on first use too)."""
        async with self._opening:
            if self._opened:
                return
            store = await PostgresStore.connect(
                self.url, schema=self.schema, pool_size=1, connect_timeout=self.connect_timeout
            )
            await store.close()
            try:
                await self._pool.open(wait=True)
            except Exception as exc:
                await self._pool.close()
                raise StoreError(
                    f"cannot connect to PostgreSQL at {redact_url(self.url)}: {exc}"
                ) from exc
            self._opened = True

    @contextlib.asynccontextmanager
    async def scoped(self, tenant_id: str) -> AsyncIterator[AsyncCursor[Any]]:
        """A cursor in one transaction that row-level security scopes to ``tenant_id``
        (``*``: every tenant, for system-wide reads)."""
        await self.open()
        async with pooled(self._pool) as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute("SELECT set_config('fluxio.tenant', %s, true)", (tenant_id,))
            yield cur

    async def close(self) -> None:
        """Close the connection pool, if it is this component's own."""
        if self._owns_pool:
            await self._pool.close()
            self._opened = False
