"""How the governance guard writes its audit entries, and what each entry says.

``AuditTrail.record`` appends an entry. When the audit log lives with the engine's store (a
``SQLiteAuditLog`` on the ``SQLiteStore``'s file, a ``PostgresAuditLog`` on the
``PostgresStore``'s database and schema), the append is queued into the store's next group
commit instead (``write_with_next_commit``): the guard records in the same event-loop turn in
which the engine commits the step, so the entry and the step's outcome share one transaction
(one fsync on SQLite, one round trip on PostgreSQL, where ``fluxio_audit_append`` completes
the entry under the head's lock). Otherwise the append is awaited, and a failure fails the
step (an action that cannot be audited does not count as done).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fluxio.engine.interceptors import ExecuteStepInput
from fluxio.errors import PolicyDenied
from fluxio.governance.audit import Actor as AuditActor
from fluxio.governance.audit import AuditEvent, AuditLog, AuditResult, SQLiteAuditLog
from fluxio.governance.audit.entry import ActorType
from fluxio.governance.audit.interceptor import (
    error_name,
    inputs_digest,
    step_reversibility,
    step_target,
    value_digest,
)
from fluxio.governance.policies import Actor
from fluxio.store.base import Store
from fluxio.store.records import Run
from fluxio.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from fluxio.governance.guard import Admission
    from fluxio.governance.verdict import Verdict

__all__ = ["AuditTrail", "audit_actor", "call_event", "decision_event", "run_event"]

log = logging.getLogger("fluxio.governance")


class AuditTrail:
    """Appends the guard's audit entries, in the step's own commit when it can.

    Args:
        log: the audit log (``None``: nothing is recorded).
        store: the engine's store, to share its commits.
        redact: applied to every payload before it is sealed.
    """

    def __init__(
        self, log: AuditLog | None, store: Store | None, redact: Callable[[Any], Any] | None
    ) -> None:
        self.log = log
        self.redact = redact
        self.shared = _shared(log, store)
        self._buffer: list[AuditEvent] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self._failures: list[BaseException] = []

    @property
    def enabled(self) -> bool:
        """Whether entries are recorded at all (build them only then)."""
        return self.log is not None

    async def record(self, event: AuditEvent) -> None:
        """Append ``event``: queued into the next store commit, or awaited."""
        if not self.queue(event) and self.log is not None:
            await self.log.append(self._redacted(event))

    def queue(self, event: AuditEvent) -> bool:
        """Queue ``event`` into the store's next commit; ``False`` if it must be awaited.

        Every entry queued before that commit is applied is appended by one operation, in
        order, in the same transaction as the steps committed with it.
        """
        if self.shared is None:
            return self.log is None
        self._buffer.append(self._redacted(event))
        if len(self._buffer) == 1:
            op = self._append_buffered if isinstance(self.log, SQLiteAuditLog) else self._send
            future = self.shared.write_with_next_commit(op)
            self._pending.add(future)
            future.add_done_callback(self._done)
        return True

    def _take(self) -> list[AuditEvent]:
        events, self._buffer = self._buffer, []
        return events

    def _append_buffered(self, cur: Any) -> int:
        """SQLite: the buffered entries, sealed and stored in the store's transaction."""
        count: int = self.log.append_all_op(self._take())(cur)  # type: ignore[union-attr]
        return count

    async def _send(self, tx: Any) -> int:
        """PostgreSQL: the buffered entries, sent in the store's pipelined transaction."""
        count: int = await self.log.append_all_op(self._take())(tx)  # type: ignore[union-attr]
        return count

    def _redacted(self, event: AuditEvent) -> AuditEvent:
        if self.redact is None or event.payload is None:
            return event
        return dataclasses.replace(event, payload=self.redact(event.payload))

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        failure = future.exception()
        if failure is not None:
            self._failures.append(failure)
            log.error("an audit entry could not be written: %s", failure)

    async def flush(self) -> None:
        """Wait for the queued entries; raise the first failure since the last flush."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        if self._failures:
            failure, self._failures = self._failures[0], []
            raise failure


def _shared(log: AuditLog | None, store: Store | None) -> Any:
    """The store whose commits the log's appends can join: a ``SQLiteStore`` on the log's
    file, or a ``PostgresStore`` on its database and schema (unless the log signs periodic
    checkpoints, which need each hash back)."""
    if isinstance(log, SQLiteAuditLog) and isinstance(store, SQLiteStore):
        return store if log.path.resolve() == store.path.resolve() else None
    if type(log).__name__ != "PostgresAuditLog" or type(store).__name__ != "PostgresStore":
        return None
    same = (getattr(log, "url", None), getattr(log, "schema", None)) == (
        getattr(store, "url", None), getattr(store, "schema", None),
    )  # fmt: skip
    return store if same and log.sealer.checkpoint_every is None else None  # type: ignore[union-attr]


def audit_actor(actor: Actor, step: ExecuteStepInput) -> AuditActor:
    """The audit actor of a policy actor (a workflow acting for itself is a ``workflow``)."""
    if actor.type == "system" and actor.id == step.workflow:
        return _audit_actor(actor.id, "workflow")
    return _audit_actor(actor.id, actor.type)


@functools.lru_cache(maxsize=1024)
def _audit_actor(id: str, type: ActorType) -> AuditActor:
    return AuditActor(id, type)


def decision_event(
    step: ExecuteStepInput,
    actor: Actor,
    action: str,
    result: AuditResult,
    verdict: Verdict | None,
) -> AuditEvent:
    """An entry about a decision on ``step`` (a denial, a budget event)."""
    return AuditEvent(
        tenant_id=step.tenant_id,
        actor=audit_actor(actor, step),
        action=action,
        target=step_target(step),
        result=result,
        run_id=step.run_id,
        step_key=step.step_key,
        inputs_digest=inputs_digest(step),
        policies_evaluated=verdict.evaluated if verdict else (),
        policies_violated=verdict.violated if verdict else (),
        payload=verdict.notes() if verdict else None,
    )


def call_event(
    step: ExecuteStepInput,
    admission: Admission,
    started: float,
    result: Any,
    error: BaseException | None,
) -> AuditEvent:
    """The entry of an executed step: its call, the verdict that let it run, the outcome."""
    kind = step.options.metadata.get("kind")
    failed = error is not None
    outcome: AuditResult = "failure" if failed else "success"
    if isinstance(error, PolicyDenied):
        outcome = "denied"
    noun = kind if kind in ("tool", "model") else "step"
    verdict = admission.verdict
    if verdict.outcome == "draft":
        action = f"{noun}.drafted"
    elif noun != "step":
        action = f"{noun}.called"
    else:
        action = "step.failed" if failed else "step.completed"
    return AuditEvent(
        tenant_id=step.tenant_id,
        actor=audit_actor(admission.identity.actor, step),
        action=action,
        target=step_target(step),
        result=outcome,
        run_id=step.run_id,
        step_key=step.step_key,
        inputs_digest=inputs_digest(step),
        outputs_digest=None if failed else value_digest(result),
        duration_ms=(time.perf_counter() - started) * 1000,
        error=error_name(error),
        policies_evaluated=verdict.evaluated,
        policies_violated=verdict.violated,
        approval_id=admission.approval_id,
        reversibility=step_reversibility(step),
        payload=None if verdict.plain and admission.approval_id is None else verdict.notes(),
    )


_RUN_RESULTS: dict[str, tuple[str, AuditResult]] = {
    "pending": ("run.started", "success"),
    "completed": ("run.completed", "success"),
    "failed": ("run.failed", "failure"),
    "cancelled": ("run.cancelled", "failure"),
    "superseded": ("run.cancelled", "failure"),
}


def run_event(run: Run) -> AuditEvent:
    """The entry of a run starting (status pending) or ending (a terminal status)."""
    action, result = _RUN_RESULTS.get(run.status.value, ("run.failed", "failure"))
    error = (run.error or {}).get("type") if result == "failure" else None
    return AuditEvent(
        tenant_id=run.tenant_id,
        actor=_audit_actor(run.workflow, "workflow"),
        action=action,
        target=f"workflow:{run.workflow}",
        result=result,
        run_id=run.run_id,
        inputs_digest=value_digest(run.input) if action == "run.started" else None,
        outputs_digest=value_digest(run.result) if action == "run.completed" else None,
        error=str(error or run.status.value) if result == "failure" else None,
        payload={"parent_run_id": run.parent_run_id} if run.parent_run_id else None,
    )
