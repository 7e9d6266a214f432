"""The durable execution kernel: engine, run context, workers, interceptors."""

from fluxio.engine.clock import Clock, SystemClock
from fluxio.engine.context import BranchError, FailurePolicy, RunContext, StepInfo, current_step
from fluxio.engine.engine import Engine, WorkflowFn
from fluxio.engine.interceptors import ExecuteStepInput, Interceptor, Next, StepGuard
from fluxio.engine.options import RetryPolicy, StepOptions
from fluxio.engine.worker import Worker

__all__ = [
    "BranchError",
    "Clock",
    "Engine",
    "ExecuteStepInput",
    "FailurePolicy",
    "Interceptor",
    "Next",
    "RetryPolicy",
    "RunContext",
    "StepGuard",
    "StepInfo",
    "StepOptions",
    "SystemClock",
    "Worker",
    "WorkflowFn",
    "current_step",
]
