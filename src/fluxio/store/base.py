"""The Store port: everything the engine needs from durable storage, in ten methods.

A store is both the journal and the work queue. Every write is atomic; a write carrying a
lease is fenced by the lease epoch, so a worker whose lease was taken over cannot commit.
Times are seconds since the epoch supplied by the caller's clock, so tests can move time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from fluxio.store.records import (
    Claim,
    Commit,
    ConcurrencyLimit,
    Heartbeat,
    JournalEntry,
    Lease,
    NewRun,
    Run,
    RunQuery,
    RunStatus,
    Transition,
)

__all__ = ["SIGNAL_CANCEL", "Store"]

SIGNAL_CANCEL = "fluxio.cancel"
"""Reserved signal name: asks a run to cancel at its next step boundary."""


@runtime_checkable
class Store(Protocol):
    """Durable storage for runs, journals and signals. See ``fluxio.testing.conformance``."""

    async def create_run(self, new: NewRun) -> tuple[Run, bool]:
        """Create a run, or return the existing one with the same run id or idempotency key.

        Returns the run and whether it was created by this call.
        """
        ...

    async def get_run(self, tenant_id: str, run_id: str) -> Run | None:
        """One run of a tenant, or ``None``."""
        ...

    async def list_runs(self, query: RunQuery) -> list[Run]:
        """Runs of one tenant, newest first."""
        ...

    async def read_journal(self, tenant_id: str, run_id: str) -> list[JournalEntry]:
        """A run's journal in ``seq`` order."""
        ...

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
        """Lease up to ``limit`` runnable runs, highest priority first, bumping each epoch.

        Runnable: not terminal, ``runnable_at <= now``, and no live lease. ``run_ids``,
        ``workflows`` and ``queues``, when given, restrict the claim (a worker only takes runs
        it knows how to execute). Concurrency limits (``set_limit``) are never exceeded: a run
        whose tenant or queue already has ``max_active`` live leases is not claimed.
        """
        ...

    async def heartbeat(
        self, worker_id: str, leases: Sequence[Lease], *, lease_seconds: float, now: float
    ) -> Heartbeat:
        """Extend live leases; report the ones lost and the runs asked to cancel."""
        ...

    async def set_limit(self, limit: ConcurrencyLimit) -> None:
        """Set (or with ``max_active=None`` remove) a concurrency limit, for every worker."""
        ...

    async def commit(self, commit: Commit) -> None:
        """Apply one commit atomically. Raises ``LeaseLost`` if the epoch moved on."""
        ...

    async def send_signal(
        self, tenant_id: str, run_id: str, name: str, payload: object, *, now: float
    ) -> Run:
        """Queue a signal for a run and make a waiting run runnable. Raises ``NotFound``."""
        ...

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
        """Change a run nobody holds (resolve, cancel while waiting), if its status is expected.

        Raises ``NotFound`` or ``UsageError`` naming the actual status.
        """
        ...

    async def close(self) -> None:
        """Flush and release the store's resources."""
        ...
