"""Declarative policies: which actions may run, which need approval, and what is rewritten.

```python
from fluxio.governance.policies import Action, PolicyEngine, load_policies

engine = PolicyEngine(load_policies("policies.yaml"))
decision = await engine.evaluate(Action(kind="tool", name="send_email", arguments={...}))
decision.outcome        # allow | deny | require_approval | transform
decision.explanations   # which rules matched, and why
```

See docs/policies.md for the schema, the CEL context and how outcomes combine.
"""

from fluxio.governance.policies.conditions import Condition, compile_condition
from fluxio.governance.policies.context import (
    CONTEXT_VARIABLES,
    Action,
    Actor,
    AgentRef,
    BudgetState,
    action_from_json,
    action_from_step,
    build_context,
)
from fluxio.governance.policies.decision import Decision, Explanation, Outcome, Violation
from fluxio.governance.policies.engine import PolicyEngine
from fluxio.governance.policies.limits import (
    LimitCounter,
    LimitHit,
    MemoryLimitCounter,
    PostgresLimitCounter,
    SQLiteLimitCounter,
)
from fluxio.governance.policies.loader import load_policies, parse_policies
from fluxio.governance.policies.model import (
    AppliesTo,
    Limit,
    Policy,
    Rule,
    Scope,
    Transform,
)
from fluxio.governance.policies.policyset import PolicySet
from fluxio.governance.policies.transforms import Redactor, RedactorFactory

__all__ = [
    "CONTEXT_VARIABLES",
    "Action",
    "Actor",
    "AgentRef",
    "AppliesTo",
    "BudgetState",
    "Condition",
    "Decision",
    "Explanation",
    "Limit",
    "LimitCounter",
    "LimitHit",
    "MemoryLimitCounter",
    "Outcome",
    "Policy",
    "PolicyEngine",
    "PolicySet",
    "PostgresLimitCounter",
    "Redactor",
    "RedactorFactory",
    "Rule",
    "SQLiteLimitCounter",
    "Scope",
    "Transform",
    "Violation",
    "action_from_json",
    "action_from_step",
    "build_context",
    "compile_condition",
    "load_policies",
    "parse_policies",
]
