"""Where the CLI keeps its data: the database URL, the tenant, and the workflow catalog."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from fluxio.errors import UsageError

__all__ = [
    "DEFAULT_DB",
    "DEFAULT_GOVERNANCE",
    "ENV_DB",
    "ENV_GOVERNANCE",
    "Settings",
    "database_path",
    "is_postgres_url",
]

ENV_DB = "FLUXIO_DATABASE_URL"
DEFAULT_DB = Path(".fluxio") / "fluxio.db"
ENV_GOVERNANCE = "FLUXIO_GOVERNANCE"
DEFAULT_GOVERNANCE = Path("governance.yaml")


def database_path(url: str) -> Path:
    """The SQLite file a ``--db`` value names: ``sqlite:///path`` or a plain path.

    Raises:
        UsageError: a PostgreSQL URL (use ``Settings.postgres_url``) or another scheme.
    """
    text = url.strip()
    if not text:
        raise UsageError("the database URL is empty; give a file path or sqlite:///path")
    if is_postgres_url(text):
        raise UsageError(f"{_redact(text)} is a PostgreSQL URL, not a SQLite file")
    if text.startswith("sqlite://"):
        rest = text.removeprefix("sqlite://")
        if not rest.startswith("/") or rest == "/":
            raise UsageError(
                f"{text!r} is not a SQLite URL; write sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        return Path(rest[1:])
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"unknown database scheme {scheme!r}; use a file path, sqlite:///path or "
            "postgresql://user:password@host/database"
        )
    return Path(text)


def is_postgres_url(url: str) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database."""
    return url.strip().startswith(("postgresql://", "postgres://"))


def _redact(url: str) -> str:
    """A URL with any password removed, safe to print."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{rest}"


@dataclass(frozen=True)
class Settings:
    """Global CLI options, resolved lazily so that a bad value fails inside a command.

    Args:
        db: the ``--db`` value, or ``None`` for ``$FLUXIO_DATABASE_URL`` or the default file.
        tenant: the tenant every command acts in.
        governance: the ``--governance`` file (or ``$FLUXIO_GOVERNANCE``); ``None``:
            ``./governance.yaml`` when it exists.
    """

    db: str | None = None
    tenant: str = "default"
    governance: str | None = None

    @property
    def governance_path(self) -> Path | None:
        """The governance file runs started or continued here obey, if any.

        Raises:
            UsageError: ``--governance`` names a file that does not exist.
        """
        if self.governance:
            path = Path(self.governance)
            if not path.is_file():
                raise UsageError(
                    f"the governance file {path} does not exist; fix --governance (or "
                    f"{ENV_GOVERNANCE}), or leave it out to use ./governance.yaml when present"
                )
            return path
        return DEFAULT_GOVERNANCE if DEFAULT_GOVERNANCE.is_file() else None

    @property
    def explicit_db(self) -> str | None:
        """The database the user named (option or environment), if any."""
        return self.db or os.environ.get(ENV_DB) or None

    @property
    def postgres_url(self) -> str | None:
        """The PostgreSQL URL, when the database is a PostgreSQL one."""
        named = self.explicit_db
        return named.strip() if named and is_postgres_url(named) else None

    @property
    def db_path(self) -> Path:
        """The SQLite database file (``.fluxio/fluxio.db`` when the database is PostgreSQL)."""
        named = self.explicit_db
        return database_path(named) if named and not self.postgres_url else DEFAULT_DB

    @property
    def db_label(self) -> str:
        """The database as shown to users: the file, or the URL without its password."""
        url = self.postgres_url
        return _redact(url) if url else str(self.db_path)

    @property
    def catalog_path(self) -> Path:
        """``catalog.json`` next to the database (in ``.fluxio/`` for PostgreSQL)."""
        return self.db_path.parent / "catalog.json"

    def command(self, *args: str) -> str:
        """A ``fluxio`` command line that reaches the same database and tenant."""
        parts = ["fluxio"]
        if self.db is not None and self.db != os.environ.get(ENV_DB):
            shown = _redact(self.db) if is_postgres_url(self.db) else self.db
            parts += ["--db", shlex.quote(shown)]
        if self.tenant != "default":
            parts += ["--tenant", shlex.quote(self.tenant)]
        return " ".join([*parts, *args])
