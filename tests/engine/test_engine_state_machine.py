"""The engine against a simple model, driven by hypothesis through starts, steps and crashes.

Runs execute a scripted workflow whose step bodies block on gates the test opens (complete or
fail). Between rules the test crashes workers (a new Engine with a new worker id takes over,
the old executions linger as zombies), lets leases expire, moves the clock, signals, cancels
and resolves. After every rule the store must show: journal seqs contiguous per run, at most
one outcome per step, terminal states absorbing, no step body run after its outcome was
committed, and every signal consumed at most once.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from fluxio import Engine, RetryPolicy, RunContext, RunStatus, StepFailed, StepOptions
from fluxio.engine import current_step
from fluxio.errors import UsageError
from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore
from fluxio.store.records import TERMINAL, EntryKind, JournalEntry, Run
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeClock

LEASE = 30.0
ONCE = StepOptions(retry=RetryPolicy(max_attempts=1))
EFFECT = StepOptions(retry=RetryPolicy(max_attempts=1), side_effects=True, idempotent=False)
OPS = ("step", "effect", "signal", "sleep")
CANCELLABLE = {RunStatus.PENDING, RunStatus.WAITING, RunStatus.NEEDS_ATTENTION}


@dataclass
class Gate:
    """A step body waiting for the test to let it finish."""

    run_id: str
    step_key: str
    epoch: int
    task: asyncio.Task[Any] | None
    future: asyncio.Future[str] = field(repr=False)


class EngineMachine(RuleBasedStateMachine):
    """Rules drive one store through engines that come and go; invariants read the store."""

    use_sqlite = False

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.mkdtemp(prefix="fluxio-sm-")
        self.store: Store = (
            SQLiteStore(Path(self.folder) / "fluxio.db", durability="normal")
            if self.use_sqlite
            else MemoryStore()
        )
        self.clock = FakeClock()
        self.workers = itertools.count()
        self.engine = self._new_engine()
        self.plans: dict[str, list[str]] = {}
        self.gates: dict[int, Gate] = {}
        self.gate_ids = itertools.count()
        self.tasks: list[asyncio.Task[Any]] = []
        self.violations: list[str] = []
        self.ended: dict[str, tuple[Run, list[JournalEntry]]] = {}
        self.sent: dict[str, set[int]] = {}
        self.payloads = itertools.count(1)
        self.parked: set[str] = set()

    # -- plumbing ------------------------------------------------------------------------

    def _new_engine(self) -> Engine:
        return Engine(
            self.store,
            workflows={"scripted": self._workflow},
            clock=self.clock,
            lease_seconds=LEASE,
            worker_id=f"worker-{next(self.workers)}",
        )

    async def _workflow(self, ctx: RunContext, plan: list[str]) -> str:
        for i, op in enumerate(plan):
            if op == "step":
                await ctx.step(self._body, name=f"step{i}", options=ONCE)
            elif op == "effect":
                await ctx.step(self._body, name=f"effect{i}", options=EFFECT)
            elif op == "signal":
                await ctx.wait_for("go")
            else:
                await ctx.sleep(10)
        return "done"

    async def _body(self) -> str:
        info = current_step()
        journal = await self.store.read_journal(info.tenant_id, info.run_id)
        if any(e.kind is EntryKind.OUTCOME and e.step_key == info.step_key for e in journal):
            self.violations.append(f"{info.run_id} step {info.step_key} ran after its outcome")
        run = await self.store.get_run(info.tenant_id, info.run_id)
        assert run is not None
        future: asyncio.Future[str] = self.loop.create_future()
        gate_id = next(self.gate_ids)
        self.gates[gate_id] = Gate(
            info.run_id, info.step_key, run.epoch, asyncio.current_task(), future
        )
        try:
            return await future
        finally:
            self.gates.pop(gate_id, None)

    def _do(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _settle(self) -> None:
        """Let executions run until each has ended or waits at a gate."""
        for _ in range(10_000):
            blocked = {g.task for g in self.gates.values() if not g.future.done()}
            if all(t.done() or t in blocked for t in self.tasks):
                break
            await asyncio.sleep(0)
        else:
            raise AssertionError("executions neither ended nor reached a gate")
        for task in [t for t in self.tasks if t.done()]:
            self.tasks.remove(task)
            error = task.exception()
            if error is not None:
                raise error

    async def _run(self, run_id: str) -> Run:
        run = await self.store.get_run("default", run_id)
        assert run is not None
        return run

    async def _stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.store.close()

    def teardown(self) -> None:
        try:
            self._do(self._stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- rules ---------------------------------------------------------------------------

    @initialize(plan=st.lists(st.sampled_from(OPS), min_size=1, max_size=4))
    def start_first(self, plan: list[str]) -> None:
        self.start(plan)

    @rule(plan=st.lists(st.sampled_from(OPS), max_size=4))
    def start(self, plan: list[str]) -> None:
        run_id = f"run{len(self.plans)}"
        run = self._do(self.engine.start("scripted", plan, run_id=run_id))
        assert (run.status, run.input) == (RunStatus.PENDING, plan)
        self.plans[run_id] = plan
        self.sent[run_id] = set()

    @precondition(lambda self: self.plans)
    @rule(data=st.data())
    def start_again_is_idempotent(self, data: st.DataObject) -> None:
        run_id = data.draw(st.sampled_from(sorted(self.plans)))
        run = self._do(self.engine.start("scripted", ["other"], run_id=run_id))
        assert run.input == self.plans[run_id]

    def _pick(self, data: st.DataObject) -> str:
        """A run to act on: mostly one that has not ended, sometimes any."""
        live = sorted(set(self.plans) - set(self.ended))
        pool = live if live and data.draw(st.integers(0, 4)) else sorted(self.plans)
        return data.draw(st.sampled_from(pool))

    @precondition(lambda self: self.plans)
    @rule(data=st.data())
    def execute(self, data: st.DataObject) -> None:
        run_id = self._pick(data)
        before = self._do(self._run(run_id))
        now = self.clock.now()
        expected = (
            before.status not in TERMINAL
            and before.runnable_at is not None
            and before.runnable_at <= now
            and (before.lease_expires_at is None or before.lease_expires_at < now)
        )
        claims = self._do(self.engine.claim(1, run_ids=[run_id]))
        assert bool(claims) == expected, f"claimable={expected} but claimed {claims} ({before})"
        for claim in claims:
            self.tasks.append(self.loop.create_task(self.engine.execute(claim)))
        self._do(self._settle())

    @precondition(lambda self: self.gates)
    @rule(data=st.data(), succeed=st.booleans())
    def finish_step(self, data: st.DataObject, succeed: bool) -> None:
        gate_id = data.draw(st.sampled_from(sorted(self.gates)))
        gate = self.gates[gate_id]
        run = self._do(self._run(gate.run_id))
        fenced_in = run.epoch == gate.epoch and run.lease_owner is not None
        marker = f"gate{gate_id}"
        if succeed:
            gate.future.set_result(marker)
        else:
            gate.future.set_exception(StepFailed(marker, retryable=False))
        self._do(self._settle())
        journal = self._do(self.store.read_journal("default", gate.run_id))
        mine = [e for e in journal if e.step_key == gate.step_key and _written_by(e, marker)]
        assert len(mine) == (1 if fenced_in else 0), (gate, run, journal)
        event("step finished by its lease holder" if fenced_in else "zombie step fenced off")
        assert all(e.ok is succeed for e in mine)

    @rule(wait_out_the_lease=st.booleans())
    def crash(self, wait_out_the_lease: bool) -> None:
        """The worker dies: its executions linger as zombies, a new engine takes over."""
        self.engine = self._new_engine()
        if wait_out_the_lease:
            self.clock.advance(LEASE + 1)

    @rule()
    def expire_leases(self) -> None:
        self.clock.advance(LEASE + 1)

    @rule(seconds=st.floats(min_value=0, max_value=15))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.plans)
    @rule(data=st.data(), cancel=st.sampled_from([False] * 5 + [True]))
    def signal_or_cancel(self, data: st.DataObject, cancel: bool) -> None:
        run_id = self._pick(data)
        before = self._do(self._run(run_id))
        if cancel:
            self._cancel(before)
            return
        payload = next(self.payloads)
        if before.status in TERMINAL:
            self._expect_usage_error(self.engine.signal(run_id, "go", payload))
            return
        self._do(self.engine.signal(run_id, "go", payload))
        self.sent[run_id].add(payload)

    def _cancel(self, before: Run) -> None:
        if before.status in TERMINAL:
            self._expect_usage_error(self.engine.cancel(before.run_id))
            return
        after = self._do(self.engine.cancel(before.run_id))
        idle = before.lease_expires_at is None or before.lease_expires_at < self.clock.now()
        if before.status in CANCELLABLE and idle:
            assert after.status is RunStatus.CANCELLED
        else:
            assert after.status is before.status
        self._do(self._settle())

    @precondition(lambda self: self.parked)
    @rule(data=st.data(), action=st.sampled_from(["retry", "complete", "fail"]))
    def resolve(self, data: st.DataObject, action: str) -> None:
        run_id = data.draw(st.sampled_from(sorted(self.parked)))
        after = self._do(self.engine.resolve(run_id, action, result="by hand"))
        assert after.status is RunStatus.PENDING
        event(f"resolved a parked run: {action}")
        others = sorted(set(self.plans) - self.parked)
        if others:
            other = data.draw(st.sampled_from(others))
            self._expect_usage_error(self.engine.resolve(other, action))

    def _expect_usage_error(self, coro: Any) -> None:
        try:
            self._do(coro)
        except UsageError:
            return
        raise AssertionError("expected UsageError")

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def store_keeps_the_promises(self) -> None:
        assert self.violations == []
        self.parked.clear()
        for run_id, plan in self.plans.items():
            run = self._do(self._run(run_id))
            if run.status is RunStatus.NEEDS_ATTENTION:
                self.parked.add(run_id)
            journal = self._do(self.store.read_journal("default", run_id))
            self._check_journal(run_id, journal)
            self._check_signals(run_id, journal)
            if run_id in self.ended:
                assert (run, journal) == self.ended[run_id], f"{run_id} changed after it ended"
            elif run.status in TERMINAL:
                event(f"a run ended {run.status}")
                self.ended[run_id] = (run, journal)
                if run.status is RunStatus.COMPLETED:
                    self._check_completed(run, plan, journal)

    @staticmethod
    def _check_journal(run_id: str, journal: list[JournalEntry]) -> None:
        seqs = [e.seq for e in journal]
        assert seqs == list(range(1, len(journal) + 1)), f"{run_id} seqs {seqs}"
        outcomes = [e.step_key for e in journal if e.kind is EntryKind.OUTCOME]
        assert len(outcomes) == len(set(outcomes)), f"{run_id} outcomes {outcomes}"

    def _check_signals(self, run_id: str, journal: list[JournalEntry]) -> None:
        got = [e.value for e in journal if e.kind is EntryKind.OUTCOME and e.name == "wait:go"]
        assert len(got) == len(set(got)), f"{run_id} consumed a signal twice: {got}"
        assert set(got) <= self.sent[run_id], f"{run_id} got signals never sent: {got}"

    @staticmethod
    def _check_completed(run: Run, plan: list[str], journal: list[JournalEntry]) -> None:
        assert run.result == "done"
        keys = {e.step_key for e in journal if e.kind is EntryKind.OUTCOME}
        assert keys == {str(i + 1) for i in range(len(plan))}, (plan, journal)


def _written_by(entry: JournalEntry, marker: str) -> bool:
    """Whether ``entry`` is the outcome a gate's body produced (its result or its error)."""
    if entry.kind is not EntryKind.OUTCOME:
        return False
    if entry.ok:
        return bool(entry.value == marker)
    return isinstance(entry.value, dict) and entry.value.get("message") == marker


FAST = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class SQLiteEngineMachine(EngineMachine):
    use_sqlite = True


TestEngineOnMemoryStore = EngineMachine.TestCase
TestEngineOnMemoryStore.settings = FAST
TestEngineOnSQLiteStore = SQLiteEngineMachine.TestCase
TestEngineOnSQLiteStore.settings = FAST
