"""Checks on queues and concurrency limits: caps hold for every worker, and free up again."""

from __future__ import annotations

from collections import Counter

from fluxio.errors import UsageError
from fluxio.store.base import Store
from fluxio.store.records import ConcurrencyLimit, RunStatus
from fluxio.testing.store_checks._support import (
    LEASE,
    OTHER_TENANT,
    T0,
    TENANT,
    create,
    ensure,
    expect_error,
    move_to,
)

__all__ = ["LIMIT_CHECKS"]


async def _claim_all(store: Store, worker: str, now: float = T0 + 1) -> list[str]:
    claims = await store.claim(worker, limit=100, lease_seconds=LEASE, now=now)
    return sorted(f"{c.run.tenant_id}/{c.run.run_id}" for c in claims)


async def check_claim_takes_only_the_queues_asked_for(store: Store) -> None:
    """``queues=`` restricts a claim to runs of those queues; a run remembers its queue."""
    await create(store, "mail", queue="email")
    await create(store, "plain")
    claims = await store.claim("w1", limit=10, lease_seconds=LEASE, now=T0, queues=["email"])
    got = [(c.run.run_id, c.run.queue) for c in claims]
    ensure(got == [("mail", "email")], f"a claim of queue email took {got}")


async def check_tenant_limit_caps_runs_held_at_once(store: Store) -> None:
    """With a tenant capped at 2, claims by any workers hold at most 2 of its runs at once."""
    await store.set_limit(ConcurrencyLimit(TENANT, "*", 2))
    for i in range(4):
        await create(store, f"a{i}")
        await create(store, f"b{i}", tenant=OTHER_TENANT)
    first = await _claim_all(store, "w1")
    second = await _claim_all(store, "w2")
    held = Counter(name.split("/")[0] for name in first + second)
    ensure(
        held == {TENANT: 2, OTHER_TENANT: 4},
        f"tenant {TENANT} is capped at 2 and {OTHER_TENANT} is not; claims held {dict(held)}",
    )


async def check_queue_limit_applies_in_every_tenant(store: Store) -> None:
    """A limit on a queue in tenant ``*`` counts that queue's runs across all tenants."""
    await store.set_limit(ConcurrencyLimit("*", "email", 1))
    await create(store, "m1", queue="email")
    await create(store, "m2", queue="email", tenant=OTHER_TENANT)
    await create(store, "other")
    got = await _claim_all(store, "w1")
    emails = [name for name in got if name.split("/")[1].startswith("m")]
    ensure(len(emails) == 1 and f"{TENANT}/other" in got, f"claims took {got}")


async def check_limit_frees_a_slot_when_a_run_stops_holding_its_lease(store: Store) -> None:
    """A capped run that goes to waiting releases its slot; an expired lease holds none."""
    await store.set_limit(ConcurrencyLimit(TENANT, "*", 1))
    await create(store, "r1")
    await create(store, "r2")
    await create(store, "r3")
    claims = await store.claim("w1", limit=10, lease_seconds=LEASE, now=T0)
    ensure(len(claims) == 1, f"cap 1 but {len(claims)} runs were claimed")
    await move_to(store, claims[0], RunStatus.WAITING, runnable_at=T0 + 10_000)
    again = await store.claim("w2", limit=10, lease_seconds=LEASE, now=T0 + 1)
    ensure(len(again) == 1, f"the slot should be free after waiting; claimed {len(again)}")
    later = await store.claim("w3", limit=10, lease_seconds=LEASE, now=T0 + 1 + LEASE + 1)
    ensure(len(later) == 1, f"an expired lease must not hold a slot; claimed {len(later)}")


async def check_removed_limit_no_longer_caps(store: Store) -> None:
    """``max_active=None`` removes a limit; ``max_active=0`` pauses the scope."""
    await store.set_limit(ConcurrencyLimit(TENANT, "*", 0))
    await create(store, "r1")
    await create(store, "r2")
    ensure(not await _claim_all(store, "w1"), "max_active=0 must pause the tenant")
    await store.set_limit(ConcurrencyLimit(TENANT, "*", None))
    ensure(len(await _claim_all(store, "w1")) == 2, "a removed limit must not cap claims")


async def check_negative_limit_is_refused(store: Store) -> None:
    """A negative ``max_active`` is a usage error, and nothing is stored."""
    await expect_error(
        UsageError,
        store.set_limit(ConcurrencyLimit(TENANT, "*", -1)),
        "set_limit(max_active=-1)",
        says="max_active",
    )


LIMIT_CHECKS = (
    check_claim_takes_only_the_queues_asked_for,
    check_tenant_limit_caps_runs_held_at_once,
    check_queue_limit_applies_in_every_tenant,
    check_limit_frees_a_slot_when_a_run_stops_holding_its_lease,
    check_removed_limit_no_longer_caps,
    check_negative_limit_is_refused,
)
