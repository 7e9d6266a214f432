"""Helpers for DSL tests: call counters and re-executing a run from a copy of its journal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from fluxio import Engine
from fluxio.store.memory import MemoryStore
from fluxio.store.records import Commit, JournalEntry, RunStatus, Transition

Reexecute = Callable[..., Awaitable[Any]]


class Calls:
    """Counts how often each step body ran."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def reexecute() -> Reexecute:
    """Run ``workflow`` on a fresh store whose run already holds ``journal``; return its result.

    This is what a worker does after a crash: claim the run, replay the code against what the
    journal recorded, and execute only what it did not.
    """

    async def run(
        workflow: Any,
        journal: Sequence[JournalEntry],
        input: Any,
        *,
        signals: Sequence[tuple[str, Any]] = (),
    ) -> Any:
        store = MemoryStore()
        engine = Engine(store, workflows={workflow.name: workflow})
        started = await engine.start(workflow.name, input)
        for name, payload in signals:
            await engine.signal(started.run_id, name, payload)
        (claim,) = await engine.claim(1)
        pending = Transition(RunStatus.PENDING, runnable_at=0.0)
        await store.commit(Commit(claim.lease, tuple(journal), transition=pending))
        return await engine.result(started.run_id)

    return run
