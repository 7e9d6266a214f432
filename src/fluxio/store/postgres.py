"""The scale-out store: PostgreSQL as both the journal and the work queue.

Many worker processes on many machines share one database. What keeps them honest:

- Claims take runs with ``FOR UPDATE SKIP LOCKED`` in priority order and bump each run's lease
  epoch; every later write of a lease holder starts with a *fence* (``fluxio_fence``), which
  locks the run row and aborts the transaction unless the holder's epoch still holds, so a
  worker whose lease was taken over writes nothing.
- A step's outcome, the run's next state, its children and its outgoing signals commit in one
  transaction. Writes of concurrent runs in one process share transactions (group commit).
- ``LISTEN/NOTIFY`` wakes idle workers when work appears; polling remains the fallback.
- Row-level security: every tenant-owned table shows a transaction only the rows of the tenant
  it set (``fluxio.tenant``); claims and lease-holder writes run in the system scope ``*``.

Connect with ``await PostgresStore.connect("postgresql://user:pass@host/db")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fluxio.errors import IncompatibleDatabase, LeaseLost, NotFound, StoreError, UsageError
from fluxio.store import _pg_sql as sql
from fluxio.store.base import SIGNAL_CANCEL
from fluxio.store.limits import Capacity, check_limit
from fluxio.store.migrations import LATEST, MIGRATIONS
from fluxio.store.records import (
    TERMINAL,
    Claim,
    Commit,
    ConcurrencyLimit,
    Heartbeat,
    JournalEntry,
    Lease,
    NewRun,
    OutgoingSignal,
    Run,
    RunQuery,
    RunStatus,
    Transition,
)

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql as pg_sql
    from psycopg_pool import AsyncConnectionPool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise UsageError(
        "the PostgreSQL store needs psycopg 3: pip install 'fluxio[postgres]'"
    ) from exc

__all__ = ["PostgresStore"]

log = logging.getLogger("fluxio.store.postgres")

T = TypeVar("T")
CHANNEL = sql.CHANNEL
SYSTEM_SCOPE = "*"
_MIGRATION_LOCK = 0x666C7578  # "flux": serializes schema upgrades of concurrent processes
# Retried with backoff. InvalidSqlStatementName: the connection believed a statement was
# prepared that the server does not have (an interrupted pipeline); ``pooled`` drops it.
_TRANSIENT = (
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.InvalidSqlStatementName,
)


@dataclass
class _Tx:
    """One operation's view of a transaction, in pipeline mode.

    ``cur`` sends statements whose results nobody reads; ``rows`` reads a result on a cursor of
    its own (in pipeline mode a cursor's result would otherwise be an earlier statement's).
    """

    cur: psycopg.AsyncCursor[Any]
    wakes: bool = False

    async def rows(self, query: Any, params: Any = ()) -> list[Any]:
        cur = self.cur.connection.cursor()
        await cur.execute(query, params)
        return await cur.fetchall()


Op = Callable[[_Tx], Awaitable[Any]]
Solo = tuple[str, tuple[Any, ...]]
"""A write that is one statement when it is alone in its batch (run in autocommit)."""


class PostgresStore:
    """A durable store in a PostgreSQL database, shared by any number of workers.

    Args:
        url: a ``postgresql://`` URL (percent-encode special characters in the password) or a
            libpq connection string.
        pool_size: connections this process may open.
        schema: a schema to use instead of the connection's default ``search_path``.
        connect_timeout: seconds to wait for a connection before failing.
        command_timeout: seconds a write, claim or heartbeat may wait for the server before it
            fails and its connection is dropped: a connection that stopped answering (a
            partition, a stuck proxy) must not hold this worker's writes forever. A write that
            timed out may or may not have committed; replay reads the journal either way.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        schema: str | None = None,
        connect_timeout: float = 10.0,
        command_timeout: float = 20.0,
    ) -> None:
        self.url = url
        self._command_timeout = command_timeout
        self.schema = schema
        self._connect_timeout = connect_timeout
        self._kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
        }
        if schema is not None:
            self._kwargs["options"] = f"-c search_path={schema}"
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=self._kwargs,
            timeout=connect_timeout,
            # After an outage, give up a backoff chain within seconds: the next request starts
            # a fresh one, so workers reconnect promptly instead of after minutes of backoff.
            reconnect_timeout=5.0,
            open=False,
            name="fluxio",
        )
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._solo: dict[asyncio.Future[Any], Solo] = {}
        # Whether concurrency limits exist (seen by the last claim, or set here): then a run
        # that leaves its lease NOTIFYs, so a worker waiting for the slot claims at once.
        self._capped = False
        self._flusher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._wake_callbacks: list[Callable[[], None]] = []

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """The connection pool, for components that keep tables beside the runs
        (``PostgresTables.beside``); it closes with the store."""
        return self._pool

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True, **options: Any) -> PostgresStore:
        """Open a store: connect, and (unless ``migrate`` is false) bring the schema up to date."""
        store = cls(url, **options)
        await store.open(migrate=migrate)
        return store

    # -- opening -----------------------------------------------------------------------

    async def open(self, *, migrate: bool = True) -> None:
        """Open the connection pool and apply pending migrations (unless ``migrate`` is false)."""
        try:
            await self._pool.open(wait=True, timeout=self._connect_timeout)
        except Exception as exc:
            await self._pool.close()
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact_url(self.url)}: {exc}. Check that "
                "the server is running and the URL (user, password, host, database) is right."
            ) from exc
        try:
            if migrate:
                await self._migrate()
            else:
                await self.schema_version()  # refuses foreign and newer schemas
        except BaseException:
            await self._pool.close()
            raise

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if self.schema is not None:
                await self._ensure_schema(conn, self.schema)
            version = await self._schema_of(conn)
            pending = [m for m in MIGRATIONS if m.version > version]
            if not pending:
                return
            await conn.execute(sql.CREATE_META)
            for migration in pending:
                await conn.execute(migration.postgres.encode())
            await conn.execute(sql.SET_VERSION, (str(pending[-1].version),))

    @staticmethod
    async def _ensure_schema(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
        cur = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if await cur.fetchone() is None:
            await conn.execute(pg_sql.SQL("CREATE SCHEMA {}").format(pg_sql.Identifier(schema)))

    async def _schema_of(self, conn: psycopg.AsyncConnection[Any]) -> int:
        cur = await conn.execute(sql.TABLES)
        tables = {row[0] for row in await cur.fetchall()}
        if tables and "fluxio_meta" not in tables:
            raise IncompatibleDatabase(
                f"{redact_url(self.url)}: the schema already has tables "
                f"({', '.join(sorted(tables)[:5])}) but is not a fluxio database; use another "
                "database or schema. Nothing was changed."
            )
        if not tables:
            return 0
        cur = await conn.execute(sql.GET_VERSION)
        row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > LATEST:
            raise IncompatibleDatabase(
                f"{redact_url(self.url)} has schema version {version}, written by a newer "
                f"fluxio; this one knows versions up to {LATEST}. Upgrade fluxio; the database "
                "was not touched."
            )
        return version

    async def schema_version(self) -> int:
        """The schema version recorded in the database."""
        async with self._pool.connection() as conn:
            return await self._schema_of(conn)

    # -- group commit --------------------------------------------------------------------

    async def _write(self, op: Op, solo: Solo | None = None) -> Any:
        future = self.write_with_next_commit(op)
        if solo is not None:
            self._solo[future] = solo
        return await future

    def write_with_next_commit(self, op: Op) -> asyncio.Future[Any]:
        """Queue ``op`` (an async function of the batch's transaction) for the next group
        commit, without waiting.

        An op queued in the same event-loop turn as a run's commit goes out in the same
        pipelined transaction, so a record about a step, such as its audit entry, costs no
        transaction or round trip of its own. The future gets the op's result or error.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        """Apply queued writes, a batch per transaction, until none are left."""
        try:
            # This task starts a loop turn after the first write was queued, so every write of
            # that turn is in the first batch; writes queued while a batch is out form the next.
            while self._pending:
                batch, self._pending = self._pending, []
                solos = [self._solo.pop(future, None) for _, future in batch]
                if len(batch) == 1 and solos[0] is not None:
                    await self._apply_solo(solos[0], batch[0][1])
                else:
                    await self._apply(batch)
        finally:
            self._flusher = None

    async def _apply(self, batch: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        for attempt in range(4):
            batch = [(op, future) for op, future in batch if not future.done()]
            try:
                async with asyncio.timeout(self._command_timeout), pooled(self._pool) as conn:
                    if len(batch) > 1 and await self._together(conn, batch):
                        return
                    for op, future in batch:
                        await self._alone(conn, op, future)
                return
            except _TRANSIENT as exc:
                if attempt == 3:
                    _fail(batch, StoreError(f"write kept conflicting, giving up: {exc}"))
                    return
                await asyncio.sleep(0.01 * 2**attempt)
            except Exception as exc:  # noqa: BLE001 - store boundary: every waiter gets it
                _fail(batch, translate(exc, self.url))
                return

    async def _apply_solo(self, solo: Solo, future: asyncio.Future[Any]) -> None:
        """A batch of one single-statement write: one autocommit round trip."""
        for attempt in range(4):
            try:
                async with asyncio.timeout(self._command_timeout), pooled(self._pool) as conn:
                    await conn.execute(*solo)
                _settle(future, None)
                return
            except _TRANSIENT as exc:
                if attempt == 3:
                    _settle(future, StoreError(f"write kept conflicting, giving up: {exc}"))
                    return
                await asyncio.sleep(0.01 * 2**attempt)
            except psycopg.IntegrityError as exc:
                _settle(future, StoreError(f"write refused by the database: {exc}"))
                return
            except psycopg.Error as exc:
                lost = exc.sqlstate == sql.LEASE_LOST
                message = exc.diag.message_primary or str(exc)
                _settle(future, LeaseLost(message) if lost else translate(exc, self.url))
                return
            except Exception as exc:  # noqa: BLE001 - store boundary: the waiter gets it
                _settle(future, translate(exc, self.url))
                return

    async def _direct(self, op: Op) -> Any:
        """One operation in its own transaction, now, on its own connection.

        Claims and heartbeats do not queue behind a group-commit batch: a batch waiting on a
        row lock must not delay the heartbeat that keeps this worker's leases alive.
        """
        for attempt in range(4):
            try:
                async with asyncio.timeout(self._command_timeout), pooled(self._pool) as conn:
                    (value,) = await self._transaction(conn, [op])
                    return value
            except _TRANSIENT as exc:
                if attempt == 3:
                    raise StoreError(f"write kept conflicting, giving up: {exc}") from exc
                await asyncio.sleep(0.01 * 2**attempt)
            except (StoreError, UsageError):
                raise
            except Exception as exc:
                raise translate(exc, self.url) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _together(
        self, conn: psycopg.AsyncConnection[Any], batch: list[tuple[Op, asyncio.Future[Any]]]
    ) -> bool:
        """Try the whole batch in one transaction; False if an operation refused (rolled back)."""
        try:
            results = await self._transaction(conn, [op for op, _ in batch])
        except (StoreError, UsageError, psycopg.IntegrityError):
            return False
        except psycopg.Error as exc:
            if exc.sqlstate != sql.LEASE_LOST:
                raise
            return False
        for (_, future), value in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(value)
        return True

    async def _alone(
        self, conn: psycopg.AsyncConnection[Any], op: Op, future: asyncio.Future[Any]
    ) -> None:
        try:
            (value,) = await self._transaction(conn, [op])
        except (StoreError, UsageError) as exc:
            _settle(future, exc)
        except psycopg.IntegrityError as exc:
            _settle(future, StoreError(f"write refused by the database: {exc}"))
        except psycopg.Error as exc:
            if exc.sqlstate != sql.LEASE_LOST:
                raise
            _settle(future, LeaseLost(exc.diag.message_primary or str(exc)))
        else:
            _settle(future, None, value)

    @staticmethod
    async def _transaction(conn: psycopg.AsyncConnection[Any], ops: list[Op]) -> list[Any]:
        """Run ops in one transaction in pipeline mode: BEGIN, the statements whose results
        nobody reads (fences, journal inserts) and COMMIT go out together, one round trip.

        ``conn.transaction()`` is not used: in pipeline mode it syncs after BEGIN and around
        COMMIT, four round trips instead of one.
        """
        results: list[Any] = []
        try:
            async with conn.pipeline(), conn.cursor() as cur:
                await cur.execute("BEGIN")
                await cur.execute(sql.SCOPE, (SYSTEM_SCOPE,))
                txs = []
                for op in ops:
                    tx = _Tx(cur)
                    results.append(await op(tx))
                    txs.append(tx)
                if any(tx.wakes for tx in txs):
                    await cur.execute(sql.NOTIFY)
                await cur.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
        return results

    async def _read(self, tenant_id: str, query: str, params: Sequence[Any]) -> list[Any]:
        """A read in one tenant's scope: row-level security shows only that tenant's rows."""
        for attempt in range(2):
            try:
                async with pooled(self._pool) as conn:
                    try:
                        async with conn.pipeline(), conn.cursor() as cur, conn.cursor() as rows:
                            await cur.execute("BEGIN")
                            await cur.execute(sql.SCOPE, (tenant_id,))
                            await rows.execute(query, params)
                            await cur.execute("COMMIT")
                            return await rows.fetchall()
                    except BaseException:
                        await _rollback(conn)
                        raise
            except pg_errors.InvalidSqlStatementName as exc:
                if attempt == 1:
                    raise translate(exc, self.url) from exc
            except psycopg.Error as exc:
                raise translate(exc, self.url) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the Store protocol --------------------------------------------------------------

    async def create_run(self, new: NewRun) -> tuple[Run, bool]:
        async def op(tx: _Tx) -> tuple[Run, bool]:
            [row] = await tx.rows(sql.CREATE_RUN, sql.create_run_row(new))  # new, or existing
            return sql.run_of(row[1:]), bool(row[0])

        result: tuple[Run, bool] = await self._write(op)
        return result

    async def get_run(self, tenant_id: str, run_id: str) -> Run | None:
        rows = await self._read(tenant_id, sql.GET_RUN, (tenant_id, run_id))
        return sql.run_of(rows[0]) if rows else None

    async def list_runs(self, query: RunQuery) -> list[Run]:
        text, params = sql.list_runs(query)
        return [sql.run_of(r) for r in await self._read(query.tenant_id, text, params)]

    async def read_journal(self, tenant_id: str, run_id: str) -> list[JournalEntry]:
        rows = await self._read(tenant_id, sql.JOURNAL, (tenant_id, run_id))
        return [sql.entry_of(r) for r in rows]

    async def claim(
        self,
        worker_id: str,
        *,
        limit: int,
        lease_seconds: float,
        now: float,
        run_ids: Sequence[str] = (),
        workflows: Sequence[str] = (),
        queues: Sequence[str] = (),
    ) -> list[Claim]:
        async def op(tx: _Tx) -> list[Claim]:
            text, params = sql.claim_unlimited(
                now, limit, now + lease_seconds, worker_id, run_ids, workflows, queues
            )
            leased, probe = tx.cur.connection.cursor(), tx.cur.connection.cursor()
            await leased.execute(text, params)
            await probe.execute(sql.HAS_LIMITS)  # sent with it: one round trip
            runs = [sql.run_of(r) for r in await leased.fetchall()]
            limited = await probe.fetchone()
            self._capped = bool(limited and limited[0])
            if runs or not self._capped:
                return await sql.claims_for(tx.cur, runs, worker_id) if runs else []
            capacity = await _capacity(tx, now)
            if capacity and not sql.has_room(capacity):
                return []
            text, params = sql.candidates(
                now, limit, run_ids, workflows, queues, capacity.full(), capped=bool(capacity)
            )
            picked = [(r[0], r[1], r[2]) for r in await tx.rows(text, params)]
            if capacity:
                picked = [p for p in picked if capacity.take(p[0], p[2])][:limit]
            if not picked:
                return []
            lease = (worker_id, now + lease_seconds, now)
            pairs = ([p[0] for p in picked], [p[1] for p in picked])
            runs = [sql.run_of(r) for r in await tx.rows(sql.LEASE_RUNS, (*lease, *pairs))]
            return await sql.claims_for(tx.cur, runs, worker_id)

        result: list[Claim] = await self._direct(op)
        return sorted(result, key=lambda c: (-c.run.priority, c.run.runnable_at or 0, c.run.run_id))

    async def set_limit(self, limit: ConcurrencyLimit) -> None:
        check_limit(limit)

        async def op(tx: _Tx) -> None:
            if limit.max_active is None:
                await tx.cur.execute(sql.DELETE_LIMIT, (limit.tenant_id, limit.queue))
            else:
                await tx.cur.execute(
                    sql.UPSERT_LIMIT, (limit.tenant_id, limit.queue, limit.max_active)
                )
                tx.wakes = True  # a raised limit may free capacity
                self._capped = True

        await self._write(op)

    async def heartbeat(
        self, worker_id: str, leases: Sequence[Lease], *, lease_seconds: float, now: float
    ) -> Heartbeat:
        async def op(tx: _Tx) -> Heartbeat:
            tenants = [lease.tenant_id for lease in leases]
            runs = [lease.run_id for lease in leases]
            epochs = [lease.epoch for lease in leases]
            extended, asked = tx.cur.connection.cursor(), tx.cur.connection.cursor()
            await extended.execute(
                sql.EXTEND_LEASES, (now + lease_seconds, tenants, runs, epochs, worker_id)
            )
            await asked.execute(sql.CANCEL_ASKED, (SIGNAL_CANCEL, tenants, runs))
            kept = {(r[0], r[1]) for r in await extended.fetchall()}
            lost = frozenset(
                lease.run_id for lease in leases if (lease.tenant_id, lease.run_id) not in kept
            )
            cancel = frozenset(r[0] for r in await asked.fetchall()) - lost
            return Heartbeat(lost, cancel)

        if not leases:
            return Heartbeat(frozenset(), frozenset())
        result: Heartbeat = await self._direct(op)
        return result

    async def commit(self, commit: Commit) -> None:
        if _appends_only(commit):
            # The hot path (a step's intent or outcome): one statement, alone or in a batch.
            solo: Solo = (sql.APPEND, sql.append_row(commit.lease, commit.now, commit.entries))

            async def append(tx: _Tx) -> None:
                await tx.cur.execute(*solo)

            await self._write(append, solo)
            return

        async def op(tx: _Tx) -> None:
            await _apply_commit(tx, commit)
            if self._capped and commit.transition is not None:
                tx.wakes = True  # the run's slot under a concurrency limit is free now

        await self._write(op)

    async def send_signal(
        self, tenant_id: str, run_id: str, name: str, payload: object, *, now: float
    ) -> Run:
        async def op(tx: _Tx) -> Run:
            run = await _locked(tx, tenant_id, run_id)
            if run is None:
                raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
            if run.status in TERMINAL:
                raise UsageError(f"run {run_id} is already {run.status}; it takes no more signals")
            await _insert_signal(tx, OutgoingSignal(tenant_id, run_id, name, payload), now)
            return await _locked(tx, tenant_id, run_id) or run

        result: Run = await self._write(op)
        return result

    async def amend(
        self,
        tenant_id: str,
        run_id: str,
        *,
        expect: frozenset[RunStatus],
        entries: Sequence[JournalEntry] = (),
        transition: Transition,
        now: float,
    ) -> Run:
        async def op(tx: _Tx) -> Run:
            run = await _locked(tx, tenant_id, run_id)
            if run is None:
                raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
            live = run.lease_expires_at is not None and run.lease_expires_at >= now
            if run.status not in expect or live:
                state = f"{run.status} and held by a worker" if live else str(run.status)
                raise UsageError(
                    f"run {run_id} is {state}; this needs it "
                    f"{' or '.join(sorted(s.value for s in expect))}"
                )
            await sql.insert_entries(tx.cur, tenant_id, run_id, entries)
            await tx.cur.execute(
                sql.UPDATE_RUN, sql.transition_row(transition, now, tenant_id, run_id)
            )
            tx.wakes = transition.runnable_at is not None and transition.runnable_at <= now
            return await _locked(tx, tenant_id, run_id) or run

        result: Run = await self._write(op)
        return result

    # -- wake-ups ------------------------------------------------------------------------

    def on_wake(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever any process makes work runnable (LISTEN/NOTIFY)."""
        self._wake_callbacks.append(callback)
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, **self._kwargs)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.1
                    self._notify_all()  # anything added while we were not listening
                    async for _ in conn.notifies():
                        self._notify_all()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _notify_all(self) -> None:
        for callback in self._wake_callbacks:
            callback()

    # -- closing -------------------------------------------------------------------------

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        await self._pool.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# -- operations inside a transaction -----------------------------------------------------------


def _appends_only(commit: Commit) -> bool:
    return bool(commit.entries) and not (
        commit.transition or commit.children or commit.signals or commit.consumed
    )


async def _apply_commit(tx: _Tx, commit: Commit) -> None:
    """A lease holder's commit; the fence comes first and aborts everything if the lease is lost."""
    lease = commit.lease
    t = commit.transition
    await tx.cur.execute(
        sql.FENCE, (lease.tenant_id, lease.run_id, lease.epoch, lease.worker_id, commit.now)
    )
    if t is not None:
        row = sql.transition_row(t, commit.now, lease.tenant_id, lease.run_id)
        await tx.cur.execute(sql.UPDATE_RUN, row)
    await sql.insert_entries(tx.cur, lease.tenant_id, lease.run_id, commit.entries)
    if commit.consumed:
        await tx.cur.execute(sql.CONSUME, (list(commit.consumed), lease.tenant_id, lease.run_id))
    for child in commit.children:
        await tx.cur.execute(sql.INSERT_RUN, sql.new_run_row(child))
        tx.wakes = True
    if t is not None and t.status is RunStatus.WAITING:
        await tx.cur.execute(
            sql.WAKE_ON_LATE_SIGNALS,
            (commit.now, lease.tenant_id, lease.run_id, lease.signal_mark),
        )
    if t is not None and t.runnable_at is not None and t.runnable_at <= commit.now:
        tx.wakes = True
    for out in commit.signals:
        target = await _locked(tx, out.tenant_id, out.run_id)
        if target is not None and target.status not in TERMINAL:
            await _insert_signal(tx, out, commit.now)


async def _insert_signal(tx: _Tx, out: OutgoingSignal, now: float) -> None:
    """Insert a signal (the target's row is locked, so signal ids grow in commit order)."""
    await tx.cur.execute(
        sql.INSERT_SIGNAL, (out.tenant_id, out.run_id, out.name, sql.jsonb(out.payload), now)
    )
    await tx.cur.execute(sql.WAKE_WAITING, (now, now, out.tenant_id, out.run_id))


async def _locked(tx: _Tx, tenant_id: str, run_id: str) -> Run | None:
    rows = await tx.rows(sql.LOCK_RUN, (tenant_id, run_id))
    return sql.run_of(rows[0]) if rows else None


async def _capacity(tx: _Tx, now: float) -> Capacity:
    """Limits in force, locked so concurrent claimers count one after another."""
    limits = [ConcurrencyLimit(*row) for row in await tx.rows(sql.LOCK_LIMITS)]
    if not limits:
        return Capacity((), ())
    return Capacity(limits, [(r[0], r[1]) for r in await tx.rows(sql.ACTIVE, (now,))])


async def _rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    """End a failed transaction so the connection goes back to the pool clean.

    Bounded: after a timeout the server may not answer at all, and a connection left
    mid-transaction is discarded by the pool anyway.
    """
    idle = psycopg.pq.TransactionStatus.IDLE
    if not conn.closed and conn.info.transaction_status != idle:
        with contextlib.suppress(psycopg.Error, TimeoutError):
            async with asyncio.timeout(1.0):
                await conn.execute("ROLLBACK")


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: Any = None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def _fail(batch: list[tuple[Op, asyncio.Future[Any]]], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


@contextlib.asynccontextmanager
async def pooled(pool: AsyncConnectionPool[Any]) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection from ``pool``; one whose prepared statements fell out of step with the
    server (SQLSTATE 26000, after a pipeline was interrupted mid-way) is closed instead of
    going back, so the next attempt gets a fresh connection rather than the same error."""
    async with pool.connection() as conn:
        try:
            yield conn
        except pg_errors.InvalidSqlStatementName:
            await conn.close()
            raise


def translate(exc: BaseException, url: str) -> Exception:
    """A database error as a ``StoreError`` that says what to do; others unchanged."""
    if isinstance(exc, StoreError | UsageError):
        return exc
    if isinstance(exc, TimeoutError):
        return StoreError(
            f"PostgreSQL at {redact_url(url)} did not answer in time; the connection was dropped "
            "and the write may or may not have committed (replay reads the journal). Workers "
            "retry with backoff."
        )
    if isinstance(exc, psycopg.OperationalError | OSError):
        return StoreError(
            f"lost the connection to PostgreSQL at {redact_url(url)} ({exc}); the write was not "
            "committed. Workers retry with backoff once the database is back."
        )
    if isinstance(exc, pg_errors.DiskFull):
        return StoreError(f"PostgreSQL at {redact_url(url)} is out of disk space: {exc}")
    if isinstance(exc, psycopg.Error):
        return StoreError(f"PostgreSQL at {redact_url(url)} refused a write: {exc}")
    return exc if isinstance(exc, Exception) else StoreError(str(exc))


def redact_url(url: str) -> str:
    """A connection URL with its password replaced by ``***``, safe to print."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
