"""The approval store that lives beside a run store: same file, same database, same schema."""

from __future__ import annotations

from fluxio.errors import UsageError
from fluxio.governance.approvals.sqlite import SQLiteApprovalStore
from fluxio.governance.approvals.store import ApprovalStore, MemoryApprovalStore
from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore

__all__ = ["open_approval_store"]


async def open_approval_store(store: Store) -> ApprovalStore:
    """An approval store in the same place as ``store`` (memory, SQLite file, PostgreSQL).

    Raises:
        UsageError: a store kind this function does not know; build the approval store
            yourself (``SQLiteApprovalStore``, ``PostgresApprovalStore``).
    """
    if isinstance(store, MemoryStore):
        return MemoryApprovalStore()
    if isinstance(store, SQLiteStore):
        return SQLiteApprovalStore(store.path)
    if type(store).__name__ == "PostgresStore":  # imported only when psycopg is installed
        from fluxio.governance.approvals.postgres import PostgresApprovalStore

        url, schema = getattr(store, "url", ""), getattr(store, "schema", None)
        return await PostgresApprovalStore.connect(url, schema=schema)
    raise UsageError(
        f"no approval store is known for a {type(store).__name__}; pass one of "
        "MemoryApprovalStore, SQLiteApprovalStore or PostgresApprovalStore"
    )
