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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, journal and signals", _INITIAL_SQLITE, _INITIAL_POSTGRES),
)

LATEST = MIGRATIONS[-1].version
