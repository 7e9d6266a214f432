"""Plumbing for the recovery tests: worker subprocesses, the effect ledger, polling, checks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from recovery_databases import Database, SQLiteDatabase
from recovery_flows import NON_IDEMPOTENT, Flows

from fluxio import Engine, Run, RunQuery, RunStatus
from fluxio.ids import idempotency_key
from fluxio.store.base import Store
from fluxio.store.records import TERMINAL, EntryKind, JournalEntry
from fluxio.store.sqlite import SQLiteStore

WORKER_MAIN = Path(__file__).with_name("worker_main.py")
SETTLED = TERMINAL | {RunStatus.NEEDS_ATTENTION}


class WorkerProcess:
    """One ``worker_main.py`` subprocess; its stdout and stderr go to ``log``."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (after SIGCONT, in case it is paused) and reap."""
        if self.alive():
            os.kill(self.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: the graceful stop a service manager sends."""
        os.kill(self.pid, signal.SIGTERM)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class WorkerPool:
    """The database, ledger and gates of one test, and every worker process it started.

    Args:
        root: the test's folder (ledger, gates, logs; the SQLite file by default).
        database: where the workers keep runs; a SQLite file in ``root`` if not given.
    """

    def __init__(self, root: Path, database: Database | None = None) -> None:
        self.root = root
        self.db = root / "fluxio.db"
        self.database: Database = database or SQLiteDatabase(self.db)
        self.ledger_path = root / "ledger.jsonl"
        self.gates = root / "gates"
        self.gates.mkdir()
        self.procs: list[WorkerProcess] = []
        self._stores: list[Store] = []
        self._ledger: list[dict[str, Any]] = []
        self._ledger_read = 0

    def engine(self, durability: str = "normal") -> Engine:
        """A test-side engine on the SQLite file (creates the schema before any worker)."""
        store = SQLiteStore(self.db, durability=durability, busy_timeout=30.0)  # type: ignore[arg-type]
        self._stores.append(store)
        return self._engine(store)

    async def open_engine(self, durability: str = "normal") -> Engine:
        """A test-side engine on this pool's database, whichever it is (creates the schema)."""
        store = await self.database.open_store(durability)
        self._stores.append(store)
        return self._engine(store)

    def _engine(self, store: Store) -> Engine:
        flows = Flows(self.ledger_path, self.gates)
        return Engine(store, workflows=flows.registry(), worker_id="test-process")

    def spawn(
        self,
        *,
        lease: float = 2.0,
        durability: str = "normal",
        concurrency: int = 200,
        poll: float = 0.05,
        busy_timeout: float = 30.0,
        extra: Iterable[str] = (),
    ) -> WorkerProcess:
        """Start a worker subprocess on this pool's database and ledger.

        ``extra`` adds ``worker_main.py`` options (``--grace``, ``--pool-size``, ``--queues``).
        """
        log = self.root / f"worker-{len(self.procs) + 1}.log"
        cmd = [sys.executable, str(WORKER_MAIN), *self.database.worker_args()]
        cmd += [str(self.ledger_path), "--gates", str(self.gates)]
        cmd += ["--lease", str(lease), "--durability", durability]
        cmd += ["--concurrency", str(concurrency), "--poll", str(poll)]
        cmd += ["--busy-timeout", str(busy_timeout), *extra]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=self.root)
        worker = WorkerProcess(proc, log)
        self.procs.append(worker)
        return worker

    def pause_idle(self, worker: WorkerProcess) -> None:
        """SIGSTOP ``worker`` at a moment it holds no lock in the database.

        A worker frozen inside a write transaction would block (SQLite) or hide (PostgreSQL's
        SKIP LOCKED) the rows it holds; that is not the situation under test (a slow or
        partitioned worker whose lease runs out).
        """
        for _ in range(100):
            worker.pause()
            if not self.database.busy(worker.pid):
                return
            worker.resume()
            time.sleep(0.01)
        raise AssertionError(f"worker {worker.pid} never let go of its database locks")

    def open_gate(self, name: str) -> None:
        (self.gates / name).touch()

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger line so far (read incrementally: only what was appended since)."""
        if not self.ledger_path.exists():
            return []
        with self.ledger_path.open("rb") as f:
            f.seek(self._ledger_read)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._ledger_read += len(complete)
        self._ledger.extend(json.loads(line) for line in complete.splitlines())
        return list(self._ledger)

    def effects(self) -> list[dict[str, Any]]:
        return [line for line in self.ledger() if line["kind"] == "effect"]

    def signals_left(self) -> int:
        """Signals still queued (not consumed by any wait), read straight from the database."""
        return self.database.signals_left()

    def logs(self, tail: int = 3000) -> str:
        parts = [f"--- worker pid {w.pid} ---\n{w.output()[-tail:]}" for w in self.procs]
        return "\n".join(parts)

    async def close(self) -> None:
        """Kill every worker still running, whatever state it is in, and close the stores."""
        for worker in self.procs:
            try:
                worker.kill()
            except (OSError, subprocess.TimeoutExpired) as exc:
                print(f"could not kill worker {worker.pid}: {exc}")
        for store in self._stores:
            await store.close()


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout: float, what: str, pool: WorkerPool
) -> None:
    """Poll ``check`` until it holds; fail naming ``what``, with the workers' logs."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{pool.logs()}")
        await asyncio.sleep(0.05)


async def all_runs(engine: Engine, run_ids: Iterable[str] = ()) -> list[Run]:
    """Every run of tenant ``default`` (or just these)."""
    return await engine.list_runs(
        RunQuery(tenant_id="default", limit=100_000, run_ids=tuple(run_ids))
    )


async def journals(engine: Engine, runs: Iterable[Run]) -> dict[str, list[JournalEntry]]:
    return {run.run_id: await engine.journal(run.run_id) for run in runs}


def check_journal(run: Run, journal: list[JournalEntry]) -> None:
    """Increasing seqs; one outcome per step key; every intent answered unless parked on it."""
    seqs = [e.seq for e in journal]
    # Unique and increasing; a commit that failed mid-outage may leave a gap.
    assert seqs == sorted(set(seqs)), run.run_id
    outcomes = Counter(e.step_key for e in journal if e.kind is EntryKind.OUTCOME)
    twice = [key for key, n in outcomes.items() if n > 1]
    assert not twice, f"run {run.run_id}: steps {twice} have more than one outcome"
    parked = (run.attention or {}).get("step_key")
    for entry in journal:
        if entry.kind is not EntryKind.OUTCOME and entry.step_key != parked:
            assert outcomes[entry.step_key] == 1, f"{run.run_id} {entry.step_key}: no outcome"


def check_parked(run: Run, journal: list[JournalEntry]) -> None:
    """A run may be parked only on a non-idempotent effect whose intent has no outcome."""
    key = (run.attention or {}).get("step_key")
    kinds = [e.kind for e in journal if e.step_key == key]
    names = {e.name for e in journal if e.step_key == key}
    assert names, f"{run.run_id} parked on {key}, which the journal does not know"
    assert names <= NON_IDEMPOTENT, f"{run.run_id} parked on {names} at {key}"
    assert kinds[-1] is EntryKind.INTENT, f"{run.run_id} parked with {kinds} at {key}"
    assert EntryKind.OUTCOME not in kinds, f"{run.run_id} parked on a finished step {key}"


def check_at_most_once(ledger: list[dict[str, Any]]) -> None:
    """No non-idempotent effect happened twice (checked while waiting, to fail early)."""
    once = Counter(
        (e["run"], e["key"])
        for e in ledger
        if e["kind"] == "effect" and e["step"] in NON_IDEMPOTENT
    )
    twice = sorted(key for key, n in once.items() if n > 1)
    assert not twice, f"non-idempotent effects ran more than once: {twice[:5]}"


def check_ledger(ledger: list[dict[str, Any]], journal_of: dict[str, list[JournalEntry]]) -> None:
    """Non-idempotent effects at most once; every finished effect step at least once.

    Also: each effect carries its step's idempotency key, sits at a step key the journal knows
    under the same name, and (if non-idempotent) follows a journaled intent.
    """
    effects = [line for line in ledger if line["kind"] == "effect"]
    count = Counter((line["run"], line["key"]) for line in effects)
    for line in effects:
        run_id, key, step = line["run"], line["key"], line["step"]
        assert line["idem"] == idempotency_key(line["tenant"], run_id, key), line
        if step in NON_IDEMPOTENT:
            assert count[(run_id, key)] == 1, f"{run_id} {key} ({step}) ran {count[(run_id, key)]}x"
        if run_id not in journal_of:
            continue
        entries = [e for e in journal_of[run_id] if e.step_key == key]
        assert entries, f"run {run_id}: effect at {key} ({step}) is not in the journal"
        assert {e.name for e in entries} == {step}, f"run {run_id}: {key} is not {step}"
        if step in NON_IDEMPOTENT:
            assert any(e.kind is EntryKind.INTENT for e in entries), f"{run_id} {key}: no intent"
    for run_id, journal in journal_of.items():
        for entry in journal:
            if entry.kind is EntryKind.OUTCOME and entry.ok and _is_effect(entry):
                assert count[(run_id, entry.step_key)] >= 1, f"{run_id} {entry.step_key}: no effect"


def _is_effect(entry: JournalEntry) -> bool:
    return not entry.name.startswith(("wait:", "child:")) and entry.name not in (
        "sleep",
        "parallel",
    )
