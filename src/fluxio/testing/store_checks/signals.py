"""Checks on signals (queued, delivered, consumed exactly once) and on commits with children."""

from __future__ import annotations

from fluxio.errors import NotFound, StoreError, UsageError
from fluxio.store.base import Store
from fluxio.store.records import (
    Commit,
    NewRun,
    OutgoingSignal,
    RunStatus,
    Transition,
)
from fluxio.testing.store_checks._support import (
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

__all__ = ["SIGNAL_CHECKS"]


async def _waiting(store: Store, run_id: str) -> None:
    """Create ``run_id`` and leave it waiting for a signal (no timer)."""
    claim = await started(store, run_id, worker=f"setup-{run_id}")
    await move_to(store, claim, RunStatus.WAITING)


async def check_signals_are_delivered_in_order_with_the_claim(store: Store) -> None:
    """Queued signals come with the claim, oldest first, with name, payload and time."""
    await create(store, "r1")
    await store.send_signal(TENANT, "r1", "approve", {"by": "ana", "edit": [1]}, now=T0 + 1)
    await store.send_signal(TENANT, "r1", "note", "ünï", now=T0 + 2)
    claim = await claim_one(store, "r1", now=T0 + 3)
    got = [(s.name, s.payload, s.sent_at) for s in claim.signals]
    expected = [("approve", {"by": "ana", "edit": [1]}, T0 + 1), ("note", "ünï", T0 + 2)]
    ensure(got == expected, f"signals should arrive as {expected}, got {got}")
    ids = [s.signal_id for s in claim.signals]
    ensure(ids == sorted(set(ids)), f"signal ids must be distinct and increasing: {ids}")


async def check_consumed_signals_are_never_delivered_again(store: Store) -> None:
    """A signal consumed by a commit is gone; the others stay queued."""
    await create(store, "r1")
    await store.send_signal(TENANT, "r1", "a", 1, now=T0)
    await store.send_signal(TENANT, "r1", "b", 2, now=T0)
    claim = await claim_one(store, "r1")
    first = claim.signals[0].signal_id
    await store.commit(
        Commit(
            claim.lease,
            (entry(1, "1", name="wait:a", value=1),),
            consumed=(first,),
            transition=Transition(RunStatus.WAITING),
            now=T0,
        )
    )
    await store.send_signal(TENANT, "r1", "c", 3, now=T0 + 1)
    again = await claim_one(store, "r1", worker="w2", now=T0 + 1)
    names = [s.name for s in again.signals]
    ensure(names == ["b", "c"], f"after consuming 'a', the claim must carry b and c: {names}")


async def check_a_commit_consumes_only_its_own_runs_signals(store: Store) -> None:
    """Consuming another run's signal id through a commit leaves that signal queued."""
    await create(store, "other")
    await store.send_signal(TENANT, "other", "mine", None, now=T0)
    theirs = await claim_one(store, "other", worker="w-other")
    await move_to(store, theirs, RunStatus.WAITING)
    claim = await started(store, "r1")
    foreign = theirs.signals[0].signal_id
    await store.commit(Commit(claim.lease, consumed=(foreign,), now=T0))
    await store.send_signal(TENANT, "other", "poke", None, now=T0 + 1)
    again = await claim_one(store, "other", now=T0 + 1)
    names = [s.name for s in again.signals]
    ensure(names == ["mine", "poke"], f"run r1 consumed another run's signal; left {names}")


async def check_a_signal_makes_a_waiting_run_runnable(store: Store) -> None:
    """A run waiting without a timer is claimable only once a signal arrives."""
    await _waiting(store, "r1")
    ensure(not await claimable(store, "r1", now=T0 + 100), "a waiting run was claimed unsignalled")
    run = await store.send_signal(TENANT, "r1", "go", None, now=T0 + 101)
    ensure(run.runnable_at == T0 + 101, f"send_signal must return the woken run: {run.runnable_at}")
    claim = await claim_one(store, "r1", now=T0 + 101)
    ensure([s.name for s in claim.signals] == ["go"], "the claim must carry the signal")


async def check_signals_to_ended_or_unknown_runs_are_refused(store: Store) -> None:
    """send_signal raises UsageError for an ended run and NotFound for an unknown one."""
    claim = await started(store, "r1")
    await move_to(store, claim, RunStatus.COMPLETED)
    await expect_error(
        UsageError,
        store.send_signal(TENANT, "r1", "go", None, now=T0),
        "send_signal to a completed run",
        says="completed",
    )
    await expect_error(
        NotFound, store.send_signal(TENANT, "nope", "go", None, now=T0), "signal to unknown run"
    )


async def check_children_and_signals_commit_with_the_parent(store: Store) -> None:
    """A commit creates child runs and delivers outgoing signals in the same transaction."""
    await _waiting(store, "peer")
    parent = await started(store, "parent")
    child = NewRun("parent.1", TENANT, "child-wf", {"n": 1}, T0 + 1, parent_run_id="parent")
    await store.commit(
        Commit(
            parent.lease,
            (entry(1, "1", name="child:child-wf", value="parent.1"),),
            children=(child,),
            signals=(OutgoingSignal(TENANT, "peer", "hello", {"from": "parent"}),),
            transition=Transition(RunStatus.WAITING),
            now=T0 + 1,
        )
    )
    made = await stored(store, "parent.1")
    ensure(made.parent_run_id == "parent" and made.status is RunStatus.PENDING, "child created")
    ensure(made.input == {"n": 1} and made.workflow == "child-wf", "child keeps input, workflow")
    woken = await claim_one(store, "peer", now=T0 + 1)
    got = [(s.name, s.payload) for s in woken.signals]
    ensure(got == [("hello", {"from": "parent"})], f"the peer must receive the signal: {got}")


async def check_a_refused_commit_creates_no_children_and_sends_nothing(store: Store) -> None:
    """When a commit is refused, its children and outgoing signals are rolled back with it."""
    await _waiting(store, "peer")
    parent = await started(store, "parent")
    await store.commit(Commit(parent.lease, (entry(1, "1"),), now=T0))
    bad = Commit(
        parent.lease,
        (entry(2, "1"),),
        children=(NewRun("parent.2", TENANT, "wf", None, T0, parent_run_id="parent"),),
        signals=(OutgoingSignal(TENANT, "peer", "hello"),),
        now=T0,
    )
    await expect_error(StoreError, store.commit(bad), "a commit with a second outcome")
    ensure(await store.get_run(TENANT, "parent.2") is None, "a refused commit created a child")
    ensure(not await claimable(store, "peer", now=T0 + 1e4), "a refused commit sent a signal")


async def check_outgoing_signals_to_ended_runs_are_dropped(store: Store) -> None:
    """A signal a commit sends to an ended or unknown run is dropped; the commit succeeds."""
    done = await started(store, "done")
    await move_to(store, done, RunStatus.COMPLETED)
    claim = await started(store, "r1")
    await store.commit(
        Commit(
            claim.lease,
            (entry(1, "1"),),
            signals=(OutgoingSignal(TENANT, "done", "late"), OutgoingSignal(TENANT, "ghost", "x")),
            now=T0,
        )
    )
    ensure(len(await store.read_journal(TENANT, "r1")) == 1, "the commit itself must succeed")
    ensure((await stored(store, "done")).status is RunStatus.COMPLETED, "an ended run stays ended")


async def check_a_signal_sent_mid_execution_wakes_the_run_when_it_waits(store: Store) -> None:
    """A signal that arrives while a worker holds the run is not lost when the run then waits."""
    await create(store, "r1")
    await store.send_signal(TENANT, "r1", "seen", None, now=T0)
    claim = await claim_one(store, "r1")
    await store.send_signal(TENANT, "r1", "late", None, now=T0 + 1)
    run = await move_to(store, claim, RunStatus.WAITING)
    ensure(run.runnable_at is not None, "a run that waits after a late signal must be runnable")
    again = await claim_one(store, "r1", worker="w2", now=T0 + 2)
    names = [s.name for s in again.signals]
    ensure(names == ["seen", "late"], f"both signals stay queued until consumed: {names}")
    await move_to(store, again, RunStatus.WAITING)
    ensure(
        not await claimable(store, "r1", now=T0 + 1e4),
        "signals the claim already delivered must not wake the run again and again",
    )


SIGNAL_CHECKS = (
    check_signals_are_delivered_in_order_with_the_claim,
    check_consumed_signals_are_never_delivered_again,
    check_a_commit_consumes_only_its_own_runs_signals,
    check_a_signal_makes_a_waiting_run_runnable,
    check_signals_to_ended_or_unknown_runs_are_refused,
    check_children_and_signals_commit_with_the_parent,
    check_a_refused_commit_creates_no_children_and_sends_nothing,
    check_outgoing_signals_to_ended_runs_are_dropped,
    check_a_signal_sent_mid_execution_wakes_the_run_when_it_waits,
)
