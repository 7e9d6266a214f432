"""Drive one run, and its child runs, in this process until it ends or waits for a person.

The embedded CLI has no server: ``fluxio run``, ``approve``, ``signal`` and ``resolve`` execute
the run themselves. Unlike ``Worker``, the driver claims only the run it was asked about and
its descendants (never other runs in the database), waits out short timers, and stops when
the run needs something from outside: an approval, a signal, a long timer, or a human.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from fluxio.engine import Engine
from fluxio.store.records import TERMINAL, Claim, EntryKind, JournalEntry, Run, RunQuery, RunStatus

__all__ = ["MAX_TIMER_WAIT", "Reporter", "RunDriver"]

MAX_TIMER_WAIT = 60.0
"""Timers due within this many seconds are waited out; longer ones end the drive."""

_OUTSIDE = frozenset({"approval", "signal", "event", "human"})


class Reporter(Protocol):
    """Where the driver tells what happens: steps as they complete, and notes."""

    def step(self, run: Run, entry: JournalEntry) -> None:
        """A step of ``run`` recorded its outcome."""
        ...

    def note(self, text: str) -> None:
        """Something worth a line: a timer being waited out, a lease held elsewhere."""
        ...


class RunDriver:
    """Executes one run tree with this engine until it is terminal or waits on the outside.

    Args:
        engine: knows the store and the workflows; runs of unknown workflows are left alone.
        tenant_id: the tenant of the run.
        reporter: told about every newly recorded step outcome.
        max_timer: timers due later than this many seconds from now end the drive.
        poll: seconds between progress checks while steps execute.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        tenant_id: str = "default",
        reporter: Reporter | None = None,
        max_timer: float = MAX_TIMER_WAIT,
        poll: float = 0.1,
    ) -> None:
        self.engine = engine
        self.tenant_id = tenant_id
        self.reporter = reporter
        self.max_timer = max_timer
        self.poll = poll
        self._reported: dict[str, int] = {}
        self._noted: set[str] = set()

    async def drive(self, run_id: str) -> Run:
        """Advance ``run_id`` until it is terminal or settled on an outside wait; return it."""
        for run in await self._scope(run_id):
            self._reported[run.run_id] = len(await self._journal(run.run_id))
        while True:
            scope = await self._scope(run_id)
            ids = [r.run_id for r in scope if self._drivable(r)]
            claims = await self.engine.claim(len(ids), ids) if ids else []
            if claims:
                await self._execute(claims, scope)
                continue
            await self._report(await self._scope(run_id))
            root = await self.engine.get(run_id, tenant_id=self.tenant_id)
            if await self._settled(root):
                return root
            await self._pause(scope)

    # -- the run tree ------------------------------------------------------------------

    async def _scope(self, run_id: str) -> list[Run]:
        root = await self.engine.get(run_id, tenant_id=self.tenant_id)
        runs, frontier = [root], [root.run_id]
        while frontier:
            parent = frontier.pop()
            query = RunQuery(self.tenant_id, parent_run_id=parent, limit=10_000)
            children = await self.engine.store.list_runs(query)
            runs.extend(children)
            frontier.extend(c.run_id for c in children)
        return runs

    def _drivable(self, run: Run) -> bool:
        return run.status not in TERMINAL and run.workflow in self.engine.workflows

    async def _settled(self, run: Run) -> bool:
        """Whether nothing this process can do will move ``run`` further right now."""
        now = self.engine.clock.now()
        if run.status in TERMINAL or run.status is RunStatus.NEEDS_ATTENTION:
            return True
        if run.workflow not in self.engine.workflows:
            return True
        if run.runnable_at is not None and run.runnable_at <= now:
            return False
        if run.status is not RunStatus.WAITING or run.wait is None:
            return False
        wait = run.wait
        if wait.reason == "child":
            child = await self.engine.store.get_run(self.tenant_id, wait.detail)
            return child is None or await self._settled(child)
        if wait.reason in _OUTSIDE or wait.until is None:
            return True
        return wait.until - now > self.max_timer

    # -- executing ---------------------------------------------------------------------

    async def _execute(self, claims: Sequence[Claim], scope: list[Run]) -> None:
        engine = self.engine
        tasks = {asyncio.ensure_future(engine.execute(c)) for c in claims}
        beat_every = max(engine.lease_seconds / 3, 0.05)
        last_beat = engine.clock.now()
        try:
            while tasks:
                done, tasks = await asyncio.wait(tasks, timeout=self.poll)
                for task in done:
                    task.result()
                await self._report(scope)
                if engine.clock.now() - last_beat >= beat_every:
                    await engine.heartbeat()
                    last_beat = engine.clock.now()
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _pause(self, scope: list[Run]) -> None:
        now = self.engine.clock.now()
        due = [r.runnable_at for r in scope if self._drivable(r) and r.runnable_at is not None]
        for run in scope:
            self._note_holder(run, now)
        if due and min(due) > now + 0.5:
            self._note_once(
                f"timer:{min(due)}", f"waiting out a timer: {min(due) - now:.1f}s to go"
            )
        delay = min((d - now for d in due), default=self.poll)
        await asyncio.sleep(min(max(delay, 0.01), 0.25))

    def _note_holder(self, run: Run, now: float) -> None:
        held = run.lease_expires_at is not None and run.lease_expires_at >= now
        if held and run.lease_owner != self.engine.worker_id:
            left = (run.lease_expires_at or now) - now
            self._note_once(
                f"lease:{run.run_id}:{run.lease_owner}",
                f"run {run.run_id} is held by worker {run.lease_owner} (a stopped or running "
                f"process); its lease expires in {left:.1f}s, then this process takes over",
            )

    def _note_once(self, key: str, text: str) -> None:
        if key not in self._noted and self.reporter is not None:
            self._noted.add(key)
            self.reporter.note(text)

    # -- progress ----------------------------------------------------------------------

    async def _journal(self, run_id: str) -> list[JournalEntry]:
        return await self.engine.store.read_journal(self.tenant_id, run_id)

    async def _report(self, scope: list[Run]) -> None:
        if self.reporter is None:
            return
        for run in scope:
            journal = await self._journal(run.run_id)
            start = self._reported.get(run.run_id, 0)
            for entry in journal[start:]:
                if entry.kind is EntryKind.OUTCOME:
                    self.reporter.step(run, entry)
            self._reported[run.run_id] = len(journal)
