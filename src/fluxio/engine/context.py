"""``RunContext``: what run code uses to make durable steps, waits, child runs and branches.

Every call takes the next step key (``1``, ``2``, … or ``3.parallel.2.1`` inside branches).
If the journal already holds that key's outcome, the call answers from the journal and runs
nothing; otherwise it runs, records the outcome, and only then returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from fluxio.errors import (
    BudgetExceeded,
    Cancelled,
    ModelError,
    NonDeterminismError,
    Park,
    PolicyDenied,
    RunInterrupt,
    StepFailed,
    StepTimeout,
    StoreError,
    Suspend,
    ToolInputInvalid,
    ToolUnavailable,
    UsageError,
)
from fluxio.store.records import (
    Claim,
    Commit,
    EntryKind,
    JournalEntry,
    NewRun,
    Run,
    RunStatus,
    Signal,
    Transition,
    Wait,
)

if TYPE_CHECKING:
    from fluxio.engine.engine import Engine
    from fluxio.engine.options import StepOptions

__all__ = ["BranchError", "FailurePolicy", "RunContext", "StepInfo", "current_step"]

T = TypeVar("T")
FailurePolicy = Literal["all_or_nothing", "best_effort", "fail_fast"]
CHILD_SIGNAL = "fluxio.child:"


@dataclass(frozen=True, slots=True)
class StepInfo:
    """Facts about the step being executed, for the step's own body."""

    run_id: str
    tenant_id: str
    step_key: str
    name: str
    idempotency_key: str
    attempt: int


_current_step: contextvars.ContextVar[StepInfo | None] = contextvars.ContextVar(
    "fluxio_current_step", default=None
)


def current_step() -> StepInfo:
    """Inside a step body: its run, key, attempt and idempotency key (pass that to APIs)."""
    info = _current_step.get()
    if info is None:
        raise UsageError("current_step() is only available inside a step body")
    return info


@dataclass(frozen=True, slots=True)
class BranchError:
    """In ``best_effort`` parallel results: the branch at ``index`` failed with ``error``."""

    index: int
    error: StepFailed


def error_value(exc: StepFailed) -> dict[str, Any]:
    """How an error is recorded in the journal."""
    value: dict[str, Any] = {
        "type": exc.error_type,
        "message": exc.message,
        "retryable": exc.retryable,
    }
    if exc.details:
        value["details"] = exc.details
    return value


_REPLAYED_TYPES: dict[str, type[StepFailed]] = {
    cls.__name__: cls
    for cls in (
        StepTimeout,
        ToolInputInvalid,
        ToolUnavailable,
        ModelError,
        PolicyDenied,
        BudgetExceeded,
    )
}


def error_from_value(value: Mapping[str, Any]) -> StepFailed:
    """The exception a recorded error replays as (fluxio's own step errors keep their type)."""
    kind = str(value.get("type", "StepFailed"))
    details = dict(value.get("details") or {})
    error = StepFailed.__new__(_REPLAYED_TYPES.get(kind, StepFailed))
    StepFailed.__init__(
        error,
        str(value.get("message", "")),
        retryable=bool(value.get("retryable", True)),
        error_type=kind,
        details=details,
    )
    if isinstance(error, PolicyDenied):
        error.policies = tuple(details.get("policies", ()))
    if isinstance(error, BudgetExceeded):
        error.budget = str(details.get("budget", ""))
    return error


def as_step_failed(exc: Exception) -> StepFailed:
    """Any exception from a step body, as the ``StepFailed`` the orchestration code sees."""
    if isinstance(exc, StepFailed):
        return exc
    if isinstance(exc, TimeoutError):
        return StepTimeout(str(exc) or "step timed out", error_type="StepTimeout")
    message = str(exc) or type(exc).__name__
    return StepFailed(
        message, retryable=not isinstance(exc, UsageError), error_type=type(exc).__name__
    )


class RunState:
    """One execution of one run: its lease, journal index and pending writes. Internal."""

    def __init__(self, engine: Engine, claim: Claim) -> None:
        self.engine = engine
        self.run = claim.run
        self.lease = claim.lease
        self.outcomes: dict[str, JournalEntry] = {}
        self.last_intent: dict[str, JournalEntry] = {}
        for entry in claim.journal:
            if entry.kind is EntryKind.OUTCOME:
                self.outcomes[entry.step_key] = entry
            else:
                self.last_intent[entry.step_key] = entry
        # The highest seq, not the count: a failed commit in one parallel branch can leave a
        # gap while other branches commit later numbers.
        self.seq = max((e.seq for e in claim.journal), default=0)
        self.broken: StoreError | None = None
        self.signals: list[Signal] = [s for s in claim.signals]
        self.cancel_requested = False
        self.used_keys: set[str] = set()
        self.waits: list[Wait] = []

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def commit(
        self,
        entries: Sequence[JournalEntry],
        *,
        consumed: tuple[int, ...] = (),
        children: tuple[NewRun, ...] = (),
    ) -> None:
        if self.broken is not None:  # after one failed commit, this execution writes nothing
            raise self.broken
        try:
            await self.engine.store.commit(
                Commit(
                    self.lease,
                    tuple(entries),
                    consumed=consumed,
                    children=children,
                    now=self.engine.clock.now(),
                )
            )
        except StoreError as exc:
            self.broken = exc
            raise
        for entry in entries:
            if entry.kind is EntryKind.OUTCOME:
                self.outcomes[entry.step_key] = entry
            else:
                self.last_intent[entry.step_key] = entry

    def take_signal(self, name: str) -> Signal | None:
        for i, signal in enumerate(self.signals):
            if signal.name == name:
                del self.signals[i]
                return signal
        return None

    def suspend(self, wait: Wait) -> Suspend:
        self.waits.append(wait)
        return Suspend(wait.reason)

    def transition_for_waits(self) -> Transition:
        from fluxio.store.records import RunStatus

        untils = [w.until for w in self.waits if w.until is not None]
        wait = (
            self.waits[0] if len(self.waits) == 1 else Wait("several", f"{len(self.waits)} waits")
        )
        if len(self.waits) > 1 and untils:
            wait = Wait(wait.reason, wait.detail, min(untils))
        return Transition(RunStatus.WAITING, wait=wait, runnable_at=min(untils) if untils else None)


class RunContext:
    """The handle run code uses for everything durable. One per run execution and scope."""

    __slots__ = ("_counter", "_prefix", "_state")

    def __init__(self, state: RunState, prefix: str = "") -> None:
        self._state = state
        self._prefix = prefix
        self._counter = 0

    @property
    def run_id(self) -> str:
        """This run's id."""
        return self._state.run.run_id

    @property
    def tenant_id(self) -> str:
        """The tenant this run belongs to."""
        return self._state.run.tenant_id

    @property
    def workflow(self) -> str:
        """The registered name of the workflow being run."""
        return self._state.run.workflow

    @property
    def input(self) -> Any:
        """The run's input as given at start."""
        return self._state.run.input

    def reserve_key(self, key: str | None = None) -> str:
        """Take the next step key (or the explicit ``key``) in this scope."""
        if key is None:
            self._counter += 1
            full = f"{self._prefix}{self._counter}"
        else:
            full = f"{self._prefix}{key}"
        if full in self._state.used_keys:
            raise UsageError(
                f"run {self.run_id}: step key {full!r} is used twice; give steps distinct keys"
            )
        self._state.used_keys.add(full)
        return full

    def scoped(self, key: str) -> RunContext:
        """A context whose step keys live under ``key`` (for branches and loop iterations)."""
        return RunContext(self._state, f"{key}.")

    def _recorded(self, key: str, name: str) -> JournalEntry | None:
        entry = self._state.outcomes.get(key)
        if entry is not None and entry.name != name:
            raise NonDeterminismError(self.run_id, key, entry.name, name)
        return entry

    def _boundary(self) -> None:
        if self._state.cancel_requested:
            raise Cancelled(self.run_id)

    @overload
    async def step(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T: ...

    @overload
    async def step(
        self,
        fn: Callable[..., T],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T: ...

    async def step(
        self,
        fn: Callable[..., Awaitable[T]] | Callable[..., T],
        *args: Any,
        name: str | None = None,
        key: str | None = None,
        options: StepOptions | None = None,
        decode: Callable[[Any], T] | None = None,
        **kwargs: Any,
    ) -> T:
        """Run ``fn(*args, **kwargs)`` as a durable step and return its result.

        Args:
            fn: an async or sync callable; sync ones run in a worker thread.
            name: the step's name in the journal (defaults to the function's name).
            key: an explicit key within this scope (YAML step ids); default is the next number.
            options: retries, timeout, side effects; defaults to the engine's.
            decode: turns the recorded JSON back into the result type on replay.
        """
        step_name: str = name or getattr(fn, "__name__", None) or "step"
        full = self.reserve_key(key)
        state = self._state
        recorded = self._recorded(full, step_name)
        if recorded is not None:
            return _replayed(recorded, decode)  # type: ignore[no-any-return]
        self._boundary()
        engine = state.engine
        step = engine.step_input(state, full, step_name, fn, args, kwargs, options)
        if engine.guarded:
            step = await engine.admit(state, step)
        opts = step.options
        intent = state.last_intent.get(full)
        if opts.needs_intent:
            if intent is not None and intent.kind is EntryKind.INTENT:
                raise Park(
                    full,
                    f"step {full} ({step_name}) has side effects, is not idempotent, and may or "
                    "may not have run before the worker stopped",
                )
            now = state.engine.clock.now()
            await state.commit(
                [JournalEntry(state.next_seq(), full, EntryKind.INTENT, step_name, started_at=now)]
            )
        result: T = await engine.execute_step(state, step)
        return result

    async def sleep(self, seconds: float, *, key: str | None = None) -> None:
        """A durable timer: the run is evicted and woken by the store when it is due."""
        full = self.reserve_key(key)
        state = self._state
        if self._recorded(full, "sleep") is not None:
            return
        self._boundary()
        now = state.engine.clock.now()
        intent = state.last_intent.get(full)
        if intent is None:
            intent = JournalEntry(
                state.next_seq(), full, EntryKind.INTENT, "sleep", value={"until": now + seconds}
            )
            await state.commit([intent])
        until = float(intent.value["until"])
        if now >= until:
            await state.commit(
                [JournalEntry(state.next_seq(), full, EntryKind.OUTCOME, "sleep", finished_at=now)]
            )
            return
        raise state.suspend(Wait("timer", f"step {full}", until))

    async def wait_for(
        self,
        signal: str,
        *,
        timeout: float | None = None,
        key: str | None = None,
        reason: str = "signal",
    ) -> Any:
        """Wait for the named signal and return its payload; ``StepTimeout`` after ``timeout``."""
        full = self.reserve_key(key)
        state = self._state
        name = f"wait:{signal}"
        recorded = self._recorded(full, name)
        if recorded is not None:
            return _replayed(recorded, None)
        self._boundary()
        now = state.engine.clock.now()
        arrived = state.take_signal(signal)
        if arrived is not None:
            entry = JournalEntry(
                state.next_seq(),
                full,
                EntryKind.OUTCOME,
                name,
                value=arrived.payload,
                finished_at=now,
            )
            await state.commit([entry], consumed=(arrived.signal_id,))
            return arrived.payload
        until: float | None = None
        if timeout is not None:
            intent = state.last_intent.get(full)
            if intent is None:
                intent = JournalEntry(
                    state.next_seq(), full, EntryKind.INTENT, name, value={"until": now + timeout}
                )
                await state.commit([intent])
            until = float(intent.value["until"])
            if now >= until:
                error = StepTimeout(
                    f"no {signal!r} signal within {timeout:g}s", error_type="StepTimeout"
                )
                await state.commit(
                    [
                        JournalEntry(
                            state.next_seq(),
                            full,
                            EntryKind.OUTCOME,
                            name,
                            ok=False,
                            value=error_value(error),
                            finished_at=now,
                        )
                    ]
                )
                raise error
        raise state.suspend(Wait(reason, signal, until))

    async def child(
        self,
        workflow: str,
        input: Any = None,
        *,
        key: str | None = None,
        queue: str = "default",
        priority: int = 0,
    ) -> Any:
        """Start a child run of ``workflow`` and wait for its result (durably).

        ``queue`` and ``priority`` place the child like ``Engine.start`` does, so a child falls
        under its queue's concurrency limits (an agent's, for delegated agent runs).
        """
        full = self.reserve_key(key)
        state = self._state
        name = f"child:{workflow}"
        recorded = self._recorded(full, name)
        if recorded is not None:
            return _replayed(recorded, None)
        self._boundary()
        child_id = f"{self.run_id}.{full}"
        now = state.engine.clock.now()
        if full not in state.last_intent:
            engine = state.engine
            if engine.guarded:  # starting a child is an action too: guards may deny or hold it
                options = dataclasses.replace(
                    engine.default_options, metadata={"kind": "child", "child": workflow}
                )
                step = engine.step_input(state, full, name, _start, (input,), {}, options)
                input = (await engine.admit(state, step)).args[0]
            new = NewRun(
                child_id,
                self.tenant_id,
                workflow,
                engine.to_json(input),
                now,
                parent_run_id=self.run_id,
                priority=priority,
                queue=queue,
            )
            await state.commit(
                [JournalEntry(state.next_seq(), full, EntryKind.INTENT, name, value=child_id)],
                children=(new,),
            )
            engine.wake()
            await engine.observe("run_started", started(new))
        done = state.take_signal(CHILD_SIGNAL + child_id)
        if done is None:
            raise state.suspend(Wait("child", child_id))
        payload: dict[str, Any] = done.payload or {}
        ok = payload.get("status") == "completed"
        value: Any = payload.get("result") if ok else (payload.get("error") or {})
        if not ok and "message" not in value:
            value = {
                "type": "ChildRunFailed",
                "message": f"child run {child_id} ended {payload.get('status')}",
                "retryable": False,
            }
        entry = JournalEntry(
            state.next_seq(), full, EntryKind.OUTCOME, name, ok=ok, value=value, finished_at=now
        )
        await state.commit([entry], consumed=(done.signal_id,))
        return _replayed(entry, None)

    async def parallel(
        self,
        branches: Sequence[Callable[[RunContext], Awaitable[Any]]],
        *,
        policy: FailurePolicy = "all_or_nothing",
        concurrency: int | None = None,
        key: str | None = None,
        name: str = "parallel",
    ) -> list[Any]:
        """Run branches concurrently, each in its own key scope, and join their results.

        ``all_or_nothing`` runs every branch and fails if any failed; ``fail_fast`` cancels
        the others at the first failure; ``best_effort`` returns ``BranchError`` in place of
        each failed branch's result.
        """
        full = self.reserve_key(key)
        state = self._state
        recorded = self._recorded(full, name)
        if recorded is not None:
            return _decode_branches(_replayed(recorded, None))
        self._boundary()
        results = await _run_branches(self, full, branches, policy, concurrency)
        encoded = [
            {"$branch_error": error_value(r.error), "index": r.index}
            if isinstance(r, BranchError)
            else r
            for r in results
        ]
        now = state.engine.clock.now()
        await state.commit(
            [
                JournalEntry(
                    state.next_seq(),
                    full,
                    EntryKind.OUTCOME,
                    name,
                    value=state.engine.to_json(encoded),
                    finished_at=now,
                )
            ]
        )
        return results


async def _run_branches(
    ctx: RunContext,
    key: str,
    branches: Sequence[Callable[[RunContext], Awaitable[Any]]],
    policy: FailurePolicy,
    concurrency: int | None,
) -> list[Any]:
    limit = asyncio.Semaphore(concurrency) if concurrency else None

    async def branch(i: int) -> Any:
        sub = ctx.scoped(f"{key}.parallel.{i + 1}")
        if limit is None:
            return await branches[i](sub)
        async with limit:
            return await branches[i](sub)

    if not branches:
        return []
    tasks = [asyncio.ensure_future(branch(i)) for i in range(len(branches))]
    if policy == "fail_fast":
        await _cancel_on_first_failure(tasks)
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:  # control flow (suspend, park, cancel) wins over failures
        if isinstance(outcome, RunInterrupt):
            raise outcome
    results: list[Any] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, asyncio.CancelledError):
            continue
        if isinstance(outcome, Exception):
            if not isinstance(outcome, StepFailed) or policy != "best_effort":
                raise outcome
            results.append(BranchError(i, outcome))
        else:
            results.append(outcome)
    return results


async def _cancel_on_first_failure(tasks: Sequence[asyncio.Future[Any]]) -> None:
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = next((t for t in tasks if t.done() and t.exception() is not None), None)
    if failed is not None and isinstance(failed.exception(), StepFailed):
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _replayed(entry: JournalEntry, decode: Callable[[Any], Any] | None) -> Any:
    if not entry.ok:
        raise error_from_value(entry.value or {})
    return decode(entry.value) if decode is not None else entry.value


def _decode_branches(values: list[Any]) -> list[Any]:
    return [
        BranchError(v["index"], error_from_value(v["$branch_error"]))
        if isinstance(v, dict) and "$branch_error" in v
        else v
        for v in values
    ]


async def call_step_body(
    info: StepInfo, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    """Call a step body with ``current_step()`` set; sync bodies run in a thread."""
    token = _current_step.set(info)
    try:
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        ctx = contextvars.copy_context()
        result = await asyncio.to_thread(ctx.run, fn, *args, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result
    finally:
        _current_step.reset(token)


async def _start(input: Any) -> Any:
    """What a guard sees as the body of a child run's start (it is never called)."""
    return input


def started(new: NewRun) -> Run:
    """The run ``new`` creates, as stored (pending, not yet claimed)."""
    return Run(
        new.run_id, new.tenant_id, new.workflow, new.input, RunStatus.PENDING, new.created_at,
        new.created_at, parent_run_id=new.parent_run_id, idempotency_key=new.idempotency_key,
        priority=new.priority, queue=new.queue,
    )  # fmt: skip
