"""Every error fluxio raises, arranged by what the caller can do about it.

```
FluxioError
├── UsageError                 the caller asked for something invalid; fix the call or the file
│   ├── DefinitionError        a workflow/DSL definition is invalid (carries file, line, suggestion)
│   └── NotFound               no such run, workflow or step
├── StepFailed                 a step's body failed (carries ``retryable`` and ``retry_after``)
│   ├── StepTimeout            a step exceeded its start-to-close timeout
│   ├── ToolInputInvalid       a tool's arguments (or result) broke its JSON Schema; not retried
│   ├── ToolUnavailable        unknown, retired or disabled tool (e.g. an MCP schema changed)
│   ├── ModelError             a model provider failed (``retryable`` for transient errors)
│   ├── PolicyDenied           governance refused the action; the decision is recorded
│   └── BudgetExceeded         the call would exceed a hard budget; refused before it ran
├── RunFailed                  awaiting a run's result, and the run failed or was cancelled
├── NonDeterminismError        replay asked for a different step than the journal recorded
└── StoreError                 the store cannot do what was asked; nothing was half-written
    ├── LeaseLost              this worker's lease was taken over; its writes are refused
    ├── DatabaseLocked         another process holds the database past the busy timeout
    ├── StorageFull            the disk (or configured size) is full
    └── IncompatibleDatabase   not a fluxio database, corrupt, or written by a newer fluxio

BaseException
└── RunInterrupt               control flow, never an error: a run suspends, parks or is cancelled
    ├── Suspend
    ├── Park
    └── Cancelled
```

Control-flow signals derive from ``BaseException`` so that a user's ``except Exception`` inside
run code cannot swallow them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BudgetExceeded",
    "Cancelled",
    "DatabaseLocked",
    "DefinitionError",
    "FluxioError",
    "IncompatibleDatabase",
    "LeaseLost",
    "ModelError",
    "NonDeterminismError",
    "NotFound",
    "Park",
    "PolicyDenied",
    "RunFailed",
    "RunInterrupt",
    "StepFailed",
    "StepTimeout",
    "StorageFull",
    "StoreError",
    "Suspend",
    "ToolInputInvalid",
    "ToolUnavailable",
    "UsageError",
]


class FluxioError(Exception):
    """Root of every error fluxio raises on purpose."""


class UsageError(FluxioError):
    """The caller asked for something invalid: fix the call, the input or the file."""


class DefinitionError(UsageError):
    """A workflow definition is invalid; says where and how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.suggestion = suggestion
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        text = f"{where}{message}"
        if suggestion:
            text += f" {suggestion}"
        super().__init__(text)


class NotFound(UsageError):
    """No such run, workflow or step."""


class StepFailed(FluxioError):
    """A step's body failed.

    Args:
        message: what went wrong.
        retryable: whether a retry may succeed; ``False`` stops the retry policy at once.
        retry_after: seconds to wait before the next attempt, overriding the backoff.
        error_type: the name of the original exception type, kept across replay.
        details: JSON facts kept with the error across replay (e.g. the policies that denied).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        error_type: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.error_type = error_type or type(self).__name__
        self.details = details or {}


class StepTimeout(StepFailed):
    """A step ran longer than its start-to-close timeout."""


class ToolInputInvalid(StepFailed):
    """A tool's arguments or result do not match its JSON Schema; retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class ToolUnavailable(StepFailed):
    """The tool is unknown, retired, or disabled until re-approved."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class ModelError(StepFailed):
    """A model provider failed; ``retryable`` is true for timeouts, 5xx and rate limits."""


class PolicyDenied(StepFailed):
    """Governance refused the action. ``policies`` names the policies that stopped it."""

    def __init__(self, message: str, *, policies: tuple[str, ...] = ()) -> None:
        super().__init__(message, retryable=False, details={"policies": list(policies)})
        self.policies = policies


class BudgetExceeded(StepFailed):
    """The call would take a hard budget past its limit; it was refused before it ran."""

    def __init__(self, message: str, *, budget: str = "") -> None:
        super().__init__(message, retryable=False, details={"budget": budget})
        self.budget = budget


class RunFailed(FluxioError):
    """The run you awaited ended ``failed`` or ``cancelled``; ``error`` holds what it recorded."""

    def __init__(self, run_id: str, status: str, error: dict[str, Any] | None) -> None:
        self.run_id = run_id
        self.status = status
        self.error = error or {}
        detail = self.error.get("message", "no error recorded")
        super().__init__(f"run {run_id} ended {status}: {detail}")


class NonDeterminismError(FluxioError):
    """Replay asked for a different step than the journal recorded at the same key."""

    def __init__(self, run_id: str, step_key: str, recorded: str, requested: str) -> None:
        self.run_id = run_id
        self.step_key = step_key
        self.recorded = recorded
        self.requested = requested
        super().__init__(
            f"run {run_id} is not deterministic at step {step_key}: the journal recorded "
            f"{recorded!r} but the code now asks for {requested!r}. Orchestration code must make "
            "the same steps in the same order on every replay; move clocks, randomness and I/O "
            "into steps, or start a new run for the changed workflow."
        )


class StoreError(FluxioError):
    """The store could not do what was asked; the transaction was rolled back whole."""


class LeaseLost(StoreError):
    """Another worker took over this run (its lease epoch moved on); this write was refused."""


class DatabaseLocked(StoreError):
    """Another process held the database longer than the busy timeout."""


class StorageFull(StoreError):
    """The disk or the configured database size is full; nothing was written."""


class IncompatibleDatabase(StoreError):
    """The file is not a fluxio database, is corrupt, or was written by a newer fluxio."""


class RunInterrupt(BaseException):
    """Control flow that ends the current execution of a run without an error."""


class Suspend(RunInterrupt):
    """The run waits (timer, signal, approval, child run); it is evicted from memory."""


class Park(RunInterrupt):
    """The run needs a human: a non-idempotent step may or may not have run."""

    def __init__(self, step_key: str, reason: str) -> None:
        super().__init__(reason)
        self.step_key = step_key
        self.reason = reason


class Cancelled(RunInterrupt):
    """The run was cancelled; observed at the next step boundary."""
