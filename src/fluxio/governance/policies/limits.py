"""Durable counters for ``limit`` rules: at most N actions per key per minute, hour or day.

A ``LimitCounter`` counts hits per ``(tenant, key, period_start)`` window, where
``period_start`` is the start of the fixed UTC window (epoch seconds). ``hit`` increments the
count only if it stays within the limit, atomically: in SQL it is one upsert statement, so
concurrent workers sharing a database never exceed a limit together, and a refused hit does
not consume anything. ``release`` gives back a hit whose action was denied for another reason.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from fluxio.errors import StoreError, UsageError

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

__all__ = [
    "LimitCounter",
    "LimitHit",
    "MemoryLimitCounter",
    "PostgresLimitCounter",
    "SQLiteLimitCounter",
]

TABLE = "policy_limit_counters"
# Written with "?" placeholders; PostgreSQL gets them as "%s" (see ``_sql``).
_HIT = (
    "INSERT INTO policy_limit_counters "
    "(tenant_id, counter_key, period_start, count, updated_at) VALUES (?, ?, ?, 1, ?) "
    "ON CONFLICT (tenant_id, counter_key, period_start) DO UPDATE "
    "SET count = policy_limit_counters.count + 1, updated_at = excluded.updated_at "
    "WHERE policy_limit_counters.count < ? RETURNING count"
)
_COUNT = (
    "SELECT count FROM policy_limit_counters "
    "WHERE tenant_id = ? AND counter_key = ? AND period_start = ?"
)
_RELEASE = (
    "UPDATE policy_limit_counters SET count = count - 1 "
    "WHERE tenant_id = ? AND counter_key = ? AND period_start = ? AND count > 0"
)
_PRUNE = "DELETE FROM policy_limit_counters WHERE period_start < ?"
_SCOPE = "SELECT set_config('fluxio.tenant', %s, true)"


def _sql(template: str, placeholder: str) -> str:
    return template.replace("?", placeholder)


@dataclass(frozen=True, slots=True)
class LimitHit:
    """The answer to one ``hit``: whether it was counted, and the window's count afterwards."""

    allowed: bool
    count: int


@runtime_checkable
class LimitCounter(Protocol):
    """Counts actions per tenant, key and window, refusing hits beyond a limit."""

    async def hit(self, tenant: str, key: str, period_start: int, limit: int) -> LimitHit:
        """Count one action if the window's count is below ``limit``; never count a refusal."""
        ...

    async def count(self, tenant: str, key: str, period_start: int) -> int:
        """The window's current count, without changing it."""
        ...

    async def release(self, tenant: str, key: str, period_start: int) -> None:
        """Give back one counted hit (its action did not run after all)."""
        ...


class MemoryLimitCounter:
    """A counter in this process's memory: for tests, ``fluxio policy test`` and one process."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}

    async def hit(self, tenant: str, key: str, period_start: int, limit: int) -> LimitHit:
        """See ``LimitCounter.hit``."""
        slot = (tenant, key, period_start)
        current = self._counts.get(slot, 0)
        if current >= limit:
            return LimitHit(False, current)
        self._counts[slot] = current + 1
        return LimitHit(True, current + 1)

    async def count(self, tenant: str, key: str, period_start: int) -> int:
        """See ``LimitCounter.count``."""
        return self._counts.get((tenant, key, period_start), 0)

    async def release(self, tenant: str, key: str, period_start: int) -> None:
        """See ``LimitCounter.release``."""
        slot = (tenant, key, period_start)
        if self._counts.get(slot, 0) > 0:
            self._counts[slot] -= 1


class SQLiteLimitCounter:
    """Counters in a fluxio SQLite database (the table is created by the store's migrations).

    Args:
        path: the database file that a ``SQLiteStore`` has opened (and so migrated) before.
        busy_timeout: seconds to wait for another writer before failing.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)
        ).fetchone()
        if found is None:
            self._conn.close()
            raise StoreError(
                f"{self.path} has no {TABLE} table: it is not a fluxio database or its schema "
                "is older; open it once with SQLiteStore or run `fluxio db upgrade`"
            )

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self._conn.execute(_sql(sql, "?"), params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: could not update policy limit counters: {exc}") from exc

    async def hit(self, tenant: str, key: str, period_start: int, limit: int) -> LimitHit:
        """See ``LimitCounter.hit``: one upsert statement, atomic under SQLite's write lock."""
        rows = self._run(_HIT, (tenant, key, period_start, time.time(), limit))
        if rows:
            return LimitHit(True, int(rows[0][0]))
        return LimitHit(False, await self.count(tenant, key, period_start))

    async def count(self, tenant: str, key: str, period_start: int) -> int:
        """See ``LimitCounter.count``."""
        rows = self._run(_COUNT, (tenant, key, period_start))
        return int(rows[0][0]) if rows else 0

    async def release(self, tenant: str, key: str, period_start: int) -> None:
        """See ``LimitCounter.release``."""
        self._run(_RELEASE, (tenant, key, period_start))

    async def prune(self, before: int) -> None:
        """Delete windows that started before ``before`` (epoch seconds)."""
        self._run(_PRUNE, (before,))

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class PostgresLimitCounter:
    """Counters in PostgreSQL, shared by every worker on every machine.

    Each call is one transaction in the tenant's row-level-security scope (``fluxio.tenant``),
    like every tenant-owned table of the PostgreSQL store.

    Args:
        pool: an open ``psycopg_pool.AsyncConnectionPool`` with autocommit connections whose
            ``search_path`` reaches the fluxio schema (e.g. the store's pool).
        owns_pool: close the pool in ``close()``.
    """

    def __init__(self, pool: AsyncConnectionPool[Any], *, owns_pool: bool = False) -> None:
        self._pool = pool
        self._owns_pool = owns_pool

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        schema: str | None = None,
        max_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> PostgresLimitCounter:
        """Open a pool of its own on ``url`` (needs the ``postgres`` extra).

        Args:
            url: a ``postgresql://`` URL or libpq connection string.
            schema: the schema the fluxio tables live in, if not the default ``search_path``.
            max_size: connections this counter may open.
            connect_timeout: seconds to wait for the first connection before failing.
        """
        try:
            from psycopg_pool import AsyncConnectionPool
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise UsageError(
                "PostgreSQL limit counters need psycopg: pip install 'fluxio[postgres]'"
            ) from exc
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema is not None:
            kwargs["options"] = f"-c search_path={schema}"
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, open=False, kwargs=kwargs
        )
        try:
            await pool.open(wait=True, timeout=connect_timeout)
        except Exception as exc:
            await pool.close()
            raise StoreError(
                f"cannot connect to PostgreSQL for limit counters ({exc}); check that the server "
                "runs and the URL is right"
            ) from exc
        return cls(pool, owns_pool=True)

    async def _run(self, tenant: str, sql: str, params: tuple[Any, ...]) -> list[Any]:
        import psycopg

        from fluxio.store.postgres import pooled

        try:
            async with pooled(self._pool) as conn, conn.transaction(), conn.cursor() as cur:
                await cur.execute(_SCOPE, (tenant,))
                await cur.execute(_sql(sql, "%s").encode(), params)
                return await cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise StoreError(
                f"could not update policy limit counters of tenant {tenant!r}: {exc}"
            ) from exc

    async def hit(self, tenant: str, key: str, period_start: int, limit: int) -> LimitHit:
        """See ``LimitCounter.hit``: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``."""
        rows = await self._run(tenant, _HIT, (tenant, key, period_start, time.time(), limit))
        if rows:
            return LimitHit(True, int(rows[0][0]))
        return LimitHit(False, await self.count(tenant, key, period_start))

    async def count(self, tenant: str, key: str, period_start: int) -> int:
        """See ``LimitCounter.count``."""
        rows = await self._run(tenant, _COUNT, (tenant, key, period_start))
        return int(rows[0][0]) if rows else 0

    async def release(self, tenant: str, key: str, period_start: int) -> None:
        """See ``LimitCounter.release``."""
        await self._run(tenant, _RELEASE, (tenant, key, period_start))

    async def prune(self, before: int) -> None:
        """Delete windows of every tenant that started before ``before`` (epoch seconds)."""
        await self._run("*", _PRUNE, (before,))

    async def close(self) -> None:
        """Close the pool if this counter opened it."""
        if self._owns_pool:
            await self._pool.close()
