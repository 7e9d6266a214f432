"""The crash test's workload on any database: ``chaos`` runs started in waves, worker
processes SIGKILLed at random moments and restarted, and what the runs must show afterwards.

Every run must end ``completed``, or ``needs_attention`` only on a non-idempotent effect whose
intent was recorded without an outcome. The effect ledger must show non-idempotent effects at
most once and every finished step's effect at least once. Operators then resolve the parked
runs (``retry``, ``complete``, ``fail``) and every run must finish.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from recovery_databases import PostgresDatabase
from recovery_harness import (
    SETTLED,
    WorkerPool,
    WorkerProcess,
    all_runs,
    check_at_most_once,
    check_journal,
    check_ledger,
    check_parked,
    journals,
    wait_until,
)

from fluxio import Engine, Run, RunStatus
from fluxio.store.records import JournalEntry

# These block inside their non-idempotent step, so killing their holder is sure to catch them.
STICKY = {0: "after_effect", 1: "before_effect", 2: "before_effect"}
ONCE_STEPS = ("charge", "notify", "email", "ship")
ENDED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED})


class ChaosWorkload:
    """``runs`` chaos runs of one pool, the kills they go through, and the checks after.

    Args:
        pool: the workers, ledger and database.
        engine: the test's engine on the same database.
        runs: how many runs.
        settle_timeout: seconds the runs get to settle after the last kill.
    """

    def __init__(self, pool: WorkerPool, engine: Engine, runs: int, settle_timeout: float):
        self.pool = pool
        self.engine = engine
        self.ids = [f"chaos-{i:04d}" for i in range(runs)]
        self.settle_timeout = settle_timeout
        self.held_at_kill: list[int] = []

    def expected_result(self, i: int) -> dict[str, Any]:
        return {
            "charged": i,
            "enriched": [i * 100 + b for b in range(3)],
            "looped": [i * 10 + j for j in range(3)],
            "shipped": {"run": self.ids[i]},
        }

    async def quiet(self) -> bool:
        """Nothing left to do without help: every run settled or waiting for the test's signal."""
        runs = await all_runs(self.engine, self.ids)
        return all(r.status in SETTLED or (r.wait and r.wait.detail == "go") for r in runs)

    async def start_wave(self, indexes: range, *, go: bool) -> None:
        """Start runs ``indexes`` (sticky ones first in line); ``go`` queues their signal."""
        engine, ids = self.engine, self.ids
        await asyncio.gather(
            *(
                engine.start("chaos", {"i": i, "sticky": STICKY[i]}, run_id=ids[i], priority=1)
                if i in STICKY
                else engine.start("chaos", {"i": i}, run_id=ids[i])
                for i in indexes
            )
        )
        if go:
            await self.send_go(indexes)

    async def send_go(self, indexes: range) -> None:
        await asyncio.gather(
            *(self.engine.signal(self.ids[i], "go", {"run": self.ids[i]}) for i in indexes)
        )

    async def chaos_rounds(
        self,
        rng: random.Random,
        *,
        kills: int,
        workers: int,
        spawn: Callable[[], WorkerProcess],
    ) -> list[WorkerProcess]:
        """Keep ``workers`` workers running; SIGKILL one ``kills`` times at random moments.

        Runs start in waves so that every round has work in flight. The first wave gets its
        signal at a random moment while it executes; later waves get theirs queued up front.
        Workers holding a sticky run are killed first; then the victim is chosen at random.
        """
        runs = len(self.ids)
        first = runs * 2 // 5
        cuts = [first + w * (runs - first) // (kills - 2) for w in range(kills - 1)]
        waves = [range(a, b) for a, b in itertools.pairwise(cuts)]
        await self.start_wave(range(first), go=False)
        crew = [spawn() for _ in range(workers)]
        await wait_until(
            self._sticky_inside,
            timeout=30,
            what="the sticky runs to start charging",
            pool=self.pool,
        )
        killed: set[int] = set()
        mark = 0
        for round_ in range(kills):

            async def progressed(mark: int = mark) -> bool:
                ledger = self.pool.ledger()
                check_at_most_once(ledger)
                return len(ledger) > mark or await self.quiet()

            await wait_until(progressed, timeout=30, what="the workers to work", pool=self.pool)
            if round_ < len(waves):
                await self.start_wave(waves[round_], go=True)
            delay = rng.uniform(0.1, 1.5)
            if round_ == 0:
                await asyncio.sleep(delay / 2)
                await self.send_go(range(first))
                delay /= 2
            await asyncio.sleep(delay)
            await self._kill_one(crew, killed, rng, spawn)
            mark = len(self.pool.ledger())
        return crew

    async def _kill_one(
        self,
        crew: list[WorkerProcess],
        killed: set[int],
        rng: random.Random,
        spawn: Callable[[], WorkerProcess],
    ) -> None:
        """SIGKILL a victim (noting the runs it held) and start a worker in its place."""
        held = await self._held_soon(crew)
        victim = self._victim(crew, killed, held, rng)
        self.held_at_kill.append(held[victim.pid])
        victim.kill()
        killed.add(victim.pid)
        crew[crew.index(victim)] = spawn()

    async def _sticky_inside(self) -> bool:
        inside = {line["run"] for line in self.pool.ledger() if line["step"] == "charge"}
        return inside >= {self.ids[i] for i in STICKY}

    def _victim(
        self, crew: list[WorkerProcess], killed: set[int], held: Counter[int], rng: random.Random
    ) -> WorkerProcess:
        """A worker holding a sticky run, else one at random, weighted by the runs it holds."""
        sticky = {self.ids[i] for i in STICKY}
        ledger = self.pool.ledger()
        holders = {e["pid"] for e in ledger if e["run"] in sticky and e["step"] == "charge"}
        first = [w for w in crew if w.pid in holders - killed]
        if first:
            return first[0]
        if not any(held[w.pid] for w in crew):
            return rng.choice(crew)
        return rng.choices(crew, weights=[held[w.pid] for w in crew])[0]

    async def _held_soon(self, crew: list[WorkerProcess]) -> Counter[int]:
        """Leases held per worker, waiting up to a second for a live one to hold any."""
        for _ in range(20):
            held = await self._held()
            if any(held[w.pid] for w in crew) or await self.quiet():
                return held
            await asyncio.sleep(0.05)
        return held

    async def _held(self) -> Counter[int]:
        """Worker process id → runs it holds a live lease on (what killing it interrupts)."""
        now = time.time()
        held: Counter[int] = Counter()
        for run in await all_runs(self.engine, self.ids):
            parts = (run.lease_owner or "").split(":")  # host:pid:nonce
            if len(parts) == 3 and parts[1].isdigit() and (run.lease_expires_at or 0) >= now:
                held[int(parts[1])] += 1
        return held

    async def settle(self, what: str, states: frozenset[RunStatus]) -> list[Run]:
        async def settled() -> bool:
            check_at_most_once(self.pool.ledger())
            return all(r.status in states for r in await all_runs(self.engine, self.ids))

        await wait_until(settled, timeout=self.settle_timeout, what=what, pool=self.pool)
        return await all_runs(self.engine, self.ids)

    async def journals(self, runs: list[Run]) -> dict[str, list[JournalEntry]]:
        """Every run's journal: straight from the table on PostgreSQL, else via the store."""
        database = self.pool.database
        if isinstance(database, PostgresDatabase):
            table = database.journals()
            return {run.run_id: table.get(run.run_id, []) for run in runs}
        return await journals(self.engine, runs)

    async def check_everything(self, runs: list[Run]) -> None:
        journal_of = await self.journals(runs)
        for run in runs:
            check_journal(run, journal_of[run.run_id])
            if run.status is RunStatus.NEEDS_ATTENTION:
                check_parked(run, journal_of[run.run_id])
            elif run.status is RunStatus.COMPLETED:
                assert run.result == self.expected_result(self.ids.index(run.run_id)), run.run_id
        check_ledger(self.pool.ledger(), journal_of)

    async def resolve_parked(self, parked: list[Run]) -> dict[str, str]:
        """Resolve as an operator would: the ledger says whether the ambiguous effect happened."""
        effects = self.pool.effects()
        actions = {}
        for run in parked:
            key = (run.attention or {})["step_key"]
            done = [e for e in effects if e["run"] == run.run_id and e["key"] == key]
            if done:
                actions[run.run_id] = "complete"
                await self.engine.resolve(run.run_id, "complete", result=done[0]["value"])
            elif run.run_id == self.ids[2]:
                actions[run.run_id] = "fail"
                await self.engine.resolve(run.run_id, "fail", message="operator: card declined")
            else:
                actions[run.run_id] = "retry"
                await self.engine.resolve(run.run_id, "retry")
        return actions

    def interrupted(self, runs: list[Run], kills: int) -> int:
        """How many runs were worked on by more than one worker process (and what happened)."""
        workers_of: dict[str, set[int]] = {}
        for line in self.pool.effects():
            workers_of.setdefault(line["run"], set()).add(line["pid"])
        crossed = sum(len(pids) > 1 for pids in workers_of.values())
        statuses = Counter(r.status.value for r in runs)
        parked_on = Counter((r.attention or {}).get("step") for r in runs if r.attention)
        print(f"after {kills} kills: {dict(statuses)}; parked on {dict(parked_on)}")
        print(f"{crossed} runs were worked on by more than one worker process")
        print(f"runs held by the killed worker at each kill: {self.held_at_kill}")
        return crossed

    async def settle_after_kills(self, kills: int) -> list[Run]:
        """Wait for every run to complete or park; check them; return them."""
        runs = await self.settle("every run to complete or park", SETTLED)
        statuses = Counter(r.status.value for r in runs)
        assert set(statuses) <= {"completed", "needs_attention"}, statuses
        crossed = self.interrupted(runs, kills)
        assert crossed >= len(runs) // 10, f"only {crossed} runs changed worker process"
        hits = [n for n in self.held_at_kill if n]
        assert len(hits) * 2 >= kills, f"most kills must interrupt runs: {self.held_at_kill}"
        await self.check_everything(runs)
        return runs

    async def resolve_and_finish(self, runs: list[Run]) -> None:
        """Resolve every parked run as an operator; every run then ends, effects still once."""
        self.pool.open_gate("unstick")
        parked = [r for r in runs if r.status is RunStatus.NEEDS_ATTENTION]
        assert {self.ids[i] for i in STICKY} <= {r.run_id for r in parked}
        actions = await self.resolve_parked(parked)
        assert set(actions.values()) == {"complete", "retry", "fail"}, actions
        runs = await self.settle("every run to end", ENDED)

        failed = [r for r in runs if r.status is RunStatus.FAILED]
        assert [r.run_id for r in failed] == [self.ids[2]]
        assert "card declined" in (failed[0].error or {}).get("message", "")
        await self.check_everything(runs)
        once = Counter(
            (e["run"], e["step"]) for e in self.pool.effects() if e["step"] in ONCE_STEPS
        )
        for run in runs:
            if run.status is RunStatus.COMPLETED:
                for step in ONCE_STEPS:
                    n = once[(run.run_id, step)]
                    assert n == 1, f"{run.run_id} {step}: {n}"
        assert once[(self.ids[2], "charge")] == 0, "a failed resolution must not run the effect"
