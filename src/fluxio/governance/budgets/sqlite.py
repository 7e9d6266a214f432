"""The ledger in fluxio's SQLite database file.

``SQLiteLedger`` opens its own connection to the file a ``SQLiteStore`` uses (WAL mode), so it
lives beside a running store. Every hold, settlement and release is one short ``BEGIN
IMMEDIATE`` transaction: it takes the database's write lock before reading the counters, so
holds of any number of tasks and processes sharing the file are checked one at a time and
can never overspend a budget together.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from fluxio.errors import DatabaseLocked, StoreError
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
from fluxio.governance.budgets.sql import GroupBy
from fluxio.store.sqlite import Durability, SQLiteStore

__all__ = ["SQLiteLedger"]

T = TypeVar("T")


class _Cursor:
    lock = False  # BEGIN IMMEDIATE already holds the write lock

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def rows(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._conn.execute(statement, tuple(params)).fetchall()


class SQLiteLedger:
    """A durable ledger in fluxio's SQLite database file.

    Args:
        path: the database file (created and migrated as ``SQLiteStore`` does).
        durability: ``full`` (fsync every commit) or ``normal`` (survives process crashes).
        busy_timeout: seconds to wait for another process's write lock.
        clock: the time source (epoch seconds).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability = "full",
        busy_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.durability = durability
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._conn: sqlite3.Connection | None = None

    async def _ready(self) -> sqlite3.Connection:
        """The connection, opened on first use once the store has migrated the file."""
        if self._conn is None:
            store = SQLiteStore(self.path, durability=self.durability)
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

    async def _tx(self, doing: str, body: Callable[[_Cursor], Awaitable[T]]) -> T:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction (it never yields the loop)."""
        conn = await self._ready()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._translate(exc, doing) from exc
        try:
            result = await body(_Cursor(conn))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc, doing) from exc
            raise
        return result

    async def _read(self, body: Callable[[_Cursor], Awaitable[T]]) -> T:
        try:
            return await body(_Cursor(await self._ready()))
        except sqlite3.Error as exc:
            raise self._translate(exc, "read the budget ledger") from exc

    async def hold(self, charge: Charge, scopes: Sequence[Scope], decide: Decide) -> Reservation:
        """See ``Ledger.hold``."""
        now = self.clock()
        return await self._tx(
            "hold a budget reservation",
            lambda cur: bookkeeping.hold(cur, charge, scopes, decide, now),
        )

    async def settle(self, id: str, actual: ActualCost, *, tenant: str | None = None) -> None:
        """See ``Ledger.settle``."""
        now = self.clock()
        await self._tx(
            "settle a budget reservation", lambda c: bookkeeping.settle(c, id, actual, now)
        )

    async def release(self, id: str, *, tenant: str | None = None) -> None:
        """See ``Ledger.release``."""
        now = self.clock()
        await self._tx("release a budget reservation", lambda c: bookkeeping.release(c, id, now))

    async def totals(self, tenant: str, scopes: Sequence[Scope]) -> dict[str, Totals]:
        """See ``Ledger.totals``."""
        return await self._read(lambda cur: bookkeeping.totals(cur, tenant, scopes))

    async def rollup(
        self, by: GroupBy, *, tenant: str | None = None, since: float | None = None
    ) -> list[Rollup]:
        """See ``Ledger.rollup``."""
        return await self._read(lambda cur: bookkeeping.rollup(cur, by, tenant, since))

    async def step_averages(self, tenant: str, workflow: str) -> dict[str, StepAverage]:
        """See ``Ledger.step_averages``."""
        return await self._read(lambda cur: bookkeeping.step_averages(cur, tenant, workflow))

    async def record_estimate(
        self, tenant: str, run_id: str, workflow: str, usd: float, tokens: int
    ) -> None:
        """See ``Ledger.record_estimate``."""
        now = self.clock()
        await self._tx(
            "record an estimate",
            lambda c: bookkeeping.record_estimate(c, tenant, run_id, workflow, usd, tokens, now),
        )

    async def estimate_history(
        self, *, tenant: str | None = None, since: float | None = None
    ) -> list[EstimateRecord]:
        """See ``Ledger.estimate_history``."""
        return await self._read(lambda cur: bookkeeping.estimate_history(cur, tenant, since))

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return DatabaseLocked(
                f"{self.path} stayed locked by another process for more than "
                f"{self.busy_timeout:g}s while trying to {doing}; stop the other process or "
                "raise busy_timeout. Nothing was written."
            )
        return StoreError(f"{self.path}: could not {doing}: {text}")
