"""Durable storage: the Store port, its typed records, and the stores fluxio ships."""

from fluxio.store.base import SIGNAL_CANCEL, Store
from fluxio.store.records import (
    TERMINAL,
    Claim,
    Commit,
    ConcurrencyLimit,
    EntryKind,
    Heartbeat,
    JournalEntry,
    Lease,
    NewRun,
    OutgoingSignal,
    Run,
    RunQuery,
    RunStatus,
    Signal,
    Transition,
    Wait,
)

__all__ = [
    "SIGNAL_CANCEL",
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
    "Store",
    "Transition",
    "Wait",
]
