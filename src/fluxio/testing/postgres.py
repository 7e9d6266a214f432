"""Throwaway PostgreSQL schemas for tests, owned by an ordinary (non-superuser) role.

Superusers skip row-level security, so tests that should prove tenant isolation must connect
as an ordinary role. ``PostgresSandbox`` creates one (``fluxio_app``) once, gives every test
its own schema owned by it, and drops the schema afterwards::

    sandbox = PostgresSandbox()          # FLUXIO_TEST_POSTGRES_URL or postgresql:///test
    schema = sandbox.new_schema()
    store = await PostgresStore.connect(sandbox.app_url, schema=schema)
    ...
    await store.close()
    sandbox.drop_schema(schema)
"""

from __future__ import annotations

import contextlib
import os
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from fluxio.errors import UsageError

__all__ = ["APP_PASSWORD", "APP_ROLE", "ENV_URL", "PostgresSandbox"]

ENV_URL = "FLUXIO_TEST_POSTGRES_URL"
APP_ROLE = "fluxio_app"
# A throwaway test credential with URL-special characters on purpose: URLs must quote them.
APP_PASSWORD = "p@ss:w/rd?#%&= x"  # noqa: S105
_DEFAULT_URL = "postgresql://127.0.0.1:5432/test"


class PostgresSandbox:
    """Per-test schemas in a real PostgreSQL, reached with an administrator's URL.

    Args:
        admin_url: a URL of a role allowed to create roles and schemas; defaults to
            ``$FLUXIO_TEST_POSTGRES_URL`` or ``postgresql://127.0.0.1:5432/test``.
    """

    def __init__(self, admin_url: str | None = None) -> None:
        self.admin_url = admin_url or os.environ.get(ENV_URL) or _DEFAULT_URL
        self._role_ready = False

    def problem(self) -> str | None:
        """Why PostgreSQL cannot be used (with how to fix it), or ``None`` if it can."""
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return (
                f"PostgreSQL is not reachable at {self.admin_url} ({exc}). Start one (see "
                f"docs/postgres.md), point {ENV_URL} at it, or leave postgres out of "
                "FLUXIO_TEST_STORES."
            )
        return None

    @property
    def app_url(self) -> str:
        """The admin URL with the ordinary role and its (percent-encoded) password."""
        parts = urlsplit(self.admin_url)
        host = parts.hostname or "127.0.0.1"
        netloc = f"{APP_ROLE}:{quote(APP_PASSWORD, safe='')}@{host}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def ensure_role(self) -> None:
        """Create the ordinary role ``fluxio_app`` if it does not exist yet."""
        if self._role_ready:
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            if exists.fetchone() is None:
                with contextlib.suppress(psycopg.errors.DuplicateObject):  # a racing process
                    conn.execute(
                        f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD "
                        f"'{APP_PASSWORD}'"
                    )
            database = conn.info.dbname
            conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {APP_ROLE}')
        self._role_ready = True

    def new_schema(self) -> str:
        """A new empty schema owned by the ordinary role; returns its name."""
        import psycopg

        self.ensure_role()
        name = f"fluxio_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {APP_ROLE}")
        return name

    def drop_schema(self, name: str) -> None:
        """Drop a schema made by ``new_schema`` and everything in it."""
        import psycopg

        if not name.startswith("fluxio_t_"):
            raise UsageError(f"refusing to drop {name!r}: not a sandbox schema")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
