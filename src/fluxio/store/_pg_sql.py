"""The PostgreSQL store's statements and row mapping, kept apart from its transaction logic.

Only constant column lists and ``%s`` placeholders are interpolated into SQL here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncCursor
from psycopg.types.json import Jsonb

from fluxio.store.limits import Capacity
from fluxio.store.records import (
    TERMINAL,
    Claim,
    ConcurrencyLimit,
    EntryKind,
    JournalEntry,
    Lease,
    NewRun,
    Run,
    RunQuery,
    RunStatus,
    Signal,
    Transition,
    Wait,
)

COLUMNS = (
    "run_id, tenant_id, workflow, input, status, created_at, updated_at, parent_run_id, "
    "idempotency_key, wait, result, error, attention, epoch, lease_owner, lease_expires_at, "
    "runnable_at, priority, queue"
)
_R_COLUMNS = ", ".join(f"r.{c.strip()}" for c in COLUMNS.split(","))
_TERMINAL = "(" + ", ".join(f"'{s.value}'" for s in TERMINAL) + ")"
_PAIRS = "(SELECT * FROM unnest(%s::text[], %s::text[]))"

CREATE_META = "CREATE TABLE IF NOT EXISTS fluxio_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
GET_VERSION = "SELECT value FROM fluxio_meta WHERE key = 'schema_version'"
SET_VERSION = (
    "INSERT INTO fluxio_meta (key, value) VALUES ('schema_version', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
SCOPE = "SELECT set_config('fluxio.tenant', %s, true)"
CHANNEL = "fluxio_work"
NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"
_NOTIFY_EACH = f"CROSS JOIN LATERAL (SELECT pg_notify('{CHANNEL}', '')) AS n"

INSERT_RUN = (
    "INSERT INTO runs (run_id, tenant_id, workflow, input, status, created_at, updated_at, "
    "parent_run_id, idempotency_key, runnable_at, priority, queue) "
    "VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
CREATE_RUN = (
    "WITH ins AS (INSERT INTO runs (run_id, tenant_id, workflow, input, status, created_at, "
    "updated_at, parent_run_id, idempotency_key, runnable_at, priority, queue) "
    "VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING "
    f"RETURNING {COLUMNS}) "
    f"SELECT true, {COLUMNS} FROM ins {_NOTIFY_EACH} "
    f"UNION ALL (SELECT false, {COLUMNS} FROM runs WHERE NOT EXISTS (SELECT 1 FROM ins) "
    "AND tenant_id = %s AND (run_id = %s OR (idempotency_key IS NOT NULL AND "
    "idempotency_key = %s)) ORDER BY (run_id = %s) DESC LIMIT 1)"
)
"""Create a run, or find the existing one by id or idempotency key, in one statement."""
GET_RUN = f"SELECT {COLUMNS} FROM runs WHERE tenant_id = %s AND run_id = %s"
LOCK_RUN = GET_RUN + " FOR UPDATE"
JOURNAL = (
    "SELECT seq, step_key, kind, name, ok, value, attempts, started_at, finished_at "
    "FROM journal WHERE tenant_id = %s AND run_id = %s ORDER BY seq"
)
INSERT_ENTRY = (
    "INSERT INTO journal (tenant_id, run_id, seq, step_key, kind, name, ok, value, attempts, "
    "started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)

LEASE_RUNS = (
    "UPDATE runs AS r SET epoch = r.epoch + 1, lease_owner = %s, lease_expires_at = %s, "
    "updated_at = %s FROM unnest(%s::text[], %s::text[]) AS p(tenant_id, run_id) "
    f"WHERE r.tenant_id = p.tenant_id AND r.run_id = p.run_id RETURNING {_R_COLUMNS}"
)
CLAIMED_JOURNALS = (
    "SELECT tenant_id, run_id, seq, step_key, kind, name, ok, value, attempts, started_at, "
    f"finished_at FROM journal WHERE (tenant_id, run_id) IN {_PAIRS} "
    "ORDER BY tenant_id, run_id, seq"
)
CLAIMED_SIGNALS = (
    "SELECT tenant_id, run_id, signal_id, name, payload, sent_at FROM signals "
    f"WHERE (tenant_id, run_id) IN {_PAIRS} ORDER BY signal_id"
)
EXTEND_LEASES = (
    "UPDATE runs AS r SET lease_expires_at = %s "
    "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS l(tenant_id, run_id, epoch) "
    "WHERE r.tenant_id = l.tenant_id AND r.run_id = l.run_id AND r.epoch = l.epoch "
    "AND r.lease_owner = %s RETURNING r.tenant_id, r.run_id"
)
CANCEL_ASKED = (
    f"SELECT DISTINCT run_id FROM signals WHERE name = %s AND (tenant_id, run_id) IN {_PAIRS}"
)

FENCE = "SELECT fluxio_fence(%s, %s, %s, %s, %s)"
APPEND = "SELECT fluxio_append(%s, %s, %s, %s, %s, %s)"
"""Scope, fence and journal inserts of a lease holder, in one autocommit statement."""
"""Raises SQLSTATE FX001 (aborting the transaction) unless the lease's epoch still holds."""
LEASE_LOST = "FX001"
UPDATE_RUN = (
    "UPDATE runs SET status = %s, wait = %s, result = %s, error = %s, attention = %s, "
    "runnable_at = %s, updated_at = %s, "
    "lease_owner = CASE WHEN %s THEN lease_owner END, "
    "lease_expires_at = CASE WHEN %s THEN lease_expires_at END "
    "WHERE tenant_id = %s AND run_id = %s"
)
CONSUME = "DELETE FROM signals WHERE signal_id = ANY(%s) AND tenant_id = %s AND run_id = %s"
WAKE_ON_LATE_SIGNALS = (
    "WITH w AS (UPDATE runs SET runnable_at = %s WHERE tenant_id = %s AND run_id = %s AND "
    "EXISTS (SELECT 1 FROM signals s WHERE s.tenant_id = runs.tenant_id AND "
    "s.run_id = runs.run_id AND s.signal_id > %s) RETURNING 1) "
    f"SELECT 1 FROM w {_NOTIFY_EACH}"
)
INSERT_SIGNAL = (
    "INSERT INTO signals (tenant_id, run_id, name, payload, sent_at) VALUES (%s, %s, %s, %s, %s)"
)
WAKE_WAITING = (
    "WITH w AS (UPDATE runs SET runnable_at = %s, updated_at = %s "
    "WHERE tenant_id = %s AND run_id = %s AND status = 'waiting' RETURNING 1) "
    f"SELECT 1 FROM w {_NOTIFY_EACH}"
)

LOCK_LIMITS = (
    "SELECT tenant_id, queue, max_active FROM concurrency_limits "
    "ORDER BY tenant_id, queue FOR UPDATE"
)
ACTIVE = (
    "SELECT tenant_id, queue FROM runs WHERE lease_owner IS NOT NULL AND lease_expires_at >= %s"
)
UPSERT_LIMIT = (
    "INSERT INTO concurrency_limits (tenant_id, queue, max_active) VALUES (%s, %s, %s) "
    "ON CONFLICT (tenant_id, queue) DO UPDATE SET max_active = excluded.max_active"
)
DELETE_LIMIT = "DELETE FROM concurrency_limits WHERE tenant_id = %s AND queue = %s"


def jsonb(value: Any) -> Jsonb | None:
    """A value for a JSONB column; ``None`` is SQL NULL."""
    return None if value is None else Jsonb(value)


def create_run_row(new: NewRun) -> tuple[Any, ...]:
    """Parameters of ``CREATE_RUN``."""
    find = (new.tenant_id, new.run_id, new.idempotency_key, new.run_id)
    return (*new_run_row(new), *find)


def new_run_row(new: NewRun) -> tuple[Any, ...]:
    """Parameters of ``INSERT_RUN``."""
    return (
        new.run_id,
        new.tenant_id,
        new.workflow,
        jsonb(new.input),
        new.created_at,
        new.created_at,
        new.parent_run_id,
        new.idempotency_key,
        new.created_at,
        new.priority,
        new.queue,
    )


def transition_row(t: Transition, now: float, tenant_id: str, run_id: str) -> tuple[Any, ...]:
    """Parameters of ``UPDATE_RUN`` (a run that keeps running keeps its lease)."""
    holds = t.status is RunStatus.RUNNING
    wait = None if t.wait is None else [t.wait.reason, t.wait.detail, t.wait.until]
    return (
        t.status.value,
        jsonb(wait),
        jsonb(t.result),
        jsonb(t.error),
        jsonb(t.attention),
        None if t.status in TERMINAL else t.runnable_at,
        now,
        holds,
        holds,
        tenant_id,
        run_id,
    )


def list_runs(query: RunQuery) -> tuple[str, list[Any]]:
    """The statement and parameters listing a tenant's runs, newest first."""
    where: list[str] = ["tenant_id = %s"]
    params: list[Any] = [query.tenant_id]
    if query.statuses:
        where.append("status = ANY(%s)")
        params.append([s.value for s in query.statuses])
    if query.workflow is not None:
        where.append("workflow = %s")
        params.append(query.workflow)
    if query.parent_run_id is not None:
        where.append("parent_run_id = %s")
        params.append(query.parent_run_id)
    if query.run_ids:
        where.append("run_id = ANY(%s)")
        params.append(list(query.run_ids))
    text = (
        f"SELECT {COLUMNS} FROM runs WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, run_id DESC LIMIT %s"
    )
    return text, [*params, query.limit]


HAS_LIMITS = "SELECT EXISTS (SELECT 1 FROM concurrency_limits)"


def claim_unlimited(
    now: float,
    limit: int,
    lease_until: float,
    worker_id: str,
    run_ids: Sequence[str],
    workflows: Sequence[str],
    queues: Sequence[str],
) -> tuple[str, list[Any]]:
    """Pick and lease runs in one statement; picks nothing while any concurrency limit exists
    (limited claims take the slower, counted path)."""
    text, params = candidates(now, limit, run_ids, workflows, queues, (), capped=False)
    text = text.replace(
        "ORDER BY priority DESC",
        "AND NOT EXISTS (SELECT 1 FROM concurrency_limits) ORDER BY priority DESC",
    ).replace("SELECT tenant_id, run_id, queue FROM runs", "SELECT tenant_id, run_id FROM runs")
    statement = (
        f"WITH picked AS ({text}) UPDATE runs AS r SET epoch = r.epoch + 1, lease_owner = %s, "
        "lease_expires_at = %s, updated_at = %s FROM picked "
        f"WHERE r.tenant_id = picked.tenant_id AND r.run_id = picked.run_id RETURNING {_R_COLUMNS}"
    )
    return statement, [*params, worker_id, lease_until, now]


def has_room(capacity: Capacity) -> bool:
    """False when a limit on every tenant and queue is full: nothing may be claimed."""
    return not any(lim.tenant_id == "*" and lim.queue == "*" for lim in capacity.full())


def candidates(
    now: float,
    limit: int,
    run_ids: Sequence[str],
    workflows: Sequence[str],
    queues: Sequence[str],
    full: Sequence[ConcurrencyLimit],
    *,
    capped: bool,
) -> tuple[str, list[Any]]:
    """Runnable runs in claim order, locked, skipping rows other claimers hold.

    With limits in force, scopes that are full are left out and a few more rows are fetched,
    since some may still be over a limit they share.
    """
    where = [
        "runnable_at <= %s",
        "(lease_expires_at IS NULL OR lease_expires_at < %s)",
        f"status NOT IN {_TERMINAL}",
    ]
    params: list[Any] = [now, now]
    for column, values in (("run_id", run_ids), ("workflow", workflows), ("queue", queues)):
        if values:
            where.append(f"{column} = ANY(%s)")
            params.append(list(values))
    for lim in full:
        parts = []
        for column, value in (("tenant_id", lim.tenant_id), ("queue", lim.queue)):
            if value != "*":
                parts.append(f"{column} = %s")
                params.append(value)
        where.append(f"NOT ({' AND '.join(parts)})")
    fetch = limit * 4 + 16 if capped else limit
    text = (
        f"SELECT tenant_id, run_id, queue FROM runs WHERE {' AND '.join(where)} "
        "ORDER BY priority DESC, runnable_at, run_id LIMIT %s FOR UPDATE SKIP LOCKED"
    )
    return text, [*params, fetch]


def append_row(lease: Lease, now: float, entries: Sequence[JournalEntry]) -> tuple[Any, ...]:
    """Parameters of ``APPEND``: the lease, and the entries as one JSON array."""
    rows = [
        {
            "seq": e.seq,
            "step_key": e.step_key,
            "kind": e.kind.value,
            "name": e.name,
            "ok": e.ok,
            "value": e.value,
            "attempts": e.attempts,
            "started_at": e.started_at,
            "finished_at": e.finished_at,
        }
        for e in entries
    ]
    return (lease.tenant_id, lease.run_id, lease.epoch, lease.worker_id, now, Jsonb(rows))


async def insert_entries(
    cur: AsyncCursor[Any], tenant_id: str, run_id: str, entries: Sequence[JournalEntry]
) -> None:
    """Append journal entries (one statement per entry, pipelined by executemany)."""
    if not entries:
        return
    rows = [
        (
            tenant_id,
            run_id,
            e.seq,
            e.step_key,
            e.kind.value,
            e.name,
            e.ok,
            jsonb(e.value),
            e.attempts,
            e.started_at,
            e.finished_at,
        )
        for e in entries
    ]
    if len(rows) == 1:
        await cur.execute(INSERT_ENTRY, rows[0])
    else:
        await cur.executemany(INSERT_ENTRY, rows)


async def claims_for(cur: AsyncCursor[Any], runs: list[Run], worker_id: str) -> list[Claim]:
    """Claims for freshly leased runs, with their journals and pending signals.

    Both queries are sent before either result is read: one round trip in pipeline mode.
    """
    pairs = ([r.tenant_id for r in runs], [r.run_id for r in runs])
    first, other = cur.connection.cursor(), cur.connection.cursor()
    await first.execute(CLAIMED_JOURNALS, pairs)
    await other.execute(CLAIMED_SIGNALS, pairs)
    journals: dict[tuple[str, str], list[JournalEntry]] = {}
    for row in await first.fetchall():
        journals.setdefault((row[0], row[1]), []).append(entry_of(row[2:]))
    signals: dict[tuple[str, str], list[Signal]] = {}
    for row in await other.fetchall():
        signals.setdefault((row[0], row[1]), []).append(Signal(row[2], row[3], row[4], row[5]))
    claims = []
    for run in runs:
        key = (run.tenant_id, run.run_id)
        got = tuple(signals.get(key, ()))
        mark = max((s.signal_id for s in got), default=0)
        expires = run.lease_expires_at or 0.0
        lease = Lease(run.run_id, run.tenant_id, worker_id, run.epoch, expires, mark)
        claims.append(Claim(run, lease, tuple(journals.get(key, ())), got))
    return claims


def entry_of(row: Sequence[Any]) -> JournalEntry:
    """A journal row (seq first) as a ``JournalEntry``."""
    return JournalEntry(
        row[0], row[1], EntryKind(row[2]), row[3], bool(row[4]), row[5], row[6], row[7], row[8]
    )


def run_of(row: Sequence[Any]) -> Run:
    """A runs row (``COLUMNS`` order) as a ``Run``."""
    wait = row[9]
    return Run(
        run_id=row[0],
        tenant_id=row[1],
        workflow=row[2],
        input=row[3],
        status=RunStatus(row[4]),
        created_at=row[5],
        updated_at=row[6],
        parent_run_id=row[7],
        idempotency_key=row[8],
        wait=Wait(*wait) if wait else None,
        result=row[10],
        error=row[11],
        attention=row[12],
        epoch=row[13],
        lease_owner=row[14],
        lease_expires_at=row[15],
        runnable_at=row[16],
        priority=row[17],
        queue=row[18],
    )
