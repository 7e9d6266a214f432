"""The public surface of ``fluxio`` is deliberate: adding or removing a name is a decision."""

from __future__ import annotations

import fluxio

EXPECTED = {
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
}


def test_public_names_are_pinned() -> None:
    assert set(fluxio.__all__) == EXPECTED


def test_every_public_name_exists_and_is_documented() -> None:
    for name in fluxio.__all__:
        obj = getattr(fluxio, name)
        if name != "__version__":
            assert obj.__doc__, f"fluxio.{name} has no docstring"


def test_control_flow_signals_escape_except_exception() -> None:
    from fluxio.errors import Cancelled, Park, Suspend

    for signal in (Suspend, Park, Cancelled):
        assert not issubclass(signal, Exception)
