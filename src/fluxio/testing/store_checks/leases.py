"""Checks on claiming runs, leases, heartbeats and fencing by lease epoch."""

from __future__ import annotations

from fluxio.errors import LeaseLost
from fluxio.store.base import SIGNAL_CANCEL, Store
from fluxio.store.records import (
    Commit,
    EntryKind,
    NewRun,
    OutgoingSignal,
    RunStatus,
    Transition,
    Wait,
)
from fluxio.testing.store_checks._support import (
    LEASE,
    T0,
    TENANT,
    claim_one,
    claimable,
    create,
    ensure,
    entry,
    expect_error,
    move_to,
    started,
    stored,
)

__all__ = ["LEASE_CHECKS"]


async def check_claim_orders_by_priority_then_runnable_at(store: Store) -> None:
    """Claims take higher priority first, then the earliest runnable_at, then the run id."""
    await create(store, "a", at=T0 + 1)
    await create(store, "b", at=T0 + 3, priority=5)
    await create(store, "c", at=T0 + 2)
    await create(store, "d", at=T0 + 2, priority=5)
    await create(store, "e", at=T0 + 1)
    claims = await store.claim("w1", limit=10, lease_seconds=LEASE, now=T0 + 10)
    got = [c.run.run_id for c in claims]
    ensure(got == ["d", "b", "a", "e", "c"], f"claim order should be d b a e c, got {got}")


async def check_claim_takes_at_most_limit(store: Store) -> None:
    """A claim leases at most ``limit`` runs; the next claim gets the rest."""
    for i in range(5):
        await create(store, f"r{i}", at=T0 + i)
    first = await store.claim("w1", limit=2, lease_seconds=LEASE, now=T0 + 10)
    rest = await store.claim("w2", limit=10, lease_seconds=LEASE, now=T0 + 10)
    got = ([c.run.run_id for c in first], [c.run.run_id for c in rest])
    ensure(got == (["r0", "r1"], ["r2", "r3", "r4"]), f"limit must hold; claims were {got}")


async def check_claim_waits_for_runnable_at(store: Store) -> None:
    """A run is not claimable before its runnable_at, and is from then on."""
    await create(store, "later", at=T0 + 100)
    ensure(not await claimable(store, "later", now=T0 + 99), "claimed before runnable_at")
    ensure(await claimable(store, "later", now=T0 + 100), "not claimable at runnable_at")


async def check_claim_only_the_listed_run_ids(store: Store) -> None:
    """With ``run_ids``, a claim leases only those runs."""
    for run_id in ("a", "b", "c"):
        await create(store, run_id)
    claims = await store.claim("w1", limit=10, lease_seconds=LEASE, now=T0, run_ids=["c", "a"])
    got = sorted(c.run.run_id for c in claims)
    ensure(got == ["a", "c"], f"claim(run_ids=[c, a]) must lease only a and c, got {got}")


async def check_claim_only_the_listed_workflows(store: Store) -> None:
    """With ``workflows``, a claim leases only runs of those workflow names."""
    await store.create_run(NewRun("x", "default", "known", None, T0))
    await store.create_run(NewRun("y", "default", "other", None, T0))
    claims = await store.claim("w1", limit=10, lease_seconds=LEASE, now=T0, workflows=["known"])
    got = [c.run.run_id for c in claims]
    ensure(got == ["x"], f"claim(workflows=[known]) must lease only run x, got {got}")


async def check_claim_grants_a_lease_with_a_new_epoch(store: Store) -> None:
    """A claim bumps the epoch and records the worker and expiry on the lease and the run."""
    claim = await started(store, "r1", worker="w1")
    lease, run = claim.lease, claim.run
    ensure(lease.epoch == 1 and run.epoch == 1, f"first claim has epoch 1, got {lease.epoch}")
    ensure(lease.worker_id == "w1" and lease.run_id == "r1", "the lease names worker and run")
    ensure(lease.tenant_id == TENANT, "the lease carries the run's tenant")
    ensure(lease.expires_at == T0 + LEASE, f"lease expires at now+lease, got {lease.expires_at}")
    held = await stored(store, "r1")
    ensure(
        held.lease_owner == "w1", f"the stored run names its lease owner, got {held.lease_owner}"
    )
    ensure(held.lease_expires_at == T0 + LEASE and held.epoch == 1, "stored lease matches")


async def check_a_live_lease_blocks_other_claims(store: Store) -> None:
    """While a lease is live, nobody else can claim the run."""
    await started(store, "r1", worker="w1")
    ensure(not await claimable(store, "r1", now=T0 + LEASE - 1), "claimed under a live lease")


async def check_terminal_runs_are_never_claimed(store: Store) -> None:
    """A completed, failed or cancelled run is never claimable again."""
    for status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED):
        claim = await started(store, status.value)
        run = await move_to(store, claim, status, runnable_at=T0)
        ensure(run.runnable_at is None, f"a {status} run has no runnable_at: {run.runnable_at}")
        ensure(run.lease_owner is None, f"a {status} run holds no lease")
        ensure(not await claimable(store, status.value, now=T0 + 1e6), f"a {status} run claimed")


async def check_expired_lease_is_reclaimable_with_bumped_epoch(store: Store) -> None:
    """After a lease expires, another worker claims the run with a higher epoch."""
    first = await started(store, "r1", worker="w1")
    second = await claim_one(store, "r1", worker="w2", now=T0 + LEASE + 1)
    ensure(
        second.lease.epoch == first.lease.epoch + 1,
        f"reclaiming must bump the epoch: {first.lease.epoch} then {second.lease.epoch}",
    )
    ensure((await stored(store, "r1")).lease_owner == "w2", "the new worker owns the lease")


async def check_stale_lease_commit_is_refused_and_writes_nothing(store: Store) -> None:
    """A commit with a taken-over lease raises LeaseLost and changes nothing at all."""
    await create(store, "peer")
    peer = await claim_one(store, "peer", worker="wp")
    await move_to(store, peer, RunStatus.WAITING)
    old = await started(store, "r1", worker="w1")
    await store.send_signal(TENANT, "r1", "go", 1, now=T0)
    new = await claim_one(store, "r1", worker="w2", now=T0 + LEASE + 1)
    stale = Commit(
        old.lease,
        (entry(1, "1"),),
        consumed=tuple(s.signal_id for s in new.signals),
        transition=Transition(RunStatus.COMPLETED, result="late"),
        children=(NewRun("child", TENANT, "wf", None, T0, parent_run_id="r1"),),
        signals=(OutgoingSignal(TENANT, "peer", "late", None),),
        now=T0 + LEASE + 2,
    )
    await expect_error(LeaseLost, store.commit(stale), "commit with a taken-over lease")
    await expect_error(
        LeaseLost,
        store.commit(Commit(old.lease, transition=Transition(RunStatus.FAILED), now=T0)),
        "transition-only commit with a taken-over lease",
    )
    ensure(await store.read_journal(TENANT, "r1") == [], "a refused commit wrote journal entries")
    run = await stored(store, "r1")
    ensure(run.status is RunStatus.PENDING and run.lease_owner == "w2", "a refused commit moved r1")
    ensure(await store.get_run(TENANT, "child") is None, "a refused commit created a child run")
    ensure(not await claimable(store, "peer", now=T0 + 1e4), "a refused commit sent a signal")
    await store.commit(Commit(new.lease, transition=Transition(RunStatus.WAITING), now=T0))
    await store.send_signal(TENANT, "r1", "poke", None, now=T0 + LEASE + 3)
    again = await claim_one(store, "r1", worker="w3", now=T0 + LEASE + 3)
    names = [s.name for s in again.signals]
    ensure(names == ["go", "poke"], f"a refused commit consumed signals; left {names}")


async def check_heartbeat_extends_live_leases(store: Store) -> None:
    """A heartbeat moves the lease's expiry to now + lease_seconds."""
    claim = await started(store, "r1", worker="w1")
    beat = await store.heartbeat("w1", [claim.lease], lease_seconds=LEASE, now=T0 + 20)
    ensure(beat.lost == frozenset(), f"a live lease is not lost, got {set(beat.lost)}")
    run = await stored(store, "r1")
    ensure(run.lease_expires_at == T0 + 20 + LEASE, f"expiry not extended: {run.lease_expires_at}")
    ensure(not await claimable(store, "r1", now=T0 + LEASE + 5), "claimed an extended lease")
    ensure(await claimable(store, "r1", now=T0 + 20 + LEASE + 1), "extended lease never ended")


async def check_heartbeat_reports_lost_leases(store: Store) -> None:
    """A heartbeat for a taken-over lease reports it lost and does not extend it."""
    old = await started(store, "r1", worker="w1")
    await claim_one(store, "r1", worker="w2", now=T0 + LEASE + 1)
    beat = await store.heartbeat("w1", [old.lease], lease_seconds=LEASE, now=T0 + LEASE + 2)
    ensure(beat.lost == frozenset({"r1"}), f"the lost lease must be reported, got {beat.lost}")
    run = await stored(store, "r1")
    ensure(run.lease_owner == "w2", "a lost heartbeat must not take the lease back")
    ensure(run.lease_expires_at == T0 + 2 * LEASE + 1, "a lost heartbeat moved the expiry")


async def check_heartbeat_reports_runs_asked_to_cancel(store: Store) -> None:
    """A heartbeat lists the held runs that have a cancel signal queued."""
    a = await started(store, "a")
    b = await started(store, "b")
    await store.send_signal(TENANT, "a", SIGNAL_CANCEL, {"reason": "stop"}, now=T0 + 1)
    await store.send_signal(TENANT, "b", "other", None, now=T0 + 1)
    beat = await store.heartbeat("w1", [a.lease, b.lease], lease_seconds=LEASE, now=T0 + 2)
    ensure(beat.cancel_requested == frozenset({"a"}), f"cancel of a only: {beat.cancel_requested}")


async def check_transitions_release_or_keep_the_lease(store: Store) -> None:
    """Any status but running releases the lease; a timer wait sets runnable_at and the wait."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, transition=Transition(RunStatus.RUNNING), now=T0))
    run = await stored(store, "r1")
    ensure(run.status is RunStatus.RUNNING and run.lease_owner == "w1", "running keeps the lease")
    wait = Wait("timer", "step 1", T0 + 50)
    await store.commit(
        Commit(
            claim.lease,
            (entry(1, "1", EntryKind.INTENT),),
            transition=Transition(RunStatus.WAITING, wait=wait, runnable_at=T0 + 50),
            now=T0 + 1,
        )
    )
    run = await stored(store, "r1")
    ensure(run.lease_owner is None and run.lease_expires_at is None, "waiting releases the lease")
    ensure(run.wait == wait and run.runnable_at == T0 + 50, f"wait not stored: {run.wait}")
    ensure(run.updated_at == T0 + 1, f"updated_at is the commit's now, got {run.updated_at}")
    ensure(not await claimable(store, "r1", now=T0 + 49), "a timer wait was claimed early")
    ensure(await claimable(store, "r1", now=T0 + 50), "a due timer wait is claimable")


async def check_needs_attention_without_runnable_at_is_not_claimed(store: Store) -> None:
    """A run parked without runnable_at stays parked until something amends it."""
    claim = await started(store, "r1")
    attention = {"step_key": "1", "reason": "ambiguous"}
    await store.commit(
        Commit(
            claim.lease,
            transition=Transition(RunStatus.NEEDS_ATTENTION, attention=attention),
            now=T0,
        )
    )
    run = await stored(store, "r1")
    ensure(run.attention == attention, f"attention must round-trip, got {run.attention}")
    ensure(not await claimable(store, "r1", now=T0 + 1e6), "a parked run was claimed")


LEASE_CHECKS = (
    check_claim_orders_by_priority_then_runnable_at,
    check_claim_takes_at_most_limit,
    check_claim_waits_for_runnable_at,
    check_claim_only_the_listed_run_ids,
    check_claim_only_the_listed_workflows,
    check_claim_grants_a_lease_with_a_new_epoch,
    check_a_live_lease_blocks_other_claims,
    check_terminal_runs_are_never_claimed,
    check_expired_lease_is_reclaimable_with_bumped_epoch,
    check_stale_lease_commit_is_refused_and_writes_nothing,
    check_heartbeat_extends_live_leases,
    check_heartbeat_reports_lost_leases,
    check_heartbeat_reports_runs_asked_to_cancel,
    check_transitions_release_or_keep_the_lease,
    check_needs_attention_without_runnable_at_is_not_claimed,
)
