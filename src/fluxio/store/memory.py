"""An in-memory Store: the reference semantics, for tests and ephemeral runs. Not durable."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fluxio.errors import LeaseLost, NotFound, StoreError, UsageError
from fluxio.store.base import SIGNAL_CANCEL
from fluxio.store.limits import Capacity, check_limit
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
    Run,
    RunQuery,
    RunStatus,
    Signal,
    Transition,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps runs, journals and signals in dictionaries; same contract as the SQLite store."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], Run] = {}
        self._by_key: dict[tuple[str, str], str] = {}
        # Keyed like runs, by (tenant_id, run_id): a run id is only unique within its tenant.
        self._journals: dict[tuple[str, str], list[JournalEntry]] = {}
        self._signals: dict[tuple[str, str], list[Signal]] = {}
        self._signal_seq = 0
        self._outcome_keys: dict[tuple[str, str], set[str]] = {}
        self._limits: dict[tuple[str, str], ConcurrencyLimit] = {}

    async def create_run(self, new: NewRun) -> tuple[Run, bool]:
        existing = self._runs.get((new.tenant_id, new.run_id))
        if existing is None and new.idempotency_key is not None:
            run_id = self._by_key.get((new.tenant_id, new.idempotency_key))
            existing = self._runs.get((new.tenant_id, run_id)) if run_id else None
        if existing is not None:
            return existing, False
        run = Run(
            run_id=new.run_id,
            tenant_id=new.tenant_id,
            workflow=new.workflow,
            input=new.input,
            status=RunStatus.PENDING,
            created_at=new.created_at,
            updated_at=new.created_at,
            parent_run_id=new.parent_run_id,
            idempotency_key=new.idempotency_key,
            runnable_at=new.created_at,
            priority=new.priority,
            queue=new.queue,
        )
        self._runs[(new.tenant_id, new.run_id)] = run
        if new.idempotency_key is not None:
            self._by_key[(new.tenant_id, new.idempotency_key)] = new.run_id
        key = (new.tenant_id, new.run_id)
        self._journals[key] = []
        self._outcome_keys[key] = set()
        self._signals[key] = []
        return run, True

    async def get_run(self, tenant_id: str, run_id: str) -> Run | None:
        return self._runs.get((tenant_id, run_id))

    async def list_runs(self, query: RunQuery) -> list[Run]:
        runs = [
            r
            for (tenant, _), r in self._runs.items()
            if tenant == query.tenant_id
            and (not query.statuses or r.status in query.statuses)
            and (query.workflow is None or r.workflow == query.workflow)
            and (query.parent_run_id is None or r.parent_run_id == query.parent_run_id)
            and (not query.run_ids or r.run_id in query.run_ids)
        ]
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return runs[: query.limit]

    async def read_journal(self, tenant_id: str, run_id: str) -> list[JournalEntry]:
        return list(self._journals.get((tenant_id, run_id), ()))

    async def claim(
        self,
        worker_id: str,
        *,
        limit: int,
        lease_seconds: float,
        now: float,
        run_ids: Sequence[str] = (),
        workflows: Sequence[str] = (),
        queues: Sequence[str] = (),
    ) -> list[Claim]:
        wanted, known, lanes = set(run_ids), set(workflows), set(queues)
        ready = [
            r
            for r in self._runs.values()
            if r.status not in TERMINAL
            and r.runnable_at is not None
            and r.runnable_at <= now
            and (r.lease_expires_at is None or r.lease_expires_at < now)
            and (not wanted or r.run_id in wanted)
            and (not known or r.workflow in known)
            and (not lanes or r.queue in lanes)
        ]
        ready.sort(key=lambda r: (-r.priority, r.runnable_at or 0.0, r.run_id))
        capacity = Capacity(
            self._limits.values(),
            [
                (r.tenant_id, r.queue)
                for r in self._runs.values()
                if r.lease_expires_at is not None and r.lease_expires_at >= now
            ],
        )
        claims: list[Claim] = []
        for run in ready:
            if len(claims) >= limit:
                break
            if capacity and not capacity.take(run.tenant_id, run.queue):
                continue
            claimed = dataclasses.replace(
                run,
                epoch=run.epoch + 1,
                lease_owner=worker_id,
                lease_expires_at=now + lease_seconds,
                updated_at=now,
            )
            key = (run.tenant_id, run.run_id)
            self._runs[key] = claimed
            mark = max((s.signal_id for s in self._signals[key]), default=0)
            lease = Lease(
                run.run_id, run.tenant_id, worker_id, claimed.epoch, now + lease_seconds, mark
            )
            claims.append(
                Claim(claimed, lease, tuple(self._journals[key]), tuple(self._signals[key]))
            )
        return claims

    async def set_limit(self, limit: ConcurrencyLimit) -> None:
        check_limit(limit)
        if limit.max_active is None:
            self._limits.pop((limit.tenant_id, limit.queue), None)
        else:
            self._limits[(limit.tenant_id, limit.queue)] = limit

    async def heartbeat(
        self, worker_id: str, leases: Sequence[Lease], *, lease_seconds: float, now: float
    ) -> Heartbeat:
        lost, cancel = set(), set()
        for lease in leases:
            run = self._runs.get((lease.tenant_id, lease.run_id))
            if run is None or run.epoch != lease.epoch or run.lease_owner != worker_id:
                lost.add(lease.run_id)
                continue
            self._runs[(run.tenant_id, run.run_id)] = dataclasses.replace(
                run, lease_expires_at=now + lease_seconds
            )
            if any(s.name == SIGNAL_CANCEL for s in self._signals[(run.tenant_id, run.run_id)]):
                cancel.add(run.run_id)
        return Heartbeat(frozenset(lost), frozenset(cancel))

    async def commit(self, commit: Commit) -> None:
        lease = commit.lease
        key = (lease.tenant_id, lease.run_id)
        run = self._runs.get(key)
        if run is None or run.epoch != lease.epoch or run.lease_owner != lease.worker_id:
            raise LeaseLost(f"run {lease.run_id}: lease epoch {lease.epoch} was taken over")
        self._check_entries(key, commit.entries)
        for child in commit.children:
            await self.create_run(child)
        self._append(key, commit.entries)
        if commit.consumed:
            gone = set(commit.consumed)
            self._signals[key] = [s for s in self._signals[key] if s.signal_id not in gone]
        if commit.transition is not None:
            run = _apply(run, commit.transition, commit.now)
            late = any(s.signal_id > lease.signal_mark for s in self._signals[key])
            if run.status is RunStatus.WAITING and late:  # arrived mid-execution: wake again
                run = dataclasses.replace(run, runnable_at=commit.now)
            self._runs[key] = run
        for out in commit.signals:
            target = self._runs.get((out.tenant_id, out.run_id))
            if target is not None and target.status not in TERMINAL:
                await self.send_signal(
                    out.tenant_id, out.run_id, out.name, out.payload, now=commit.now
                )

    def _check_entries(self, key: tuple[str, str], entries: Sequence[JournalEntry]) -> None:
        run_id = key[1]
        journal = self._journals[key]
        done = self._outcome_keys[key]
        expected = len(journal) + 1
        fresh: set[str] = set()
        for entry in entries:
            if entry.seq != expected:
                raise StoreError(f"run {run_id}: journal seq {entry.seq} is not {expected}")
            expected += 1
            if entry.kind is EntryKind.OUTCOME:
                if entry.step_key in done or entry.step_key in fresh:
                    raise StoreError(
                        f"run {run_id}: journal already holds the outcome of step {entry.step_key}"
                    )
                fresh.add(entry.step_key)

    def _append(self, key: tuple[str, str], entries: Sequence[JournalEntry]) -> None:
        self._journals[key].extend(entries)
        self._outcome_keys[key].update(e.step_key for e in entries if e.kind is EntryKind.OUTCOME)

    async def send_signal(
        self, tenant_id: str, run_id: str, name: str, payload: object, *, now: float
    ) -> Run:
        run = self._runs.get((tenant_id, run_id))
        if run is None:
            raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
        if run.status in TERMINAL:
            raise UsageError(f"run {run_id} is already {run.status}; it takes no more signals")
        self._signal_seq += 1
        self._signals[(tenant_id, run_id)].append(Signal(self._signal_seq, name, payload, now))
        if run.status is RunStatus.WAITING:
            run = dataclasses.replace(run, runnable_at=now, updated_at=now)
            self._runs[(tenant_id, run_id)] = run
        return run

    async def amend(
        self,
        tenant_id: str,
        run_id: str,
        *,
        expect: frozenset[RunStatus],
        entries: Sequence[JournalEntry] = (),
        transition: Transition,
        now: float,
    ) -> Run:
        run = self._runs.get((tenant_id, run_id))
        if run is None:
            raise NotFound(f"no run {run_id} in tenant {tenant_id!r}")
        live_lease = run.lease_expires_at is not None and run.lease_expires_at >= now
        if run.status not in expect or live_lease:
            state = f"{run.status} and held by a worker" if live_lease else str(run.status)
            raise UsageError(
                f"run {run_id} is {state}; this needs it "
                f"{' or '.join(sorted(s.value for s in expect))}"
            )
        self._check_entries((tenant_id, run_id), entries)
        self._append((tenant_id, run_id), entries)
        run = _apply(run, transition, now)
        self._runs[(tenant_id, run_id)] = run
        return run

    async def close(self) -> None:
        return None


def _apply(run: Run, t: Transition, now: float) -> Run:
    holds = t.status is RunStatus.RUNNING
    return dataclasses.replace(
        run,
        status=t.status,
        wait=t.wait,
        result=t.result,
        error=t.error,
        attention=t.attention,
        runnable_at=None if t.status in TERMINAL else t.runnable_at,
        lease_owner=run.lease_owner if holds else None,
        lease_expires_at=run.lease_expires_at if holds else None,
        updated_at=now,
    )
