"""Typed records the Store reads and writes. Values are JSON-compatible Python objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "TERMINAL",
    "Claim",
    "Commit",
    "ConcurrencyLimit",
    "EntryKind",
    "Heartbeat",
    "JournalEntry",
    "Lease",
    "NewRun",
    "OutgoingSignal",
    "Run",
    "RunQuery",
    "RunStatus",
    "Signal",
    "Transition",
    "Wait",
]

JSON = Any


class RunStatus(StrEnum):
    """The one run state machine (see docs/concepts.md for the mapping to task states)."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    NEEDS_ATTENTION = "needs_attention"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


TERMINAL = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SUPERSEDED}
)


class EntryKind(StrEnum):
    """What a journal entry records about its step key."""

    INTENT = "intent"  # about to run a side effect, or a wait's deadline was fixed
    OUTCOME = "outcome"  # the step's result or error: the step is done
    RESOLUTION = "resolution"  # a human resolved an ambiguous intent (retry)


@dataclass(frozen=True, slots=True)
class Wait:
    """Why a waiting run waits: ``reason`` is timer | signal | approval | child | several."""

    reason: str
    detail: str = ""
    until: float | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """A run as stored: what it runs, where it is, and who holds it."""

    run_id: str
    tenant_id: str
    workflow: str
    input: JSON
    status: RunStatus
    created_at: float
    updated_at: float
    parent_run_id: str | None = None
    idempotency_key: str | None = None
    wait: Wait | None = None
    result: JSON = None
    error: dict[str, Any] | None = None
    attention: dict[str, Any] | None = None
    epoch: int = 0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    runnable_at: float | None = None
    priority: int = 0
    queue: str = "default"


@dataclass(frozen=True, slots=True)
class NewRun:
    """What it takes to create a run. Creation is idempotent by run id or idempotency key."""

    run_id: str
    tenant_id: str
    workflow: str
    input: JSON
    created_at: float
    parent_run_id: str | None = None
    idempotency_key: str | None = None
    priority: int = 0
    queue: str = "default"


@dataclass(frozen=True, slots=True)
class ConcurrencyLimit:
    """At most ``max_active`` leased runs at once in a tenant's queue; ``*`` matches any.

    ``ConcurrencyLimit("acme", "*", 5)`` caps tenant acme at 5 runs executing at once across
    all workers; ``ConcurrencyLimit("*", "email", 2)`` caps queue email at 2 in every tenant.
    ``max_active=None`` removes the limit.
    """

    tenant_id: str = "*"
    queue: str = "*"
    max_active: int | None = None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One append-only record of what a step did. Unique per (run, step_key, kind)."""

    seq: int
    step_key: str
    kind: EntryKind
    name: str
    ok: bool = True
    value: JSON = None
    attempts: int = 1
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Signal:
    """A named message delivered to a run; consumed exactly once by a journaled wait."""

    signal_id: int
    name: str
    payload: JSON
    sent_at: float


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's right to advance a run. Writes carrying a stale ``epoch`` are refused."""

    run_id: str
    tenant_id: str
    worker_id: str
    epoch: int
    expires_at: float
    signal_mark: int = 0
    """The highest signal id the claim delivered; a signal above it arrived mid-execution."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A run claimed by a worker, with everything needed to replay it."""

    run: Run
    lease: Lease
    journal: tuple[JournalEntry, ...]
    signals: tuple[Signal, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """A run's next state. Any status but ``running`` releases the lease."""

    status: RunStatus
    wait: Wait | None = None
    result: JSON = None
    error: dict[str, Any] | None = None
    attention: dict[str, Any] | None = None
    runnable_at: float | None = None


@dataclass(frozen=True, slots=True)
class OutgoingSignal:
    """A signal sent to another run in the same transaction (e.g. a child tells its parent)."""

    tenant_id: str
    run_id: str
    name: str
    payload: JSON = None


@dataclass(frozen=True, slots=True)
class Commit:
    """One atomic write by a lease holder: journal entries, consumed signals, next state."""

    lease: Lease
    entries: tuple[JournalEntry, ...] = ()
    consumed: tuple[int, ...] = ()
    transition: Transition | None = None
    children: tuple[NewRun, ...] = ()
    signals: tuple[OutgoingSignal, ...] = ()
    now: float = 0.0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a heartbeat learned: leases lost to other workers, runs asked to cancel."""

    lost: frozenset[str] = frozenset()
    cancel_requested: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Filters for listing runs; always scoped to one tenant."""

    tenant_id: str
    statuses: tuple[RunStatus, ...] = ()
    workflow: str | None = None
    parent_run_id: str | None = None
    limit: int = 100
    run_ids: tuple[str, ...] = field(default=())
