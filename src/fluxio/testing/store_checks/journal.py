"""Checks on the journal (order, one outcome per step, atomic commits) and on ``amend``."""

from __future__ import annotations

from fluxio.errors import LeaseLost, NotFound, StoreError, UsageError
from fluxio.store.base import Store
from fluxio.store.records import (
    Commit,
    EntryKind,
    JournalEntry,
    NewRun,
    RunStatus,
    Transition,
)
from fluxio.testing.store_checks._support import (
    LEASE,
    T0,
    TENANT,
    claimable,
    create,
    ensure,
    entry,
    expect_error,
    move_to,
    started,
    stored,
)

__all__ = ["JOURNAL_CHECKS"]

_ANY_LIVE = frozenset({RunStatus.PENDING, RunStatus.WAITING, RunStatus.NEEDS_ATTENTION})


async def _refused(store: Store, commit: Commit, what: str) -> None:
    exc = await expect_error(StoreError, store.commit(commit), what)
    ensure(not isinstance(exc, LeaseLost), f"{what}: the lease is fine, yet LeaseLost was raised")


async def check_journal_keeps_every_field_in_seq_order(store: Store) -> None:
    """Entries come back in seq order with every field as written."""
    claim = await started(store, "r1")
    written = [
        JournalEntry(1, "1", EntryKind.INTENT, "charge", value={"until": 5.5}, started_at=T0),
        JournalEntry(2, "1", EntryKind.OUTCOME, "charge", True, [1, "x"], 3, T0, T0 + 2.5),
        JournalEntry(3, "2.parallel.1.1", EntryKind.OUTCOME, "fetch", False, {"type": "E"}),
    ]
    await store.commit(Commit(claim.lease, tuple(written[:2]), now=T0))
    await store.commit(Commit(claim.lease, tuple(written[2:]), now=T0))
    journal = await store.read_journal(TENANT, "r1")
    ensure(journal == written, f"the journal must read back as written:\n{journal}\n{written}")


async def check_second_outcome_for_a_step_is_refused_whole(store: Store) -> None:
    """A commit holding a second outcome for a step key is refused and rolled back whole."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, (entry(1, "1", value="first"),), now=T0))
    duplicate = Commit(
        claim.lease,
        (entry(2, "2", value="fine"), entry(3, "1", value="second")),
        transition=Transition(RunStatus.COMPLETED, result="oops"),
        children=(NewRun("child", TENANT, "wf", None, T0, parent_run_id="r1"),),
        now=T0,
    )
    await _refused(store, duplicate, "a second outcome for step 1")
    journal = await store.read_journal(TENANT, "r1")
    ensure([e.value for e in journal] == ["first"], f"a refused commit wrote entries: {journal}")
    ensure((await stored(store, "r1")).status is RunStatus.PENDING, "a refused commit moved r1")
    ensure(await store.get_run(TENANT, "child") is None, "a refused commit created a child")
    await store.commit(Commit(claim.lease, (entry(2, "2", value="after"),), now=T0))
    ensure(len(await store.read_journal(TENANT, "r1")) == 2, "the lease works after a refusal")


async def check_two_outcomes_in_one_commit_are_refused(store: Store) -> None:
    """One commit cannot record two outcomes for the same step key."""
    claim = await started(store, "r1")
    both = Commit(claim.lease, (entry(1, "1"), entry(2, "1")), now=T0)
    await _refused(store, both, "two outcomes for step 1 in one commit")
    ensure(await store.read_journal(TENANT, "r1") == [], "a refused commit wrote entries")


async def check_intents_and_resolutions_may_repeat_per_step(store: Store) -> None:
    """A step key may have several intents and resolutions but only one outcome."""
    claim = await started(store, "r1")
    entries = (
        entry(1, "1", EntryKind.INTENT),
        entry(2, "1", EntryKind.RESOLUTION, value={"action": "retry"}),
        entry(3, "1", EntryKind.INTENT),
        entry(4, "1"),
    )
    await store.commit(Commit(claim.lease, entries, now=T0))
    kinds = [e.kind for e in await store.read_journal(TENANT, "r1")]
    ensure(kinds == [e.kind for e in entries], f"intent, resolution, intent, outcome: {kinds}")


async def check_a_used_seq_is_refused(store: Store) -> None:
    """Writing a seq that the journal already holds is refused and writes nothing."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, (entry(1, "1", EntryKind.INTENT),), now=T0))
    await _refused(store, Commit(claim.lease, (entry(1, "2"),), now=T0), "a reused seq 1")
    journal = await store.read_journal(TENANT, "r1")
    ensure([e.kind for e in journal] == [EntryKind.INTENT], f"seq 1 was overwritten: {journal}")


async def check_amend_requires_an_expected_status(store: Store) -> None:
    """amend refuses a run whose status is not expected, names that status, changes nothing."""
    await create(store, "r1")
    await expect_error(
        UsageError,
        store.amend(
            TENANT,
            "r1",
            expect=frozenset({RunStatus.NEEDS_ATTENTION}),
            entries=[entry(1, "1")],
            transition=Transition(RunStatus.CANCELLED),
            now=T0,
        ),
        "amend of a pending run that expects needs_attention",
        says="pending",
    )
    ensure((await stored(store, "r1")).status is RunStatus.PENDING, "a refused amend moved r1")
    ensure(await store.read_journal(TENANT, "r1") == [], "a refused amend wrote entries")


async def check_amend_refuses_a_run_held_by_a_worker(store: Store) -> None:
    """amend refuses a run under a live lease; once the lease has expired it may proceed."""
    await started(store, "r1")
    cancel = Transition(RunStatus.CANCELLED, error={"type": "Cancelled", "message": "x"})
    await expect_error(
        UsageError,
        store.amend(TENANT, "r1", expect=_ANY_LIVE, transition=cancel, now=T0 + 1),
        "amend of a run held by a worker",
    )
    run = await store.amend(TENANT, "r1", expect=_ANY_LIVE, transition=cancel, now=T0 + LEASE + 1)
    ensure(run.status is RunStatus.CANCELLED, f"amend must return the amended run: {run.status}")
    ensure((await stored(store, "r1")).error == cancel.error, "amend must store the transition")


async def check_amend_appends_entries_and_makes_a_run_runnable(store: Store) -> None:
    """Resolving a parked run appends its entries and applies the transition."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, (entry(1, "1", EntryKind.INTENT),), now=T0))
    await move_to(store, claim, RunStatus.NEEDS_ATTENTION)
    run = await store.amend(
        TENANT,
        "r1",
        expect=frozenset({RunStatus.NEEDS_ATTENTION}),
        entries=[entry(2, "1", value="done by hand")],
        transition=Transition(RunStatus.PENDING, runnable_at=T0 + 5),
        now=T0 + 5,
    )
    ensure(run.status is RunStatus.PENDING and run.runnable_at == T0 + 5, "amend not applied")
    journal = await store.read_journal(TENANT, "r1")
    ensure([e.value for e in journal] == [None, "done by hand"], f"amend entries: {journal}")
    ensure(await claimable(store, "r1", now=T0 + 5), "an amended run must be claimable")


async def check_amend_refuses_a_second_outcome(store: Store) -> None:
    """amend cannot record a second outcome for a step; nothing is applied."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, (entry(1, "1"),), now=T0))
    await move_to(store, claim, RunStatus.NEEDS_ATTENTION)
    exc = await expect_error(
        StoreError,
        store.amend(
            TENANT,
            "r1",
            expect=frozenset({RunStatus.NEEDS_ATTENTION}),
            entries=[entry(2, "1")],
            transition=Transition(RunStatus.PENDING, runnable_at=T0),
            now=T0,
        ),
        "amend with a second outcome for step 1",
    )
    ensure(not isinstance(exc, LeaseLost), "amend holds no lease; LeaseLost makes no sense")
    run = await stored(store, "r1")
    ensure(run.status is RunStatus.NEEDS_ATTENTION, f"a refused amend moved r1 to {run.status}")
    ensure(len(await store.read_journal(TENANT, "r1")) == 1, "a refused amend wrote entries")


async def check_amend_of_an_unknown_run_is_not_found(store: Store) -> None:
    """amend of a run that does not exist raises NotFound."""
    await expect_error(
        NotFound,
        store.amend(
            TENANT, "nope", expect=_ANY_LIVE, transition=Transition(RunStatus.CANCELLED), now=T0
        ),
        "amend of an unknown run",
    )


JOURNAL_CHECKS = (
    check_journal_keeps_every_field_in_seq_order,
    check_second_outcome_for_a_step_is_refused_whole,
    check_two_outcomes_in_one_commit_are_refused,
    check_intents_and_resolutions_may_repeat_per_step,
    check_a_used_seq_is_refused,
    check_amend_requires_an_expected_status,
    check_amend_refuses_a_run_held_by_a_worker,
    check_amend_appends_entries_and_makes_a_run_runnable,
    check_amend_refuses_a_second_outcome,
    check_amend_of_an_unknown_run_is_not_found,
)
