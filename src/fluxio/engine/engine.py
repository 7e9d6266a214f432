"""The ``Engine``: starts, drives, signals, cancels and resolves durable runs.

An engine is an ordinary object (no globals): a store, the workflows it knows, interceptors,
a clock. Executing a run replays its code from the top against the journal; see ``context``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from fluxio.engine.clock import Clock, SystemClock
from fluxio.engine.context import (
    CHILD_SIGNAL,
    RunContext,
    RunState,
    StepInfo,
    as_step_failed,
    call_step_body,
    error_value,
)
from fluxio.engine.interceptors import ExecuteStepInput, Interceptor, StepGuard, chain
from fluxio.engine.options import DEFAULT_OPTIONS, StepOptions
from fluxio.errors import (
    Cancelled,
    LeaseLost,
    NotFound,
    Park,
    RunFailed,
    StepFailed,
    StepTimeout,
    StoreError,
    Suspend,
    UsageError,
)
from fluxio.ids import idempotency_key, new_run_id, new_worker_id
from fluxio.store.base import SIGNAL_CANCEL, Store
from fluxio.store.records import (
    TERMINAL,
    Claim,
    Commit,
    EntryKind,
    JournalEntry,
    NewRun,
    OutgoingSignal,
    Run,
    RunQuery,
    RunStatus,
    Transition,
)

__all__ = ["Engine", "WorkflowFn"]

log = logging.getLogger("fluxio.engine")

WorkflowFn = Callable[[RunContext, Any], Awaitable[Any]]
_RESUMABLE = frozenset({RunStatus.NEEDS_ATTENTION})
_CANCELLABLE = frozenset({RunStatus.PENDING, RunStatus.WAITING, RunStatus.NEEDS_ATTENTION})


class Engine:
    """Runs registered workflows durably against a ``Store``.

    Args:
        store: where runs, journals and signals live.
        workflows: name → workflow (an ``async (ctx, input)`` function or a DSL step).
        interceptors: wrap every step execution, outermost first.
        clock: time for timers, leases and backoff.
        default_options: step options used when a step gives none.
        lease_seconds: how long a claim lasts without a heartbeat.
        worker_id: names this process in leases.
        queues: the queues this engine's workers take runs from; all queues when empty.
    """

    def __init__(
        self,
        store: Store,
        *,
        workflows: Mapping[str, Any] | None = None,
        interceptors: Sequence[Interceptor] = (),
        clock: Clock | None = None,
        default_options: StepOptions = DEFAULT_OPTIONS,
        lease_seconds: float = 30.0,
        worker_id: str | None = None,
        queues: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.default_options = default_options
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or new_worker_id()
        self.queues = tuple(queues)
        self._workflows: dict[str, WorkflowFn] = {}
        self._execute = chain(list(interceptors), self._run_attempts)
        self._guards: list[StepGuard] = [
            i  # type: ignore[misc]
            for i in interceptors
            if callable(getattr(i, "admit_step", None))
        ]
        self._observers = list(interceptors)
        self.active: dict[str, RunState] = {}
        self._wakeup: asyncio.Event | None = None
        for name, workflow in (workflows or {}).items():
            self.register(workflow, name=name)

    # -- definitions -------------------------------------------------------------------

    def register(self, workflow: Any, *, name: str | None = None) -> str:
        """Make a workflow runnable by name; returns the name.

        Accepts an ``async def (ctx, input)`` function, or any object with an ``async run(ctx,
        input)`` method and a ``name`` (DSL steps and workflows, YAML workflows).
        """
        runner = getattr(workflow, "run", None)
        fn: WorkflowFn = runner if callable(runner) else workflow
        wf_name = name or getattr(workflow, "name", None) or getattr(workflow, "__name__", None)
        if not wf_name or not callable(fn):
            raise UsageError(f"cannot register {workflow!r}: give an async (ctx, input) function")
        self._workflows[wf_name] = fn
        return str(wf_name)

    @property
    def workflows(self) -> list[str]:
        """Names of the registered workflows."""
        return sorted(self._workflows)

    # -- commands ----------------------------------------------------------------------

    async def start(
        self,
        workflow: str | Any,
        input: Any = None,
        *,
        run_id: str | None = None,
        idempotency_key: str | None = None,
        tenant_id: str = "default",
        priority: int = 0,
        queue: str = "default",
    ) -> Run:
        """Create a run (idempotently by ``run_id`` or ``idempotency_key``); it runs when driven.

        Higher ``priority`` runs are claimed first; ``queue`` lets workers and concurrency
        limits (``Store.set_limit``) treat kinds of work apart.
        """
        name = workflow if isinstance(workflow, str) else self.register(workflow)
        if name not in self._workflows:
            raise NotFound(
                f"no workflow named {name!r}; registered: {', '.join(self.workflows) or 'none'}"
            )
        new = NewRun(
            run_id or new_run_id(),
            tenant_id,
            name,
            self.to_json(input),
            self.clock.now(),
            idempotency_key=idempotency_key,
            priority=priority,
            queue=queue,
        )
        run, created = await self.store.create_run(new)
        self.wake()
        if created:
            await self.observe("run_started", run)
        return run

    async def observe(self, hook: str, run: Run) -> None:
        """Tell every interceptor with ``hook`` (``run_started``/``run_ended``) about ``run``."""
        for observer in self._observers:
            method = getattr(observer, hook, None)
            if method is None:
                continue
            try:
                await method(run)
            except Exception:  # the run's state is committed; observers only hear about it
                log.exception("%s of %r failed for run %s", hook, observer, run.run_id)

    async def signal(
        self, run_id: str, name: str, payload: Any = None, *, tenant_id: str = "default"
    ) -> Run:
        """Deliver a named signal to a run; a waiting run becomes runnable."""
        run = await self.store.send_signal(
            tenant_id, run_id, name, self.to_json(payload), now=self.clock.now()
        )
        self.wake()
        return run

    async def cancel(self, run_id: str, *, tenant_id: str = "default", reason: str = "") -> Run:
        """Cancel a run: at once if nobody holds it, else at its next step boundary."""
        run = await self.get(run_id, tenant_id=tenant_id)
        if run.status in TERMINAL:
            raise UsageError(f"run {run_id} is already {run.status}; nothing to cancel")
        now = self.clock.now()
        idle = run.lease_expires_at is None or run.lease_expires_at < now
        if run.status in _CANCELLABLE and idle:
            error = {"type": "Cancelled", "message": reason or "cancelled", "retryable": False}
            run = await self.store.amend(
                tenant_id,
                run_id,
                expect=_CANCELLABLE,
                transition=Transition(RunStatus.CANCELLED, error=error),
                now=now,
            )
            await self._notify_parent(run)
            await self.observe("run_ended", run)
            return run
        run = await self.signal(run_id, SIGNAL_CANCEL, {"reason": reason}, tenant_id=tenant_id)
        state = self.active.get(run_id)
        if state is not None:
            state.cancel_requested = True
        return run

    async def resolve(
        self,
        run_id: str,
        action: str,
        *,
        result: Any = None,
        message: str = "",
        tenant_id: str = "default",
    ) -> Run:
        """Resolve a run parked in ``needs_attention``: ``retry``, ``complete`` or ``fail``.

        ``complete`` records ``result`` as the step's outcome without running it; ``fail``
        records a failure (the run's code decides what that means); ``retry`` runs it again.
        """
        run = await self.get(run_id, tenant_id=tenant_id)
        if run.status is not RunStatus.NEEDS_ATTENTION or not run.attention:
            raise UsageError(
                f"run {run_id} is {run.status}, not needs_attention; nothing to resolve"
            )
        key = str(run.attention["step_key"])
        name = str(run.attention.get("step", ""))
        seq = len(await self.store.read_journal(tenant_id, run_id)) + 1
        now = self.clock.now()
        if action == "retry":
            entry = JournalEntry(seq, key, EntryKind.RESOLUTION, name, value={"action": "retry"})
        elif action == "complete":
            entry = JournalEntry(
                seq, key, EntryKind.OUTCOME, name, value=self.to_json(result), finished_at=now
            )
        elif action == "fail":
            error = StepFailed(message or "marked failed by an operator", retryable=False)
            entry = JournalEntry(
                seq,
                key,
                EntryKind.OUTCOME,
                name,
                ok=False,
                value=error_value(error),
                finished_at=now,
            )
        else:
            raise UsageError(f"unknown resolution {action!r}; use retry, complete or fail")
        run = await self.store.amend(
            tenant_id,
            run_id,
            expect=_RESUMABLE,
            entries=[entry],
            transition=Transition(RunStatus.PENDING, runnable_at=now),
            now=now,
        )
        self.wake()
        return run

    # -- queries -----------------------------------------------------------------------

    async def get(self, run_id: str, *, tenant_id: str = "default") -> Run:
        """A run, or ``NotFound``."""
        run = await self.store.get_run(tenant_id, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r} in tenant {tenant_id!r}")
        return run

    async def list_runs(self, query: RunQuery | None = None) -> list[Run]:
        """Runs matching ``query`` (default: the newest 100 of tenant ``default``)."""
        return await self.store.list_runs(query or RunQuery(tenant_id="default"))

    async def journal(self, run_id: str, *, tenant_id: str = "default") -> list[JournalEntry]:
        """A run's journal, oldest first."""
        await self.get(run_id, tenant_id=tenant_id)
        return await self.store.read_journal(tenant_id, run_id)

    # -- driving -----------------------------------------------------------------------

    async def run(self, workflow: str | Any, input: Any = None, **start: Any) -> Any:
        """Start a run, drive it in this process until it ends, and return its result."""
        run = await self.start(workflow, input, **start)
        return await self.result(run.run_id, tenant_id=run.tenant_id)

    async def result(self, run_id: str, *, tenant_id: str = "default") -> Any:
        """Drive runs in this process until ``run_id`` ends; return its result or raise."""
        from fluxio.engine.worker import Worker

        run = await self.get(run_id, tenant_id=tenant_id)
        if run.status not in TERMINAL:
            await Worker(self).run(until_terminal=(tenant_id, run_id))
            run = await self.get(run_id, tenant_id=tenant_id)
        if run.status is RunStatus.COMPLETED:
            return run.result
        raise RunFailed(run.run_id, run.status, run.error)

    async def drive(self, *, concurrency: int = 100) -> None:
        """Execute every run that is runnable now, until none is (timers still pending wait)."""
        from fluxio.engine.worker import Worker

        await Worker(self, concurrency=concurrency).run(until_idle=True)

    def wake(self) -> None:
        """Tell local workers there may be new work (new run, signal, due timer)."""
        if self._wakeup is not None:
            self._wakeup.set()

    def wakeup_event(self) -> asyncio.Event:
        """The event local workers wait on between polls.

        A store that can tell when other processes add work (PostgreSQL's LISTEN/NOTIFY)
        sets it too, so idle workers start at once instead of at their next poll.
        """
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
            subscribe = getattr(self.store, "on_wake", None)
            if callable(subscribe):
                subscribe(self.wake)
        return self._wakeup

    async def claim(self, limit: int, run_ids: Sequence[str] = ()) -> list[Claim]:
        """Lease up to ``limit`` runnable runs of the workflows this engine knows.

        Runs of workflows registered elsewhere are left for the workers that know them.
        """
        if not self._workflows:
            return []
        return await self.store.claim(
            self.worker_id,
            limit=limit,
            lease_seconds=self.lease_seconds,
            now=self.clock.now(),
            run_ids=run_ids,
            workflows=tuple(self._workflows),
            queues=self.queues,
        )

    async def heartbeat(self) -> None:
        """Extend the leases of the runs this engine is executing; flag those asked to cancel."""
        states = list(self.active.values())
        if not states:
            return
        beat = await self.store.heartbeat(
            self.worker_id,
            [s.lease for s in states],
            lease_seconds=self.lease_seconds,
            now=self.clock.now(),
        )
        for state in states:
            if state.run.run_id in beat.cancel_requested:
                state.cancel_requested = True

    async def release(self, claim: Claim) -> None:
        """Give a claimed run back at once (graceful shutdown), instead of at lease expiry.

        The run keeps its status and wait, becomes runnable now, and is replayed from its
        journal by whichever worker claims it next. A lease already lost is left alone.
        """
        run = claim.run
        now = self.clock.now()
        transition = Transition(run.status, wait=run.wait, runnable_at=now)
        with contextlib.suppress(LeaseLost):
            await self.store.commit(Commit(claim.lease, transition=transition, now=now))

    async def execute(self, claim: Claim) -> Run | None:
        """Replay a claimed run until it completes, fails, waits or parks; commit the result.

        Returns the run as this execution left it (``None`` if its lease was lost), built from
        the committed transition rather than read back: a worker does not pay a read per run.
        """
        state = RunState(self, claim)
        run = claim.run
        self.active[run.run_id] = state
        try:
            transition = await self._transition(state)
            await self._finish(state, transition)
        except LeaseLost:
            log.warning("run %s: lease lost to another worker; dropping this execution", run.run_id)
            return None
        finally:
            self.active.pop(run.run_id, None)
        after = _after(state.run, transition, self.clock.now())
        if transition.status in TERMINAL:
            await self.observe("run_ended", after)
        return after

    async def _transition(self, state: RunState) -> Transition:
        run = state.run
        if any(s.name == SIGNAL_CANCEL for s in state.signals):
            state.cancel_requested = True
        fn = self._workflows.get(run.workflow)
        if fn is None:
            message = (
                f"workflow {run.workflow!r} is not registered in this worker "
                f"(registered: {', '.join(self.workflows) or 'none'})"
            )
            return _failed({"type": "NotFound", "message": message, "retryable": False})
        try:
            if state.cancel_requested:
                raise Cancelled(run.run_id)
            result = self.to_json(await fn(RunContext(state), run.input))
        except Suspend:
            return state.transition_for_waits()
        except Park as park:
            attention = {
                "step_key": park.step_key,
                "reason": park.reason,
                "step": state.last_intent[park.step_key].name,
            }
            return Transition(RunStatus.NEEDS_ATTENTION, attention=attention)
        except Cancelled:
            error = {"type": "Cancelled", "message": "cancelled", "retryable": False}
            return Transition(RunStatus.CANCELLED, error=error)
        except StoreError:  # not the run's fault: leave it to be retried after the lease
            raise
        except Exception as exc:
            log.debug("run %s failed", run.run_id, exc_info=True)
            return _failed(error_value(as_step_failed(exc)))
        return Transition(RunStatus.COMPLETED, result=result)

    async def _finish(self, state: RunState, transition: Transition) -> None:
        run = state.run
        signals: tuple[OutgoingSignal, ...] = ()
        if transition.status in TERMINAL and run.parent_run_id is not None:
            signals = (_child_done(run, transition),)
        await self.store.commit(
            Commit(state.lease, transition=transition, signals=signals, now=self.clock.now())
        )
        if signals:
            self.wake()
        if transition.runnable_at is not None:
            delay = min(max(transition.runnable_at - self.clock.now(), 0.0), 3600.0)
            asyncio.get_running_loop().call_later(delay, self.wake)

    async def _notify_parent(self, run: Run) -> None:
        if run.parent_run_id is None:
            return
        try:
            await self.signal(
                run.parent_run_id,
                CHILD_SIGNAL + run.run_id,
                {"status": run.status.value, "result": run.result, "error": run.error},
                tenant_id=run.tenant_id,
            )
        except UsageError:
            log.info("parent %s of %s has already ended", run.parent_run_id, run.run_id)

    # -- steps -------------------------------------------------------------------------

    def step_input(
        self,
        state: RunState,
        key: str,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        options: StepOptions | None,
    ) -> ExecuteStepInput:
        """Everything interceptors and guards see about one step execution."""
        run = state.run
        return ExecuteStepInput(
            run.run_id,
            run.tenant_id,
            run.workflow,
            key,
            name,
            fn,
            args,
            kwargs,
            options or self.default_options,
            idempotency_key(run.tenant_id, run.run_id, key),
        )

    @property
    def guarded(self) -> bool:
        """Whether any interceptor admits steps (``admit_step``) before they are journaled."""
        return bool(self._guards)

    async def admit(self, state: RunState, step: ExecuteStepInput) -> ExecuteStepInput:
        """Ask every guard whether ``step`` may run, before its intent is journaled.

        A guard returns the step (maybe with rewritten arguments), raises a ``StepFailed``
        (a denial: recorded as the step's outcome, so replay and callers see the same error),
        or waits durably through the ``RunContext`` it is given (an approval).
        """
        for index, guard in enumerate(self._guards):
            ctx = RunContext(state, f"{step.step_key}:guard{index}.")
            try:
                step = await guard.admit_step(step, ctx)
            except StepFailed as failure:
                now = self.clock.now()
                entry = JournalEntry(
                    state.next_seq(),
                    step.step_key,
                    EntryKind.OUTCOME,
                    step.name,
                    ok=False,
                    value=error_value(failure),
                    started_at=now,
                    finished_at=now,
                )
                await state.commit([entry])
                raise
        return step

    async def execute_step(self, state: RunState, step_input: ExecuteStepInput) -> Any:
        """Run one step through the interceptor chain and journal its outcome."""
        key, name, options = step_input.step_key, step_input.name, step_input.options
        started = self.clock.now()
        try:
            result = await self._execute(step_input)
        except StepFailed as failure:
            if isinstance(failure, StepTimeout) and options.needs_intent:
                raise Park(
                    key, f"step {key} ({name}) timed out; its side effect may have happened"
                ) from failure
            await state.commit(
                [
                    JournalEntry(
                        state.next_seq(),
                        key,
                        EntryKind.OUTCOME,
                        name,
                        ok=False,
                        value=error_value(failure),
                        attempts=getattr(failure, "attempts", 1),
                        started_at=started,
                        finished_at=self.clock.now(),
                    )
                ]
            )
            raise
        value = self.to_json(result)
        await state.commit(
            [
                JournalEntry(
                    state.next_seq(),
                    key,
                    EntryKind.OUTCOME,
                    name,
                    value=value,
                    started_at=started,
                    finished_at=self.clock.now(),
                )
            ]
        )
        return result

    async def _run_attempts(self, step: ExecuteStepInput) -> Any:
        """The innermost handler: attempts with timeout and the retry policy."""
        options = step.options
        policy = options.retry or self.default_options.retry
        attempt = 1
        while True:
            info = StepInfo(
                step.run_id,
                step.tenant_id,
                step.step_key,
                step.name,
                step.idempotency_key,
                attempt,
            )
            try:
                if options.timeout is None:
                    return await call_step_body(info, step.fn, step.args, step.kwargs)
                async with asyncio.timeout(options.timeout):
                    return await call_step_body(info, step.fn, step.args, step.kwargs)
            except Exception as exc:
                failure = as_step_failed(exc)
                if isinstance(exc, TimeoutError) and options.timeout is not None:
                    failure = StepTimeout(
                        f"step {step.step_key} ({step.name}) exceeded its {options.timeout:g}s "
                        "timeout",
                        error_type="StepTimeout",
                    )
                failure.attempts = attempt  # type: ignore[attr-defined]
                if policy is None or not policy.should_retry(failure, attempt):
                    if failure is exc:
                        raise
                    raise failure from exc
                await self.clock.sleep(policy.delay(attempt, failure))
                attempt += 1

    @staticmethod
    def to_json(value: Any) -> Any:
        """A value as JSON-compatible Python (pydantic models and dataclasses included)."""
        if value is None or type(value) in (str, int, float, bool):
            return value
        try:
            return to_jsonable_python(value, fallback=_encode_extra)
        except Exception as exc:
            raise UsageError(
                f"step results and run inputs must be JSON-serializable; got "
                f"{type(value).__name__}: {exc}"
            ) from exc


def _encode_extra(value: Any) -> Any:
    if isinstance(value, StepFailed):  # e.g. inside a best-effort BranchError
        return error_value(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _after(run: Run, t: Transition, now: float) -> Run:
    """The stored run after ``t`` was committed (any status but running frees the lease)."""
    held = t.status is RunStatus.RUNNING
    return dataclasses.replace(
        run,
        status=t.status,
        wait=t.wait,
        result=t.result,
        error=t.error,
        attention=t.attention,
        runnable_at=None if t.status in TERMINAL else t.runnable_at,
        lease_owner=run.lease_owner if held else None,
        lease_expires_at=run.lease_expires_at if held else None,
        updated_at=now,
    )


def _failed(error: dict[str, Any]) -> Transition:
    return Transition(RunStatus.FAILED, error=error)


def _child_done(run: Run, transition: Transition) -> OutgoingSignal:
    return OutgoingSignal(
        run.tenant_id,
        run.parent_run_id or "",
        CHILD_SIGNAL + run.run_id,
        {"status": transition.status.value, "result": transition.result, "error": transition.error},
    )
