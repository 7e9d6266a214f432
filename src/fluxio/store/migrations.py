"""One schema history for every dialect. A migration is a version, a description and its SQL.

Each store records the applied version in ``fluxio_meta``. Opening a database whose version is
newer than the newest migration here refuses to touch it (see ``IncompatibleDatabase``).
Add a migration by appending to ``MIGRATIONS`` with SQL for each dialect; never edit an old one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LATEST", "MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema history, with the SQL for each dialect."""

    version: int
    description: str
    sqlite: str
    postgres: str


_INITIAL_SQLITE = """
CREATE TABLE runs (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    input TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    parent_run_id TEXT,
    idempotency_key TEXT,
    wait TEXT,
    result TEXT,
    error TEXT,
    attention TEXT,
    epoch INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at REAL,
    runnable_at REAL,
    priority INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, run_id)
);
CREATE UNIQUE INDEX runs_idempotency ON runs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_runnable ON runs (runnable_at) WHERE runnable_at IS NOT NULL;
CREATE INDEX runs_created ON runs (tenant_id, created_at);
CREATE INDEX runs_parent ON runs (tenant_id, parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE TABLE journal (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    ok INTEGER NOT NULL,
    value TEXT,
    attempts INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, run_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX journal_outcome ON journal (tenant_id, run_id, step_key)
    WHERE kind = 'outcome';
CREATE TABLE signals (
    signal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    payload TEXT,
    sent_at REAL NOT NULL
);
CREATE INDEX signals_run ON signals (tenant_id, run_id);
"""

_INITIAL_POSTGRES = """
CREATE TABLE runs (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    input JSONB,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    parent_run_id TEXT,
    idempotency_key TEXT,
    wait JSONB,
    result JSONB,
    error JSONB,
    attention JSONB,
    epoch BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at DOUBLE PRECISION,
    runnable_at DOUBLE PRECISION,
    priority INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, run_id)
);
CREATE UNIQUE INDEX runs_idempotency ON runs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_runnable ON runs (runnable_at) WHERE runnable_at IS NOT NULL;
CREATE INDEX runs_created ON runs (tenant_id, created_at);
CREATE INDEX runs_parent ON runs (tenant_id, parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE TABLE journal (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    value JSONB,
    attempts INTEGER NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, run_id, seq)
);
CREATE UNIQUE INDEX journal_outcome ON journal (tenant_id, run_id, step_key)
    WHERE kind = 'outcome';
CREATE TABLE signals (
    signal_id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    payload JSONB,
    sent_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX signals_run ON signals (tenant_id, run_id);
"""

_QUEUES_SQLITE = """
ALTER TABLE runs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_leased ON runs (tenant_id, queue) WHERE lease_owner IS NOT NULL;
CREATE TABLE concurrency_limits (
    tenant_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    max_active INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, queue)
) WITHOUT ROWID;
"""

# Row-level security: every tenant-owned table shows a transaction only the rows of the tenant
# it set with ``set_config('fluxio.tenant', ...)``; no tenant set, no rows. Workers claim across
# tenants in the reserved system scope '*'. Superusers and BYPASSRLS roles skip RLS by
# PostgreSQL's design: connect as an ordinary role (docs/postgres.md).
_TENANT_POLICY = """
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_tenant ON {table}
    USING (tenant_id = current_setting('fluxio.tenant', true)
           OR current_setting('fluxio.tenant', true) = '*')
    WITH CHECK (tenant_id = current_setting('fluxio.tenant', true)
           OR current_setting('fluxio.tenant', true) = '*');
"""

_QUEUES_POSTGRES = """
ALTER TABLE runs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_leased ON runs (tenant_id, queue) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_claimable ON runs (priority DESC, runnable_at) WHERE runnable_at IS NOT NULL;
CREATE TABLE concurrency_limits (
    tenant_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    max_active INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, queue)
);
-- The fence every lease holder's commit starts with. It raises (SQLSTATE FX001) when the
-- lease's epoch has moved on, aborting the whole transaction inside the database, so a commit
-- can be sent in one round trip without the client checking a row count first.
CREATE FUNCTION fluxio_fence(
    p_tenant TEXT, p_run TEXT, p_epoch BIGINT, p_owner TEXT, p_now DOUBLE PRECISION
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE runs SET updated_at = p_now
    WHERE tenant_id = p_tenant AND run_id = p_run AND epoch = p_epoch AND lease_owner = p_owner;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'FX001', MESSAGE = format(
            'run %s: this worker''s lease (epoch %s) was taken over by another worker; '
            'its write was refused', p_run, p_epoch);
    END IF;
END $$;
""" + "".join(
    _TENANT_POLICY.format(table=t) for t in ("runs", "journal", "signals", "concurrency_limits")
)

_AUDIT_SQLITE = """
CREATE TABLE audit_entries (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    actor_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    run_id TEXT,
    step_key TEXT,
    inputs_digest TEXT,
    outputs_digest TEXT,
    duration_ms REAL,
    error TEXT,
    policies_evaluated TEXT NOT NULL,
    policies_violated TEXT NOT NULL,
    approval_id TEXT,
    reversibility TEXT,
    payload_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, timestamp);
CREATE INDEX audit_entries_run ON audit_entries (tenant_id, run_id) WHERE run_id IS NOT NULL;
CREATE TABLE audit_heads (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    time REAL NOT NULL,
    key_fingerprint TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
"""

# Payloads and policy lists are JSON text, not JSONB, so that they come back exactly as written
# (JSONB rewrites numbers), and so do the digests recomputed from them.
_AUDIT_POSTGRES = """
CREATE TABLE audit_entries (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    actor_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    run_id TEXT,
    step_key TEXT,
    inputs_digest TEXT,
    outputs_digest TEXT,
    duration_ms DOUBLE PRECISION,
    error TEXT,
    policies_evaluated TEXT NOT NULL,
    policies_violated TEXT NOT NULL,
    approval_id TEXT,
    reversibility TEXT,
    payload_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, timestamp);
CREATE INDEX audit_entries_run ON audit_entries (tenant_id, run_id) WHERE run_id IS NOT NULL;
CREATE TABLE audit_heads (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    key_fingerprint TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
""" + "".join(
    _TENANT_POLICY.format(table=t) for t in ("audit_entries", "audit_heads", "audit_checkpoints")
)

# fluxio.governance.policies.limits: one row per (tenant, counter key, window start); a hit is
# one upsert that increments only below the limit.
_LIMITS_SQLITE = """
CREATE TABLE policy_limit_counters (
    tenant_id TEXT NOT NULL,
    counter_key TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, counter_key, period_start)
) WITHOUT ROWID;
CREATE INDEX policy_limit_counters_period ON policy_limit_counters (period_start);
"""

_LIMITS_POSTGRES = """
CREATE TABLE policy_limit_counters (
    tenant_id TEXT NOT NULL,
    counter_key TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, counter_key, period_start)
);
CREATE INDEX policy_limit_counters_period ON policy_limit_counters (period_start);
""" + _TENANT_POLICY.format(table="policy_limit_counters")

# fluxio.governance.budgets: every step's cost (held while it runs, then settled), per-scope
# counters that holds are checked against, and preflight estimates to compare with actuals.
_BUDGETS_TABLES = """
CREATE TABLE budget_charges (
    tenant_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    agent TEXT NOT NULL,
    step_name TEXT NOT NULL,
    day TEXT NOT NULL,
    state TEXT NOT NULL,
    scopes TEXT NOT NULL,
    estimate_usd {real} NOT NULL,
    estimate_tokens {int} NOT NULL,
    usd {real} NOT NULL,
    input_tokens {int} NOT NULL,
    output_tokens {int} NOT NULL,
    warnings TEXT NOT NULL,
    created_at {real} NOT NULL,
    settled_at {real},
    PRIMARY KEY (tenant_id, reservation_id)
);
CREATE UNIQUE INDEX budget_charges_id ON budget_charges (reservation_id);
CREATE INDEX budget_charges_time ON budget_charges (tenant_id, created_at);
CREATE INDEX budget_charges_run ON budget_charges (tenant_id, run_id);
CREATE INDEX budget_charges_workflow ON budget_charges (tenant_id, workflow, step_name);
CREATE INDEX budget_charges_agent ON budget_charges (tenant_id, agent, day);
CREATE INDEX budget_charges_day ON budget_charges (tenant_id, day);
CREATE TABLE budget_counters (
    tenant_id TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    usd {real} NOT NULL,
    tokens {int} NOT NULL,
    held_usd {real} NOT NULL,
    held_tokens {int} NOT NULL,
    updated_at {real} NOT NULL,
    PRIMARY KEY (tenant_id, scope_key)
){without_rowid};
CREATE TABLE budget_estimates (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    usd {real} NOT NULL,
    tokens {int} NOT NULL,
    created_at {real} NOT NULL,
    PRIMARY KEY (tenant_id, run_id)
);
CREATE INDEX budget_estimates_time ON budget_estimates (tenant_id, created_at);
"""

_BUDGETS_SQLITE = _BUDGETS_TABLES.format(real="REAL", int="INTEGER", without_rowid=" WITHOUT ROWID")
_BUDGETS_POSTGRES = _BUDGETS_TABLES.format(
    real="DOUBLE PRECISION", int="BIGINT", without_rowid=""
) + "".join(
    _TENANT_POLICY.format(table=t)
    for t in ("budget_charges", "budget_counters", "budget_estimates")
)

# fluxio.governance.approvals: one row per approval request (its JSON record plus the columns
# queries filter on; a decision is one UPDATE ... WHERE status = 'pending' AND version = ?),
# and the learned auto-approval patterns per tenant, action pattern and approver set.
_APPROVALS_TABLES = """
CREATE TABLE approval_requests (
    tenant_id TEXT NOT NULL,
    approval_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    requested_at {real} NOT NULL,
    delivered_at {real},
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, approval_id)
){without_rowid};
CREATE INDEX approval_requests_status ON approval_requests (tenant_id, status, requested_at);
CREATE INDEX approval_requests_run ON approval_requests (tenant_id, run_id);
CREATE TABLE approval_patterns (
    tenant_id TEXT NOT NULL,
    pattern_id TEXT NOT NULL,
    approvers TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at {real} NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, pattern_id, approvers)
){without_rowid};
"""

_APPROVALS_SQLITE = _APPROVALS_TABLES.format(real="REAL", without_rowid=" WITHOUT ROWID")
_APPROVALS_POSTGRES = _APPROVALS_TABLES.format(real="DOUBLE PRECISION", without_rowid="") + "".join(
    _TENANT_POLICY.format(table=t) for t in ("approval_requests", "approval_patterns")
)

# A lease holder appending journal entries (a step's intent or outcome: the hot path) in ONE
# statement: scope, fence and inserts run inside the database, so the append is a single
# autocommit round trip with no BEGIN/COMMIT from the client.
_APPEND_POSTGRES = """
-- The fence takes the run row's lock instead of writing a new row version: the same fencing
-- (a claimer's epoch bump waits for, or skips, the locked row) for less WAL per step.
CREATE OR REPLACE FUNCTION fluxio_fence(
    p_tenant TEXT, p_run TEXT, p_epoch BIGINT, p_owner TEXT, p_now DOUBLE PRECISION
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM runs
    WHERE tenant_id = p_tenant AND run_id = p_run AND epoch = p_epoch AND lease_owner = p_owner
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'FX001', MESSAGE = format(
            'run %s: this worker''s lease (epoch %s) was taken over by another worker; '
            'its write was refused', p_run, p_epoch);
    END IF;
END $$;
CREATE FUNCTION fluxio_append(
    p_tenant TEXT, p_run TEXT, p_epoch BIGINT, p_owner TEXT, p_now DOUBLE PRECISION,
    p_entries JSONB
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('fluxio.tenant', '*', true);
    PERFORM fluxio_fence(p_tenant, p_run, p_epoch, p_owner, p_now);
    INSERT INTO journal (tenant_id, run_id, seq, step_key, kind, name, ok, value, attempts,
                         started_at, finished_at)
    SELECT p_tenant, p_run, (e->>'seq')::int, e->>'step_key', e->>'kind', e->>'name',
           (e->>'ok')::boolean, e->'value', (e->>'attempts')::int,
           (e->>'started_at')::double precision, (e->>'finished_at')::double precision
    FROM jsonb_array_elements(p_entries) AS e;
END $$;
"""

# An append-only log keyed by (tenant, seq) is one b-tree WITHOUT ROWID: an append dirties one
# page fewer than a rowid table with a separate primary-key index (about 12 µs per governed
# step at durability normal; docs/governance.md).
_AUDIT_WITHOUT_ROWID_SQLITE = """
CREATE TABLE audit_entries_v8 (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    actor_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    run_id TEXT,
    step_key TEXT,
    inputs_digest TEXT,
    outputs_digest TEXT,
    duration_ms REAL,
    error TEXT,
    policies_evaluated TEXT NOT NULL,
    policies_violated TEXT NOT NULL,
    approval_id TEXT,
    reversibility TEXT,
    payload_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload TEXT,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_entries_v8 SELECT
    tenant_id, seq, timestamp, actor_id, actor_type, action, target, result, run_id, step_key,
    inputs_digest, outputs_digest, duration_ms, error, policies_evaluated, policies_violated,
    approval_id, reversibility, payload_digest, prev_hash, hash, payload
FROM audit_entries;
DROP TABLE audit_entries;
ALTER TABLE audit_entries_v8 RENAME TO audit_entries;
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, timestamp);
CREATE INDEX audit_entries_run ON audit_entries (tenant_id, run_id) WHERE run_id IS NOT NULL;
"""

# An audit append in one statement: the head is locked, the entry completed and hashed inside
# the database (the client sends the canonical JSON around prev_hash and seq, see
# ``fluxio.governance.audit.entry.hashed_parts``), so an entry can join a step's pipelined
# commit without a round trip to read the head first.
_AUDIT_APPEND_POSTGRES = """
CREATE FUNCTION fluxio_audit_append(
    p_tenant TEXT, p_before TEXT, p_between TEXT, p_after TEXT,
    p_timestamp DOUBLE PRECISION, p_actor_id TEXT, p_actor_type TEXT, p_action TEXT,
    p_target TEXT, p_result TEXT, p_run_id TEXT, p_step_key TEXT, p_inputs_digest TEXT,
    p_outputs_digest TEXT, p_duration_ms DOUBLE PRECISION, p_error TEXT,
    p_policies_evaluated TEXT, p_policies_violated TEXT, p_approval_id TEXT,
    p_reversibility TEXT, p_payload_digest TEXT, p_payload TEXT
) RETURNS TABLE (seq BIGINT, prev_hash TEXT, hash TEXT) LANGUAGE plpgsql AS $$
DECLARE
    v_seq BIGINT;
    v_prev TEXT;
    v_hash TEXT;
BEGIN
    SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_heads h
    WHERE h.tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (p_tenant, 0, repeat('0', 64))
        ON CONFLICT (tenant_id) DO NOTHING;
        SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_heads h
        WHERE h.tenant_id = p_tenant FOR UPDATE;
    END IF;
    v_seq := v_seq + 1;
    v_hash := encode(sha256(convert_to(
        p_before || '"' || v_prev || '"' || p_between || v_seq::text || p_after, 'UTF8'
    )), 'hex');
    INSERT INTO audit_entries (tenant_id, seq, timestamp, actor_id, actor_type, action, target,
        result, run_id, step_key, inputs_digest, outputs_digest, duration_ms, error,
        policies_evaluated, policies_violated, approval_id, reversibility, payload_digest,
        prev_hash, hash, payload)
    VALUES (p_tenant, v_seq, p_timestamp, p_actor_id, p_actor_type, p_action, p_target,
        p_result, p_run_id, p_step_key, p_inputs_digest, p_outputs_digest, p_duration_ms,
        p_error, p_policies_evaluated, p_policies_violated, p_approval_id, p_reversibility,
        p_payload_digest, v_prev, v_hash, p_payload);
    UPDATE audit_heads SET seq = v_seq, hash = v_hash WHERE tenant_id = p_tenant;
    RETURN QUERY SELECT v_seq, v_prev, v_hash;
END $$;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, journal and signals", _INITIAL_SQLITE, _INITIAL_POSTGRES),
    Migration(
        2,
        "queues, concurrency limits, row-level security by tenant",
        _QUEUES_SQLITE,
        _QUEUES_POSTGRES,
    ),
    Migration(
        3,
        "hash-chained audit log: entries, chain heads, signed checkpoints",
        _AUDIT_SQLITE,
        _AUDIT_POSTGRES,
    ),
    Migration(
        4,
        "policy limit counters: actions per tenant, key and time window",
        _LIMITS_SQLITE,
        _LIMITS_POSTGRES,
    ),
    Migration(
        5,
        "budgets: step charges and holds, per-scope counters, preflight estimates",
        _BUDGETS_SQLITE,
        _BUDGETS_POSTGRES,
    ),
    Migration(
        6,
        "approvals: requests with their decisions, learned auto-approval patterns",
        _APPROVALS_SQLITE,
        _APPROVALS_POSTGRES,
    ),
    Migration(
        7,
        "fluxio_append: a journal append in one statement; a lock-only fence (PostgreSQL)",
        "",
        _APPEND_POSTGRES,
    ),
    Migration(
        8,
        "audit entries in one b-tree (WITHOUT ROWID, SQLite); PostgreSQL unchanged",
        _AUDIT_WITHOUT_ROWID_SQLITE,
        "",
    ),
    Migration(
        9,
        "fluxio_audit_append: an audit append in one statement (PostgreSQL)",
        "",
        _AUDIT_APPEND_POSTGRES,
    ),
)

LATEST = MIGRATIONS[-1].version
