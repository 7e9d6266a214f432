"""fluxio: a durable agent runtime. Workflows and agents that survive crashes and restarts.

The public surface is small and pinned by ``tests/test_public_api.py``.
"""

from fluxio.engine import (
    BranchError,
    Engine,
    ExecuteStepInput,
    Interceptor,
    RetryPolicy,
    RunContext,
    StepInfo,
    StepOptions,
    Worker,
    current_step,
)
from fluxio.errors import (
    DefinitionError,
    FluxioError,
    NonDeterminismError,
    NotFound,
    RunFailed,
    StepFailed,
    StepTimeout,
    StoreError,
    UsageError,
)
from fluxio.store import Run, RunQuery, RunStatus, Store

__version__ = "0.1.0"

__all__ = [
    "BranchError",
    "DefinitionError",
    "Engine",
    "ExecuteStepInput",
    "FluxioError",
    "Interceptor",
    "NonDeterminismError",
    "NotFound",
    "RetryPolicy",
    "Run",
    "RunContext",
    "RunFailed",
    "RunQuery",
    "RunStatus",
    "StepFailed",
    "StepInfo",
    "StepOptions",
    "StepTimeout",
    "Store",
    "StoreError",
    "UsageError",
    "Worker",
    "__version__",
    "current_step",
]
