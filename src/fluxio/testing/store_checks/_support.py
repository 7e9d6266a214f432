"""Building blocks for the store checks: runs, leases and entries with readable defaults."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fluxio.store.base import Store
from fluxio.store.records import (
    Claim,
    Commit,
    EntryKind,
    JournalEntry,
    NewRun,
    Run,
    RunStatus,
    Transition,
)

T0 = 1_000.0
"""The time every check starts at; checks move it explicitly."""
LEASE = 30.0
"""Lease length used by the checks, in seconds."""
TENANT = "acme"
OTHER_TENANT = "globex"


def ensure(condition: object, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds (unlike ``assert``, always)."""
    __tracebackhide__ = True  # pytest shows the failing check, not this helper
    if not condition:
        raise AssertionError(message)


async def expect_error(
    error: type[BaseException], action: Awaitable[Any], what: str, *, says: str = ""
) -> BaseException:
    """Await ``action`` and require it to raise ``error`` (whose text contains ``says``)."""
    __tracebackhide__ = True
    try:
        await action
    except error as exc:
        ensure(
            says.lower() in str(exc).lower(),
            f"{what}: raised {type(exc).__name__} as expected, but its message {str(exc)!r} "
            f"does not mention {says!r}",
        )
        return exc
    except BaseException as exc:
        raise AssertionError(
            f"{what}: expected {error.__name__}, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected {error.__name__}, but the call succeeded")


def new_run(
    run_id: str,
    *,
    tenant: str = TENANT,
    at: float = T0,
    key: str | None = None,
    priority: int = 0,
    workflow: str = "wf",
    input: Any = None,
    parent: str | None = None,
    queue: str = "default",
) -> NewRun:
    """A ``NewRun`` created at ``at`` (so runnable from ``at`` on)."""
    return NewRun(
        run_id,
        tenant,
        workflow,
        input,
        at,
        parent_run_id=parent,
        idempotency_key=key,
        priority=priority,
        queue=queue,
    )


def entry(
    seq: int,
    step_key: str,
    kind: EntryKind = EntryKind.OUTCOME,
    *,
    name: str = "step",
    value: Any = None,
    ok: bool = True,
) -> JournalEntry:
    """A journal entry with the given position, key and kind."""
    return JournalEntry(seq, step_key, kind, name, ok=ok, value=value, started_at=T0)


async def create(store: Store, run_id: str, **fields: Any) -> Run:
    """Create a run and require that this call created it."""
    run, created = await store.create_run(new_run(run_id, **fields))
    ensure(created, f"create_run({run_id!r}) of a new run id must report created=True")
    return run


async def claim_one(
    store: Store, run_id: str, *, worker: str = "w1", now: float = T0, tenant: str = TENANT
) -> Claim:
    """Claim exactly the run ``run_id`` (of ``tenant``); fail the check if it is not claimable."""
    claims = await store.claim(worker, limit=1, lease_seconds=LEASE, now=now, run_ids=[run_id])
    claims = [c for c in claims if c.run.tenant_id == tenant]
    ensure(
        len(claims) == 1,
        f"run {run_id} should be claimable by {worker} at t={now:g}, but claim returned "
        f"{len(claims)} runs",
    )
    return claims[0]


async def started(store: Store, run_id: str, *, worker: str = "w1", **fields: Any) -> Claim:
    """Create a run and claim it at its creation time."""
    run = await create(store, run_id, **fields)
    return await claim_one(store, run_id, worker=worker, now=run.created_at, tenant=run.tenant_id)


async def move_to(
    store: Store, claim: Claim, status: RunStatus, *, runnable_at: float | None = None
) -> Run:
    """Commit a transition to ``status`` with the claim's lease and return the stored run."""
    await store.commit(
        Commit(claim.lease, transition=Transition(status, runnable_at=runnable_at), now=T0)
    )
    return await stored(store, claim.run.run_id, tenant=claim.run.tenant_id)


async def stored(store: Store, run_id: str, *, tenant: str = TENANT) -> Run:
    """The stored run, which must exist."""
    run = await store.get_run(tenant, run_id)
    ensure(run is not None, f"run {run_id} of tenant {tenant!r} should exist")
    assert run is not None  # for the type checker
    return run


async def claimable(store: Store, run_id: str, *, now: float, worker: str = "probe") -> bool:
    """Whether ``run_id`` can be claimed at ``now`` (claims it if so)."""
    claims = await store.claim(worker, limit=1, lease_seconds=LEASE, now=now, run_ids=[run_id])
    return bool(claims)
