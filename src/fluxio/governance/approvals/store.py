"""Where approval requests and learned patterns live: the port, and the in-memory store.

The one rule every store keeps: ``update`` writes a request only if it is still ``pending``
at the version the caller read (one ``UPDATE ... WHERE status = 'pending' AND version = ?``
in SQL). So two people deciding at once never both win, and a decision lands exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from fluxio.governance.approvals.learning import ApprovalPattern
from fluxio.governance.approvals.request import ApprovalRequest

__all__ = ["ApprovalStore", "MemoryApprovalStore"]


@runtime_checkable
class ApprovalStore(Protocol):
    """Durable approval requests and learned patterns, per tenant."""

    async def create(self, request: ApprovalRequest) -> tuple[ApprovalRequest, bool]:
        """Store a new request, or return the one already stored with its id (and ``False``)."""
        ...

    async def get(self, tenant_id: str, approval_id: str) -> ApprovalRequest | None:
        """One request, or ``None``."""
        ...

    async def requests(
        self,
        tenant_id: str,
        *,
        statuses: Sequence[str] = (),
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[ApprovalRequest]:
        """Requests of a tenant, newest first, optionally only these statuses or this run."""
        ...

    async def update(self, request: ApprovalRequest) -> bool:
        """Write ``request`` if the stored one is pending at ``request.version - 1``."""
        ...

    async def mark_delivered(self, tenant_id: str, approval_id: str, at: float) -> None:
        """Note that the waiting run was signalled about the decision."""
        ...

    async def undelivered(self, tenant_id: str) -> list[ApprovalRequest]:
        """Decided requests whose run was not yet signalled (a crash in between)."""
        ...

    async def patterns(
        self, tenant_id: str, pattern_id: str | None = None
    ) -> list[ApprovalPattern]:
        """A tenant's learned patterns (of one pattern id: one per approver set)."""
        ...

    async def save_pattern(self, pattern: ApprovalPattern) -> bool:
        """Insert (version 1) or update a pattern stored at ``pattern.version - 1``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryApprovalStore:
    """Approval requests in this process's memory: tests and examples."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], ApprovalRequest] = {}
        self._delivered: set[tuple[str, str]] = set()
        self._patterns: dict[tuple[str, str, tuple[str, ...]], ApprovalPattern] = {}

    async def create(self, request: ApprovalRequest) -> tuple[ApprovalRequest, bool]:
        """See ``ApprovalStore.create``."""
        key = (request.tenant_id, request.approval_id)
        if key in self._requests:
            return self._requests[key], False
        self._requests[key] = request
        return request, True

    async def get(self, tenant_id: str, approval_id: str) -> ApprovalRequest | None:
        """See ``ApprovalStore.get``."""
        return self._requests.get((tenant_id, approval_id))

    async def requests(
        self,
        tenant_id: str,
        *,
        statuses: Sequence[str] = (),
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[ApprovalRequest]:
        """See ``ApprovalStore.list``."""
        found = [
            r
            for (tenant, _), r in self._requests.items()
            if tenant == tenant_id
            and (not statuses or r.status in statuses)
            and (run_id is None or r.run_id == run_id)
        ]
        found.sort(key=lambda r: (r.requested_at, r.approval_id), reverse=True)
        return found[:limit]

    async def update(self, request: ApprovalRequest) -> bool:
        """See ``ApprovalStore.update``."""
        key = (request.tenant_id, request.approval_id)
        stored = self._requests.get(key)
        if stored is None or not stored.pending or stored.version != request.version - 1:
            return False
        self._requests[key] = request
        return True

    async def mark_delivered(self, tenant_id: str, approval_id: str, at: float) -> None:
        """See ``ApprovalStore.mark_delivered``."""
        self._delivered.add((tenant_id, approval_id))

    async def undelivered(self, tenant_id: str) -> list[ApprovalRequest]:
        """See ``ApprovalStore.undelivered``."""
        return [
            r
            for key, r in self._requests.items()
            if key[0] == tenant_id and not r.pending and key not in self._delivered
        ]

    async def patterns(
        self, tenant_id: str, pattern_id: str | None = None
    ) -> list[ApprovalPattern]:
        """See ``ApprovalStore.patterns``."""
        return [
            p
            for (tenant, pid, _), p in sorted(self._patterns.items())
            if tenant == tenant_id and (pattern_id is None or pid == pattern_id)
        ]

    async def save_pattern(self, pattern: ApprovalPattern) -> bool:
        """See ``ApprovalStore.save_pattern``."""
        key = (pattern.tenant_id, pattern.pattern_id, pattern.approvers)
        stored = self._patterns.get(key)
        if (stored.version if stored else 0) != pattern.version - 1:
            return False
        self._patterns[key] = replace(pattern)
        return True

    async def close(self) -> None:
        """Nothing to release."""
