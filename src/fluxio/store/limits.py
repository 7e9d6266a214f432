"""Concurrency limits: how many runs a tenant, a queue, or a tenant's queue may run at once.

Every store enforces limits the same way inside its claim: count the live leases per
``(tenant, queue)``, then take candidates in priority order while every limit that matches a
candidate still has room. The stores differ only in how they make that atomic (SQLite's single
writer, PostgreSQL's lock on the limit rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from fluxio.errors import UsageError
from fluxio.store.records import ConcurrencyLimit

__all__ = ["Capacity", "check_limit"]


def check_limit(limit: ConcurrencyLimit) -> None:
    """Refuse a malformed limit before it reaches the database."""
    if limit.max_active is not None and limit.max_active < 0:
        raise UsageError(
            f"max_active must be 0 or more (0 pauses the scope), not {limit.max_active}; use "
            "max_active=None to remove the limit"
        )
    if not limit.tenant_id or not limit.queue:
        raise UsageError("a concurrency limit needs a tenant and a queue; use '*' for any")


def _matches(limit: ConcurrencyLimit, tenant_id: str, queue: str) -> bool:
    return limit.tenant_id in ("*", tenant_id) and limit.queue in ("*", queue)


class Capacity:
    """The room left under each limit, given the runs that hold a live lease now.

    Args:
        limits: the limits in force.
        active: ``(tenant_id, queue)`` of every run that holds a live lease.
    """

    def __init__(self, limits: Iterable[ConcurrencyLimit], active: Iterable[tuple[str, str]]):
        self._limits = [lim for lim in limits if lim.max_active is not None]
        counts = Counter(active)
        self._used = {
            lim: sum(n for (t, q), n in counts.items() if _matches(lim, t, q))
            for lim in self._limits
        }

    def __bool__(self) -> bool:
        return bool(self._limits)

    def take(self, tenant_id: str, queue: str) -> bool:
        """Reserve a slot for a run of ``tenant_id``/``queue`` if every matching limit has room."""
        matching = [lim for lim in self._limits if _matches(lim, tenant_id, queue)]
        if any(self._used[lim] >= (lim.max_active or 0) for lim in matching):
            return False
        for lim in matching:
            self._used[lim] += 1
        return True

    def full(self) -> list[ConcurrencyLimit]:
        """The limits with no room left (a claim can skip their scopes in its query)."""
        return [lim for lim in self._limits if self._used[lim] >= (lim.max_active or 0)]
