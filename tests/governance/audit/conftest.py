"""Audit log fixtures: every backend (memory, SQLite file, PostgreSQL schema) and a signing key.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database ``test``); each test gets its own
schema, dropped afterwards. PostgreSQL tests are never skipped.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxio.governance.audit import AuditLog, MemoryAuditLog, SQLiteAuditLog, generate_signing_key
from fluxio.governance.audit.postgres import PostgresAuditLog

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

MakeLog = Callable[..., AuditLog]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_signing_key()


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    schema = f"audit_{uuid.uuid4().hex[:12]}"
    await _sql(f"CREATE SCHEMA {schema}")
    yield schema
    await _sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def make_log(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[..., AuditLog]]:
    """A factory of audit logs on one backend; every log it made is closed afterwards."""
    made: list[AuditLog] = []
    schema = f"audit_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        await _sql(f"CREATE SCHEMA {schema}")

    def make(**options: Any) -> AuditLog:
        log: AuditLog
        if request.param == "memory":
            log = MemoryAuditLog(**options)
        elif request.param == "sqlite":
            log = SQLiteAuditLog(tmp_path / "fluxio.db", durability="normal", **options)
        else:
            log = PostgresAuditLog(PG_URL, schema=schema, **options)
        made.append(log)
        return log

    yield make
    for log in made:
        await log.close()
    if request.param == "postgres":
        await _sql(f"DROP SCHEMA {schema} CASCADE")


async def _sql(statement: str) -> None:
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        await conn.execute(statement.encode())


@pytest.fixture
def clock() -> Callable[[], float]:
    """A clock that ticks one second per reading, from 1000.0."""
    ticks = itertools.count(1000)
    return lambda: float(next(ticks))
