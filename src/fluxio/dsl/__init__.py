"""The Python DSL: typed steps composed with ``>>`` and combinators, run by the engine.

Everything is a ``Step[In, Out]``; combinators are steps too, so they nest::

    flow = Workflow("triage", parse >> Map(classify, concurrency=4) >> Approval("send") >> send)
    validate(flow)
    print(to_mermaid(flow))
    await Engine(store, workflows={flow.name: flow}).run("triage", tickets)

This package is pure: it never imports the engine or a store (see ``Context``).
"""

from fluxio.dsl.approval import APPROVAL_PREFIX, Approval, ApprovalRejected
from fluxio.dsl.base import Step
from fluxio.dsl.branch import Branch
from fluxio.dsl.conditions import Condition
from fluxio.dsl.context import Context, FailurePolicy
from fluxio.dsl.function import FunctionStep, step
from fluxio.dsl.loop import Loop, LoopLimitExceeded
from fluxio.dsl.map import Map
from fluxio.dsl.mermaid import to_mermaid
from fluxio.dsl.options import DEFAULT_OPTIONS, NO_RETRY, RetryPolicy, StepOptions
from fluxio.dsl.parallel import Parallel
from fluxio.dsl.pipeline import Pipeline
from fluxio.dsl.subworkflow import SubWorkflow
from fluxio.dsl.validate import InvalidDefinition, validate
from fluxio.dsl.wait import EVENT_PREFIX, Wait
from fluxio.dsl.workflow import CodeStep, Workflow, workflow

__all__ = [
    "APPROVAL_PREFIX",
    "DEFAULT_OPTIONS",
    "EVENT_PREFIX",
    "NO_RETRY",
    "Approval",
    "ApprovalRejected",
    "Branch",
    "CodeStep",
    "Condition",
    "Context",
    "FailurePolicy",
    "FunctionStep",
    "InvalidDefinition",
    "Loop",
    "LoopLimitExceeded",
    "Map",
    "Parallel",
    "Pipeline",
    "RetryPolicy",
    "Step",
    "StepOptions",
    "SubWorkflow",
    "Wait",
    "Workflow",
    "step",
    "to_mermaid",
    "validate",
    "workflow",
]
