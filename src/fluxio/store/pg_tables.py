"""A pool to a fluxio PostgreSQL database for components with tables of their own.

The audit log, the budget ledger and the approval store keep their rows beside the runs, in
the same schema history. They share this base: the schema is brought up to date by
``PostgresStore`` (one migration path), and the pool opens on first use.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Self

from psycopg_pool import AsyncConnectionPool

from fluxio.errors import StoreError, UsageError
from fluxio.store.postgres import PostgresStore, redact_url

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
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        name: str = "fluxio-tables",
    ) -> None:
        if schema is not None and not _SCHEMA.match(schema):
            raise UsageError(f"schema {schema!r} must be a plain SQL identifier")
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema is not None:
            kwargs["options"] = f"-c search_path={schema}"
        self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=kwargs,
            timeout=connect_timeout,
            open=False,
            name=name,
        )
        self._opened = False
        self._opening = asyncio.Lock()

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

    async def close(self) -> None:
        """Close the connection pool."""
        await self._pool.close()
        self._opened = False
