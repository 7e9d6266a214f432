"""``Worker``: claims runnable runs with a lease, executes them, and keeps leases alive.

The same loop serves ``fluxio worker`` (runs until stopped), ``Engine.drive`` (until nothing
is runnable) and ``Engine.result`` (until one run ends). Waiting runs are not kept in memory:
they are back in the store, and the store says when they are runnable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fluxio.engine.engine import Engine
from fluxio.errors import StoreError
from fluxio.store.records import TERMINAL, Claim

__all__ = ["Worker"]

log = logging.getLogger("fluxio.worker")


class Worker:
    """Executes runs from the store with at most ``concurrency`` in flight.

    Args:
        engine: the engine whose store, workflows and worker id are used.
        concurrency: runs executed at once by this worker.
        poll_interval: seconds between claims when nothing woke the worker.
        shutdown_grace: on stop, seconds to let in-flight runs reach their next commit.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int = 100,
        poll_interval: float = 0.5,
        shutdown_grace: float = 10.0,
    ) -> None:
        self.engine = engine
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.shutdown_grace = shutdown_grace
        self._tasks: set[asyncio.Task[None]] = set()
        self._claims: dict[asyncio.Task[None], Claim] = {}
        self.executed = 0

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        until_idle: bool = False,
        until_terminal: tuple[str, str] | None = None,
    ) -> None:
        """Claim and execute runs until ``stop`` is set, nothing is runnable, or a run ends."""
        engine = self.engine
        wake = engine.wakeup_event()
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while stop is None or not stop.is_set():
                wake.clear()
                claimed = await self._claim()
                if until_terminal is not None and await self._ended(*until_terminal):
                    break
                if claimed:
                    continue
                if not self._tasks:
                    if until_idle:
                        break
                    await self._sleep(wake, stop)
                    continue
                await self._wait_any(wake, stop)
        finally:
            heartbeat.cancel()
            await self._drain()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _claim(self) -> int:
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        try:
            claims = await self.engine.claim(free)
        except StoreError as exc:
            log.warning("claim failed, retrying after %.1fs: %s", self.poll_interval, exc)
            await asyncio.sleep(self.poll_interval)
            return 0
        for claim in claims:
            task = asyncio.create_task(self._execute(claim))
            self._tasks.add(task)
            self._claims[task] = claim
            task.add_done_callback(self._forget)
        return len(claims)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._claims.pop(task, None)

    async def _execute(self, claim: Claim) -> None:
        try:
            await self.engine.execute(claim)
            self.executed += 1
        except StoreError as exc:
            log.warning(
                "run %s: the store failed (%s); another claim will continue it after its lease "
                "expires",
                claim.run.run_id,
                exc,
            )
        except Exception:
            log.exception("run %s: execution failed outside run code", claim.run.run_id)

    async def _ended(self, tenant_id: str, run_id: str) -> bool:
        run = await self.engine.store.get_run(tenant_id, run_id)
        return run is None or run.status in TERMINAL

    async def _sleep(self, wake: asyncio.Event, stop: asyncio.Event | None) -> None:
        await self._first(wake, stop, [])

    async def _wait_any(self, wake: asyncio.Event, stop: asyncio.Event | None) -> None:
        await self._first(wake, stop, list(self._tasks))

    async def _first(
        self, wake: asyncio.Event, stop: asyncio.Event | None, extra: list[asyncio.Task[None]]
    ) -> None:
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(wake.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(
                [*waiters, *extra],
                timeout=self.poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _heartbeat(self) -> None:
        interval = max(self.engine.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.engine.heartbeat()
            except StoreError as exc:
                log.warning("heartbeat failed: %s", exc)

    async def _drain(self) -> None:
        """Let in-flight runs reach their next commit; release the leases of the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self.shutdown_grace)
        unfinished = [self._claims[task] for task in pending if task in self._claims]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for claim in unfinished:
            try:
                await self.engine.release(claim)
            except StoreError as exc:
                log.warning("run %s: could not release its lease: %s", claim.run.run_id, exc)
