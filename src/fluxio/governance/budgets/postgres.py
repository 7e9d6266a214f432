"""The ledger in PostgreSQL (psycopg 3, async), in the same database as ``PostgresStore``.

A hold is one transaction: it takes a transaction-scoped advisory lock on the reservation id
(so a retried hold waits for the first and then finds it), creates missing counters, then
reads the counters of the step's scopes ``FOR UPDATE`` in key order: concurrent holds on one
budget queue on its counter row, each sees what the one before it held, and none can
overspend it. Every transaction sets ``fluxio.tenant`` for row-level security; settlements by
id alone run in the system scope ``*``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from psycopg_pool import AsyncConnectionPool

from fluxio.errors import StoreError, UsageError
from fluxio.governance.budgets import bookkeeping
from fluxio.governance.budgets.decision import Totals
from fluxio.governance.budgets.gate import ActualCost, Reservation
from fluxio.governance.budgets.ledger import (
    Charge,
    Decide,
    EstimateRecord,
    Rollup,
    StepAverage,
)
from fluxio.governance.budgets.model import Scope
from fluxio.governance.budgets.sql import GroupBy, postgres
from fluxio.store.pg_tables import PostgresTables
from fluxio.store.postgres import redact_url

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError(
        "the PostgreSQL budget ledger needs psycopg 3: pip install 'fluxio[postgres]'"
    ) from exc

__all__ = ["PostgresLedger"]

T = TypeVar("T")
SYSTEM_SCOPE = "*"
_LOCK_ID = "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))"
_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_ATTEMPTS = 5


class _Cursor:
    lock = True

    def __init__(self, cur: psycopg.AsyncCursor[Any]) -> None:
        self._cur = cur

    async def rows(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        await self._cur.execute(postgres(statement).encode(), tuple(params))
        return await self._cur.fetchall() if self._cur.description else []


class PostgresLedger(PostgresTables):
    """A durable ledger in PostgreSQL, shared by every worker on every machine.

    Args:
        url: a ``postgresql://`` URL or libpq connection string.
        schema: a schema to use instead of the connection's default ``search_path``.
        pool_size: connections this ledger may open.
        connect_timeout: seconds to wait for a connection.
        clock: the time source (epoch seconds).
        pool: an open pool to share (``PostgresLedger.beside(store)``).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        super().__init__(
            url,
            schema=schema,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            name="fluxio-budgets",
            pool=pool,
        )
        self.clock = clock

    async def _tx(self, tenant: str, body: Callable[[_Cursor], Awaitable[T]]) -> T:
        """Run ``body`` in one transaction in ``tenant``'s scope, retrying deadlocks."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self.scoped(tenant) as cur:
                    return await body(_Cursor(cur))
            except _TRANSIENT:
                if attempt == _ATTEMPTS:
                    raise StoreError(
                        f"the budget ledger at {redact_url(self.url)} kept deadlocking after "
                        f"{_ATTEMPTS} attempts; nothing was written. Try again."
                    ) from None
                await asyncio.sleep(0.01 * attempt)
            except psycopg.Error as exc:
                raise StoreError(
                    f"PostgreSQL at {redact_url(self.url)} refused a budget ledger operation: "
                    f"{exc}. Nothing was written."
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def hold(self, charge: Charge, scopes: Sequence[Scope], decide: Decide) -> Reservation:
        """See ``Ledger.hold``."""

        async def body(cur: _Cursor) -> Reservation:
            await cur.rows(_LOCK_ID, [charge.id])
            return await bookkeeping.hold(cur, charge, scopes, decide, self.clock())

        return await self._tx(charge.step.tenant, body)

    async def settle(self, id: str, actual: ActualCost, *, tenant: str | None = None) -> None:
        """See ``Ledger.settle``."""
        now = self.clock()
        await self._tx(tenant or SYSTEM_SCOPE, lambda c: bookkeeping.settle(c, id, actual, now))

    async def release(self, id: str, *, tenant: str | None = None) -> None:
        """See ``Ledger.release``."""
        now = self.clock()
        await self._tx(tenant or SYSTEM_SCOPE, lambda c: bookkeeping.release(c, id, now))

    async def totals(self, tenant: str, scopes: Sequence[Scope]) -> dict[str, Totals]:
        """See ``Ledger.totals``."""
        return await self._tx(tenant, lambda cur: bookkeeping.totals(cur, tenant, scopes))

    async def rollup(
        self, by: GroupBy, *, tenant: str | None = None, since: float | None = None
    ) -> list[Rollup]:
        """See ``Ledger.rollup``."""
        scope = tenant or SYSTEM_SCOPE
        return await self._tx(scope, lambda cur: bookkeeping.rollup(cur, by, tenant, since))

    async def step_averages(self, tenant: str, workflow: str) -> dict[str, StepAverage]:
        """See ``Ledger.step_averages``."""
        return await self._tx(tenant, lambda cur: bookkeeping.step_averages(cur, tenant, workflow))

    async def record_estimate(
        self, tenant: str, run_id: str, workflow: str, usd: float, tokens: int
    ) -> None:
        """See ``Ledger.record_estimate``."""
        now = self.clock()
        await self._tx(
            tenant,
            lambda c: bookkeeping.record_estimate(c, tenant, run_id, workflow, usd, tokens, now),
        )

    async def estimate_history(
        self, *, tenant: str | None = None, since: float | None = None
    ) -> list[EstimateRecord]:
        """See ``Ledger.estimate_history``."""
        scope = tenant or SYSTEM_SCOPE
        return await self._tx(scope, lambda c: bookkeeping.estimate_history(c, tenant, since))
