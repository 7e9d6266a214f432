"""Checks on creating, reading and listing runs, and on tenant scoping."""

from __future__ import annotations

from fluxio.errors import NotFound
from fluxio.store.base import Store
from fluxio.store.records import (
    Commit,
    EntryKind,
    RunQuery,
    RunStatus,
    Transition,
)
from fluxio.testing.store_checks._support import (
    OTHER_TENANT,
    T0,
    TENANT,
    claim_one,
    create,
    ensure,
    entry,
    expect_error,
    move_to,
    new_run,
    started,
    stored,
)

__all__ = ["RUN_CHECKS"]

NESTED = {"text": "héllo ✓", "list": [1, 2.5, None, True], "map": {"k": ["v"]}}


async def check_new_run_starts_pending_and_runnable(store: Store) -> None:
    """A created run is pending, runnable from its creation time, unleased, epoch 0."""
    run = await create(store, "r1", input=NESTED, priority=3, key="k1")
    again = await stored(store, "r1")
    for seen in (run, again):
        ensure(seen.status is RunStatus.PENDING, f"a new run is pending, not {seen.status}")
        ensure(seen.runnable_at == T0, f"a new run is runnable at creation, not {seen.runnable_at}")
        ensure(seen.epoch == 0 and seen.lease_owner is None, "a new run has no lease, epoch 0")
        ensure(seen.input == NESTED, f"input must round-trip as JSON, got {seen.input!r}")
        ensure((seen.priority, seen.idempotency_key) == (3, "k1"), "priority and key are kept")
        ensure(seen.tenant_id == TENANT and seen.workflow == "wf", "tenant and workflow are kept")


async def check_create_is_idempotent_by_run_id(store: Store) -> None:
    """Creating a run id twice returns the first run, unchanged, with created=False."""
    await create(store, "r1", input={"n": 1})
    run, created = await store.create_run(new_run("r1", input={"n": 2}, at=T0 + 5))
    ensure(not created, "a second create_run with the same run id must report created=False")
    ensure(run.input == {"n": 1}, f"the existing run must be returned unchanged, got {run.input}")
    ensure((await stored(store, "r1")).input == {"n": 1}, "the stored run must not change")


async def check_create_is_idempotent_by_idempotency_key(store: Store) -> None:
    """A second run with the same idempotency key returns the first run; no new run exists."""
    await create(store, "r1", key="order-42")
    run, created = await store.create_run(new_run("r2", key="order-42"))
    ensure(not created, "create_run with a used idempotency key must report created=False")
    ensure(run.run_id == "r1", f"the run that holds the key (r1) is returned, not {run.run_id}")
    ensure(await store.get_run(TENANT, "r2") is None, "no run r2 may be created")


async def check_idempotency_keys_are_scoped_to_a_tenant(store: Store) -> None:
    """The same idempotency key in two tenants creates two runs."""
    await create(store, "r1", key="order-42")
    run, created = await store.create_run(new_run("r2", key="order-42", tenant=OTHER_TENANT))
    ensure(created and run.run_id == "r2", "another tenant's idempotency key must not collide")


async def check_run_ids_are_scoped_to_a_tenant(store: Store) -> None:
    """The same run id in two tenants names two runs with separate journals and signals."""
    a = await started(store, "r1", input="a")
    await store.commit(Commit(a.lease, (entry(1, "1", value="from a"),), now=T0))
    run_b, created = await store.create_run(new_run("r1", tenant=OTHER_TENANT, input="b"))
    ensure(created and run_b.input == "b", "run id r1 of another tenant is a different run")
    ensure(
        await store.read_journal(OTHER_TENANT, "r1") == [],
        "creating tenant B's run r1 must not show or reuse tenant A's journal of r1",
    )
    ensure(len(await store.read_journal(TENANT, "r1")) == 1, "tenant A's journal must be intact")
    await store.send_signal(OTHER_TENANT, "r1", "for-b", None, now=T0)
    b = await claim_one(store, "r1", now=T0, tenant=OTHER_TENANT)
    ensure(b.journal == (), f"tenant B's claim must carry its own (empty) journal: {b.journal}")
    ensure([s.name for s in b.signals] == ["for-b"], "tenant B's claim carries only its signals")
    await store.commit(Commit(b.lease, (entry(1, "1", value="from b"),), now=T0))
    values = [e.value for e in await store.read_journal(TENANT, "r1")]
    ensure(values == ["from a"], f"tenant A's journal must hold only its entry, got {values}")


async def check_runs_are_invisible_to_other_tenants(store: Store) -> None:
    """A run of tenant A cannot be read, listed, signalled or amended as tenant B."""
    claim = await started(store, "r1")
    await store.commit(Commit(claim.lease, (entry(1, "1"),), now=T0))
    ensure(await store.get_run(OTHER_TENANT, "r1") is None, "get_run must be tenant-scoped")
    listed = await store.list_runs(RunQuery(tenant_id=OTHER_TENANT))
    ensure(listed == [], f"list_runs must be tenant-scoped, got {[r.run_id for r in listed]}")
    ensure(await store.read_journal(OTHER_TENANT, "r1") == [], "read_journal is tenant-scoped")
    await expect_error(
        NotFound,
        store.send_signal(OTHER_TENANT, "r1", "go", None, now=T0),
        "send_signal to another tenant's run",
    )
    await expect_error(
        NotFound,
        store.amend(
            OTHER_TENANT,
            "r1",
            expect=frozenset(RunStatus),
            transition=Transition(RunStatus.CANCELLED),
            now=T0 + 100,
        ),
        "amend of another tenant's run",
    )


async def check_unknown_runs_read_as_absent(store: Store) -> None:
    """get_run of an unknown id is None and its journal is empty."""
    ensure(await store.get_run(TENANT, "nope") is None, "get_run of an unknown run is None")
    ensure(await store.read_journal(TENANT, "nope") == [], "an unknown run's journal is empty")


async def check_list_runs_filters_and_orders_newest_first(store: Store) -> None:
    """list_runs filters by status, workflow, parent and ids, orders newest first, limits."""
    await create(store, "a", at=T0, workflow="billing")
    await create(store, "b", at=T0 + 1, workflow="billing", parent="a")
    await create(store, "c", at=T0 + 2, workflow="shipping", parent="a")
    await create(store, "d", at=T0 + 3, workflow="shipping")
    done = await claim_one(store, "d", now=T0 + 3)
    await move_to(store, done, RunStatus.COMPLETED)

    async def ids(**filters: object) -> list[str]:
        query = RunQuery(tenant_id=TENANT, **filters)  # type: ignore[arg-type]
        return [r.run_id for r in await store.list_runs(query)]

    cases: list[tuple[dict[str, object], list[str]]] = [
        ({}, ["d", "c", "b", "a"]),
        ({"limit": 2}, ["d", "c"]),
        ({"workflow": "billing"}, ["b", "a"]),
        ({"parent_run_id": "a"}, ["c", "b"]),
        ({"statuses": (RunStatus.COMPLETED,)}, ["d"]),
        ({"statuses": (RunStatus.PENDING, RunStatus.WAITING)}, ["c", "b", "a"]),
        ({"run_ids": ("a", "c", "zzz")}, ["c", "a"]),
        ({"workflow": "shipping", "statuses": (RunStatus.PENDING,)}, ["c"]),
    ]
    for filters, expected in cases:
        got = await ids(**filters)
        ensure(got == expected, f"list_runs({filters}) should return {expected}, got {got}")


async def check_values_round_trip_as_json(store: Store) -> None:
    """Inputs, results, errors, attention, waits and journal values come back equal."""
    claim = await started(store, "r1", input=NESTED)
    await store.commit(
        Commit(claim.lease, (entry(1, "1", EntryKind.INTENT, value=NESTED),), now=T0)
    )
    error = {"type": "Boom", "message": "ünïcode", "retryable": False}
    await store.commit(
        Commit(
            claim.lease,
            (entry(2, "1", ok=False, value=error),),
            transition=Transition(RunStatus.FAILED, result=NESTED, error=error),
            now=T0,
        )
    )
    run = await stored(store, "r1")
    ensure(run.result == NESTED and run.error == error, "result and error must round-trip")
    values = [e.value for e in await store.read_journal(TENANT, "r1")]
    ensure(values == [NESTED, error], f"journal values must round-trip, got {values}")


RUN_CHECKS = (
    check_new_run_starts_pending_and_runnable,
    check_create_is_idempotent_by_run_id,
    check_create_is_idempotent_by_idempotency_key,
    check_idempotency_keys_are_scoped_to_a_tenant,
    check_run_ids_are_scoped_to_a_tenant,
    check_runs_are_invisible_to_other_tenants,
    check_unknown_runs_read_as_absent,
    check_list_runs_filters_and_orders_newest_first,
    check_values_round_trip_as_json,
)
