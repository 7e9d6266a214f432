"""PostgreSQL plumbing shared by the PostgreSQL benchmarks, fluxio's and DBOS's.

Every sample gets a fresh schema in the benchmark database, dropped afterwards, so samples
start empty and nothing collides with tests running against the same server. Needs only
psycopg 3 (installed with fluxio's ``postgres`` extra and, as a dependency, with DBOS), so the
peers' virtualenvs can import it by path like ``common``.

The server comes from ``--pg-url``, else ``$FLUXIO_TEST_POSTGRES_URL``, else
``postgresql://127.0.0.1:5432/test`` (the test suite's default), and must let that role
create schemas.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg

__all__ = ["DEFAULT_URL", "ENV_URL", "SCHEMA_PREFIX", "drop", "fresh_schema", "problem", "url"]

ENV_URL = "FLUXIO_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://127.0.0.1:5432/test"
SCHEMA_PREFIX = "fluxio_bench_"


def url(given: str = "") -> str:
    """The administrator URL of the benchmark database."""
    return given or os.environ.get(ENV_URL) or DEFAULT_URL


def problem(admin_url: str) -> str | None:
    """Why the benchmark database cannot be used (and what to do), or ``None``."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return (
            f"PostgreSQL is not reachable at {admin_url} ({exc}). Start one, point --pg-url "
            f"or ${ENV_URL} at it, or leave it out with --backends sqlite."
        )
    return None


def create(admin_url: str) -> str:
    """A new empty schema named ``fluxio_bench_<random>``; returns its name."""
    name = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name


def drop(admin_url: str, name: str) -> None:
    """Drop a schema made by ``create`` and everything in it."""
    if not name.startswith(SCHEMA_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a benchmark schema")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextlib.contextmanager
def fresh_schema(admin_url: str) -> Iterator[str]:
    """A schema for one sample, dropped when the block ends (also on errors)."""
    name = create(admin_url)
    try:
        yield name
    finally:
        drop(admin_url, name)
