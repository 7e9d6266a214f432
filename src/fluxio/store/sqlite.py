"""The embedded default store: one SQLite file, WAL, one writer, group commit.

All writes of one process go through one connection. Writes requested in the same event-loop
turn (the steps of many concurrent runs) are applied in one transaction, each in its own
savepoint, so concurrent runs share one commit (and one fsync) instead of paying one each.

Durability levels (``PRAGMA synchronous``):

- ``full`` (default): a commit is on disk when acknowledged; survives process crash and
  power loss.
- ``normal``: a commit survives a process crash (SIGKILL, OOM); the last transactions may be
  lost on power loss or an OS crash. Several times faster per step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from fluxio.errors import (
    DatabaseLocked,
    IncompatibleDatabase,
    LeaseLost,
    NotFound,
    StorageFull,
    StoreError,
    UsageError,
)
from fluxio.store.base import SIGNAL_CANCEL
from fluxio.store.limits import Capacity, check_limit
from fluxio.store.migrations import LATEST, MIGRATIONS
from fluxio.store.records import (
    TERMINAL,
    Claim,
    Commit,
    ConcurrencyLimit,
    EntryKind,
    Heartbeat,
    JournalEntry,
    Lease,
    NewRun,
    OutgoingSignal,
    Run,
    RunQuery,
    RunStatus,
    Signal,
    Transition,
    Wait,
)

__all__ = ["Durability", "SQLiteStore"]

Durability = Literal["full", "normal"]
T = TypeVar("T")
Op = Callable[[sqlite3.Cursor], Any]

_RUN_COLUMNS = (
    "run_id, tenant_id, workflow, input, status, created_at, updated_at, parent_run_id, "
    "idempotency_key, wait, result, error, attention, epoch, lease_owner, lease_expires_at, "
    "runnable_at, priority, queue"
)
_TERMINAL = tuple(s.value for s in TERMINAL)
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


def _dump(value: Any) -> str | None:
    return None if value is None else _dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else _loads(text)


class SQLiteStore:
    """A durable store in one SQLite file.

    Args:
        path: the database file; created (with its directory) if missing.
        durability: ``full`` (fsync every commit) or ``normal`` (survives process crashes).
        busy_timeout: seconds to wait for another process's write lock before failing.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability = "full",
        busy_timeout: float = 5.0,
    ) -> None:
        if durability not in ("full", "normal"):
            raise UsageError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self._busy_timeout = busy_timeout
        self._conn = self._open_patiently()
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._flush_scheduled = False

    # -- opening -----------------------------------------------------------------------

    def _open_patiently(self) -> sqlite3.Connection:
        """Open, retrying while another process creates or converts the same new file.

        Two processes opening a brand-new file at once race to switch it to WAL and create the
        schema; SQLite reports "locked" at once (not after the busy timeout) when waiting could
        deadlock, so the loser retries until the busy timeout has passed.
        """
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                return self._open()
            except DatabaseLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        try:
            self._schema_of(conn)  # refuse foreign or newer files before changing anything
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute(f"PRAGMA synchronous={self.durability.upper()}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._translate(exc, "open") from exc
        except StoreError:
            conn.close()
            raise
        return conn

    def _schema_of(self, conn: sqlite3.Connection) -> int:
        """The file's fluxio schema version (0 if empty); refuses foreign and newer files."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "fluxio_meta" not in tables:
            raise IncompatibleDatabase(
                f"{self.path} is a SQLite database but not a fluxio one (it has tables "
                f"{', '.join(sorted(tables)[:5])}); point FLUXIO_DATABASE_URL at another file. "
                "Nothing was changed."
            )
        version = 0
        if tables:
            row = conn.execute(
                "SELECT value FROM fluxio_meta WHERE key='schema_version'"
            ).fetchone()
            version = int(row[0]) if row else 0
        if version > LATEST:
            raise IncompatibleDatabase(
                f"{self.path} has schema version {version}, written by a newer fluxio; this one "
                f"knows versions up to {LATEST}. Upgrade fluxio (pip install -U fluxio); the "
                "database was not touched."
            )
        return version

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._schema_of(conn) >= LATEST:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._schema_of(conn)  # again under the write lock: another may have won
            pending = [m for m in MIGRATIONS if m.version > version]
            if not pending:
                conn.execute("ROLLBACK")
                return
            if version == 0:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS fluxio_meta "
                    "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
            for migration in pending:
                for statement in migration.sqlite.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(
                "INSERT INTO fluxio_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(pending[-1].version),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        row = self._conn.execute(
            "SELECT value FROM fluxio_meta WHERE key='schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    def _translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return DatabaseLocked(
                f"{self.path} stayed locked by another process for more than "
                f"{self._busy_timeout:g}s while trying to {doing}; stop the other process or "
                "raise busy_timeout. Nothing was written."
            )
        if "full" in text:
            return StorageFull(
                f"{self.path}: the disk is full while trying to {doing}; free some space and "
                "retry. The transaction was rolled back; stored data is intact."
            )
        if "not a database" in text or "malformed" in text or "encrypted" in text:
            return IncompatibleDatabase(
                f"{self.path} is not a fluxio database or is damaged ({text}); point "
                "FLUXIO_DATABASE_URL at another file. The file was not changed."
            )
        return StoreError(f"{self.path}: could not {doing}: {text}")

    # -- group commit --------------------------------------------------------------------

    async def _write(self, op: Op) -> Any:
        return await self.write_with_next_commit(op)

    def write_with_next_commit(self, op: Op) -> asyncio.Future[Any]:
        """Queue ``op`` (a function of a cursor) for the next group commit, without waiting.

        An op queued in the same event-loop turn as a run's commit is applied in the same
        transaction (in its own savepoint), so a record about a step, such as its audit
        entry, costs no commit of its own. The future gets the op's result or error.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((op, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        try:
            results = self._apply(batch)
        except Exception as exc:  # noqa: BLE001 - store boundary: every waiter gets the error
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            error = self._translate(exc, "commit") if isinstance(exc, sqlite3.Error) else exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for future, value, failure in results:
            if future.done():
                continue
            if failure is None:
                future.set_result(value)
            else:
                future.set_exception(failure)

    def _apply(
        self, batch: list[tuple[Op, asyncio.Future[Any]]]
    ) -> list[tuple[asyncio.Future[Any], Any, Exception | None]]:
        """One transaction for the whole batch.

        Refusals (a lost lease, a duplicate outcome) are rare, so the batch first runs without
        savepoints; if an operation refuses, the transaction is rolled back and the batch is
        replayed with a savepoint per operation, so only the refused one is undone.
        """
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            results = [(future, op(cur), None) for op, future in batch]
        except (StoreError, UsageError, sqlite3.IntegrityError) as exc:
            cur.execute("ROLLBACK")
            if len(batch) == 1:
                return [(batch[0][1], None, _refused(exc))]
            return self._apply_guarded(cur, batch)
        cur.execute("COMMIT")
        return results  # type: ignore[return-value]

    def _apply_guarded(
        self, cur: sqlite3.Cursor, batch: list[tuple[Op, asyncio.Future[Any]]]
    ) -> list[tuple[asyncio.Future[Any], Any, Exception | None]]:
        """The batch again, each operation in its own savepoint."""
        results: list[tuple[asyncio.Future[Any], Any, Exception | None]] = []
        cur.execute("BEGIN IMMEDIATE")
        for op, future in batch:
            cur.execute("SAVEPOINT op")
            try:
                results.append((future, op(cur), None))
            except (StoreError, UsageError, sqlite3.IntegrityError) as exc:
                cur.execute("ROLLBACK TO op")
                results.append((future, None, _refused(exc)))
            cur.execute("RELEASE op")
        cur.execute("COMMIT")
        return results

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc, "read") from exc

    # -- the Store protocol --------------------------------------------------------------

    async def create_run(self, new: NewRun) -> tuple[Run, bool]:
        def op(cur: sqlite3.Cursor) -> tuple[Run, bool]:
            created = _insert_run(cur, new)
            row = cur.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id=? AND "
                "(run_id=? OR (idempotency_key IS NOT NULL AND idempotency_key=?)) "
                "ORDER BY run_id=? DESC LIMIT 1",
                (new.tenant_id, new.run_id, new.idempotency_key, new.run_id),
            ).fetchone()
            return _run(row), created

        result: tuple[Run, bool] = await self._write(op)
        return result

    async def get_run(self, tenant_id: str, run_id: str) -> Run | None:
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id=? AND run_id=?", (tenant_id, run_id)
        )
        return _run(rows[0]) if rows else None

    async def list_runs(self, query: RunQuery) -> list[Run]:
        where, params = ["tenant_id=?"], [query.tenant_id]
        if query.statuses:
            where.append(f"status IN ({','.join('?' * len(query.statuses))})")
            params.extend(s.value for s in query.statuses)
        if query.workflow is not None:
            where.append("workflow=?")
            params.append(query.workflow)
        if query.parent_run_id is not None:
            where.append("parent_run_id=?")
            params.append(query.parent_run_id)
        if query.run_ids:
            where.append(f"run_id IN ({','.join('?' * len(query.run_ids))})")
            params.extend(query.run_ids)
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, run_id DESC LIMIT ?",
            [*params, query.limit],
        )
        return [_run(r) for r in rows]

    async def read_journal(self, tenant_id: str, run_id: str) -> list[JournalEntry]:
        return _journal(self._conn.cursor(), tenant_id, run_id)

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
        def op(cur: sqlite3.Cursor) -> list[Claim]:
            only = f" AND run_id IN ({','.join('?' * len(run_ids))})" if run_ids else ""
            if workflows:
                only += f" AND workflow IN ({','.join('?' * len(workflows))})"
            if queues:
                only += f" AND queue IN ({','.join('?' * len(queues))})"
            capacity = _capacity(cur, now)
            # Lazily iterated: with limits in force, candidates over a full limit are skipped.
            rows = cur.connection.execute(  # its own cursor: the loop below writes on `cur`
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE runnable_at <= ? AND "
                "(lease_expires_at IS NULL OR lease_expires_at < ?)"
                f"{only} ORDER BY priority DESC, runnable_at, run_id"
                f"{'' if capacity else ' LIMIT ?'}",
                (now, now, *run_ids, *workflows, *queues, *(() if capacity else (limit,))),
            )
            claims: list[Claim] = []
            expires = now + lease_seconds
            for row in rows:
                run = _run(row)
                if len(claims) >= limit:
                    break
                if run.status in TERMINAL:
                    continue
                if capacity and not capacity.take(run.tenant_id, run.queue):
                    continue
                epoch = run.epoch + 1
                cur.execute(
                    "UPDATE runs SET epoch=?, lease_owner=?, lease_expires_at=?, updated_at=? "
                    "WHERE tenant_id=? AND run_id=?",
                    (epoch, worker_id, expires, now, run.tenant_id, run.run_id),
                )
                claimed = _replace_lease(run, epoch, worker_id, expires, now)
                signals = tuple(_signals(cur, run.tenant_id, run.run_id))
                mark = max((s.signal_id for s in signals), default=0)
                claims.append(
                    Claim(
                        claimed,
                        Lease(run.run_id, run.tenant_id, worker_id, epoch, expires, mark),
                        tuple(_journal(cur, run.tenant_id, run.run_id)),
                        signals,
                    )
                )
            return claims

        result: list[Claim] = await self._write(op)
        return result

    async def set_limit(self, limit: ConcurrencyLimit) -> None:
        check_limit(limit)

        def op(cur: sqlite3.Cursor) -> None:
            if limit.max_active is None:
                cur.execute(
                    "DELETE FROM concurrency_limits WHERE tenant_id=? AND queue=?",
                    (limit.tenant_id, limit.queue),
                )
            else:
                cur.execute(
                    "INSERT INTO concurrency_limits (tenant_id, queue, max_active) VALUES "
                    "(?, ?, ?) ON CONFLICT (tenant_id, queue) DO UPDATE SET "
                    "max_active = excluded.max_active",
                    (limit.tenant_id, limit.queue, limit.max_active),
                )

        await self._write(op)

    async def heartbeat(
        self, worker_id: str, leases: Sequence[Lease], *, lease_seconds: float, now: float
    ) -> Heartbeat:
        def op(cur: sqlite3.Cursor) -> Heartbeat:
            lost, cancel = set(), set()
            for lease in leases:
                cur.execute(
                    "UPDATE runs SET lease_expires_at=? WHERE tenant_id=? AND run_id=? AND "
                    "epoch=? AND lease_owner=?",
                    (now + lease_seconds, lease.tenant_id, lease.run_id, lease.epoch, worker_id),
                )
                if cur.rowcount == 0:
                    lost.add(lease.run_id)
                elif cur.execute(
                    "SELECT 1 FROM signals WHERE tenant_id=? AND run_id=? AND name=? LIMIT 1",
                    (lease.tenant_id, lease.run_id, SIGNAL_CANCEL),
                ).fetchone():
                    cancel.add(lease.run_id)
            return Heartbeat(frozenset(lost), frozenset(cancel))

        result: Heartbeat = await self._write(op)
        return result

    async def commit(self, commit: Commit) -> None:
        await self._write(lambda cur: _apply_commit(cur, commit))

    async def send_signal(
        self, tenant_id: str, run_id: str, name: str, payload: object, *, now: float
    ) -> Run:
        def op(cur: sqlite3.Cursor) -> Run:
            run = _get(cur, tenant_id, run_id)
            if run is None:
                raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
            if run.status in TERMINAL:
                raise UsageError(f"run {run_id} is already {run.status}; it takes no more signals")
            _insert_signal(cur, OutgoingSignal(tenant_id, run_id, name, payload), now)
            return _get(cur, tenant_id, run_id) or run

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
        def op(cur: sqlite3.Cursor) -> Run:
            run = _get(cur, tenant_id, run_id)
            if run is None:
                raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
            live = run.lease_expires_at is not None and run.lease_expires_at >= now
            if run.status not in expect or live:
                state = f"{run.status} and held by a worker" if live else str(run.status)
                raise UsageError(
                    f"run {run_id} is {state}; this needs it "
                    f"{' or '.join(sorted(s.value for s in expect))}"
                )
            _insert_entries(cur, tenant_id, run_id, entries)
            _update_run(cur, tenant_id, run_id, transition, now)
            return _get(cur, tenant_id, run_id) or run

        result: Run = await self._write(op)
        return result

    async def close(self) -> None:
        if self._pending:
            self._flush()
        self._conn.close()

    async def __aenter__(self) -> SQLiteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _refused(exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreError(f"write refused by the database: {exc}")
    return exc


# -- statements -----------------------------------------------------------------------------


def _insert_run(cur: sqlite3.Cursor, new: NewRun) -> bool:
    cur.execute(
        "INSERT INTO runs (run_id, tenant_id, workflow, input, status, created_at, updated_at, "
        "parent_run_id, idempotency_key, runnable_at, priority, queue) "
        "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            new.run_id,
            new.tenant_id,
            new.workflow,
            _dump(new.input),
            new.created_at,
            new.created_at,
            new.parent_run_id,
            new.idempotency_key,
            new.created_at,
            new.priority,
            new.queue,
        ),
    )
    return cur.rowcount == 1


def _capacity(cur: sqlite3.Cursor, now: float) -> Capacity:
    limits = [
        ConcurrencyLimit(*row)
        for row in cur.execute("SELECT tenant_id, queue, max_active FROM concurrency_limits")
    ]
    if not limits:
        return Capacity((), ())
    active = cur.execute(
        "SELECT tenant_id, queue FROM runs WHERE lease_owner IS NOT NULL AND lease_expires_at >= ?",
        (now,),
    ).fetchall()
    return Capacity(limits, [(t, q) for t, q in active])


_INSERT_ENTRY = (
    "INSERT INTO journal (tenant_id, run_id, seq, step_key, kind, name, ok, value, attempts, "
    "started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ENTRY_FENCED = (
    "INSERT INTO journal (tenant_id, run_id, seq, step_key, kind, name, ok, value, attempts, "
    "started_at, finished_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM "
    "runs WHERE tenant_id=? AND run_id=? AND epoch=? AND lease_owner=?)"
)


def _apply_commit(cur: sqlite3.Cursor, commit: Commit) -> None:
    """Apply a lease holder's commit; the first write doubles as the fencing check."""
    lease = commit.lease
    fence = (lease.tenant_id, lease.run_id, lease.epoch, lease.worker_id)
    entries = commit.entries
    if entries:
        first = _entry_row(lease.tenant_id, lease.run_id, entries[0])
        if cur.execute(_INSERT_ENTRY_FENCED, first + fence).rowcount == 0:
            raise _lost(lease)
        _insert_entries(cur, lease.tenant_id, lease.run_id, entries[1:])
    elif not cur.execute(
        "SELECT 1 FROM runs WHERE tenant_id=? AND run_id=? AND epoch=? AND lease_owner=?", fence
    ).fetchone():
        raise _lost(lease)
    if commit.consumed:
        cur.executemany(  # only this run's own signals: an id from elsewhere consumes nothing
            "DELETE FROM signals WHERE signal_id=? AND tenant_id=? AND run_id=?",
            [(sid, lease.tenant_id, lease.run_id) for sid in commit.consumed],
        )
    for child in commit.children:
        _insert_run(cur, child)
    if commit.transition is not None:
        _update_run(cur, lease.tenant_id, lease.run_id, commit.transition, commit.now)
        if commit.transition.status is RunStatus.WAITING:
            _wake_on_late_signals(cur, lease, commit.now)
    for out in commit.signals:
        target = _get(cur, out.tenant_id, out.run_id)
        if target is not None and target.status not in TERMINAL:
            _insert_signal(cur, out, commit.now)


def _wake_on_late_signals(cur: sqlite3.Cursor, lease: Lease, now: float) -> None:
    """A signal sent while this lease held the run would be lost by going to sleep: wake it."""
    cur.execute(
        "UPDATE runs SET runnable_at=? WHERE tenant_id=? AND run_id=? AND EXISTS (SELECT 1 "
        "FROM signals WHERE tenant_id=? AND run_id=? AND signal_id>?)",
        (now, lease.tenant_id, lease.run_id, lease.tenant_id, lease.run_id, lease.signal_mark),
    )


def _lost(lease: Lease) -> LeaseLost:
    return LeaseLost(
        f"run {lease.run_id}: this worker's lease (epoch {lease.epoch}) was taken over by "
        "another worker; its write was refused"
    )


def _entry_row(tenant_id: str, run_id: str, e: JournalEntry) -> tuple[Any, ...]:
    return (
        tenant_id,
        run_id,
        e.seq,
        e.step_key,
        e.kind.value,
        e.name,
        int(e.ok),
        _dump(e.value),
        e.attempts,
        e.started_at,
        e.finished_at,
    )


def _insert_entries(
    cur: sqlite3.Cursor, tenant_id: str, run_id: str, entries: Sequence[JournalEntry]
) -> None:
    if entries:
        cur.executemany(_INSERT_ENTRY, [_entry_row(tenant_id, run_id, e) for e in entries])


def _insert_signal(cur: sqlite3.Cursor, out: OutgoingSignal, now: float) -> None:
    cur.execute(
        "INSERT INTO signals (tenant_id, run_id, name, payload, sent_at) VALUES (?, ?, ?, ?, ?)",
        (out.tenant_id, out.run_id, out.name, _dump(out.payload), now),
    )
    cur.execute(
        "UPDATE runs SET runnable_at=?, updated_at=? WHERE tenant_id=? AND run_id=? AND "
        "status='waiting'",
        (now, now, out.tenant_id, out.run_id),
    )


def _update_run(
    cur: sqlite3.Cursor, tenant_id: str, run_id: str, t: Transition, now: float
) -> None:
    holds = t.status is RunStatus.RUNNING
    wait = None if t.wait is None else [t.wait.reason, t.wait.detail, t.wait.until]
    cur.execute(
        "UPDATE runs SET status=?, wait=?, result=?, error=?, attention=?, runnable_at=?, "
        f"updated_at=?{'' if holds else ', lease_owner=NULL, lease_expires_at=NULL'} "
        "WHERE tenant_id=? AND run_id=?",
        (
            t.status.value,
            _dump(wait),
            _dump(t.result),
            _dump(t.error),
            _dump(t.attention),
            None if t.status in TERMINAL else t.runnable_at,
            now,
            tenant_id,
            run_id,
        ),
    )


def _get(cur: sqlite3.Cursor, tenant_id: str, run_id: str) -> Run | None:
    row = cur.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id=? AND run_id=?", (tenant_id, run_id)
    ).fetchone()
    return _run(row) if row else None


def _journal(cur: sqlite3.Cursor, tenant_id: str, run_id: str) -> list[JournalEntry]:
    rows = cur.execute(
        "SELECT seq, step_key, kind, name, ok, value, attempts, started_at, finished_at "
        "FROM journal WHERE tenant_id=? AND run_id=? ORDER BY seq",
        (tenant_id, run_id),
    ).fetchall()
    return [
        JournalEntry(r[0], r[1], EntryKind(r[2]), r[3], bool(r[4]), _load(r[5]), r[6], r[7], r[8])
        for r in rows
    ]


def _signals(cur: sqlite3.Cursor, tenant_id: str, run_id: str) -> list[Signal]:
    rows = cur.execute(
        "SELECT signal_id, name, payload, sent_at FROM signals WHERE tenant_id=? AND run_id=? "
        "ORDER BY signal_id",
        (tenant_id, run_id),
    ).fetchall()
    return [Signal(r[0], r[1], _load(r[2]), r[3]) for r in rows]


def _run(row: Sequence[Any]) -> Run:
    wait = _load(row[9])
    return Run(
        run_id=row[0],
        tenant_id=row[1],
        workflow=row[2],
        input=_load(row[3]),
        status=RunStatus(row[4]),
        created_at=row[5],
        updated_at=row[6],
        parent_run_id=row[7],
        idempotency_key=row[8],
        wait=Wait(*wait) if wait else None,
        result=_load(row[10]),
        error=_load(row[11]),
        attention=_load(row[12]),
        epoch=row[13],
        lease_owner=row[14],
        lease_expires_at=row[15],
        runnable_at=row[16],
        priority=row[17],
        queue=row[18],
    )


def _replace_lease(run: Run, epoch: int, worker_id: str, expires: float, now: float) -> Run:
    return dataclasses.replace(
        run, epoch=epoch, lease_owner=worker_id, lease_expires_at=expires, updated_at=now
    )
