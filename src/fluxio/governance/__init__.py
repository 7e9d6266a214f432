"""Governed autonomy: policies, autonomy levels, approvals, budgets, redaction and audit.

``Governance`` is the one step guard that composes them; put it in
``Engine(interceptors=[governance])``:

```python
governance = Governance(
    policies=PolicyEngine(load_policies("policies.yaml")),
    autonomy=AutonomySettings(default=3),
    approvals=Approvals(MemoryApprovalStore()),
    audit=MemoryAuditLog(),
)
engine = Engine(store, workflows=..., interceptors=[governance])
governance.approvals.bind(engine)
```

See docs/governance.md. The parts live in ``fluxio.governance.policies``, ``.autonomy``,
``.approvals``, ``.budgets``, ``.redaction`` and ``.audit``.
"""

from fluxio.governance.approvals import (
    ApprovalRefused,
    ApprovalRequest,
    ApprovalRoute,
    Approvals,
    ApprovalStore,
    Checkpoints,
    LearnedApproval,
    MemoryApprovalStore,
    SQLiteApprovalStore,
    StoreSignals,
    open_approval_store,
)
from fluxio.governance.audit import (
    AuditEntry,
    AuditEvent,
    AuditLog,
    AuditQuery,
    MemoryAuditLog,
    SQLiteAuditLog,
    verify_bundle,
    verify_log,
)
from fluxio.governance.autonomy import (
    AutonomyDecision,
    AutonomyLevel,
    AutonomyOutcome,
    AutonomySettings,
    autonomy_decision,
)
from fluxio.governance.guard import Admission, Governance, Identity, default_identity
from fluxio.governance.policies import (
    Action,
    Actor,
    AgentRef,
    Decision,
    Policy,
    PolicyEngine,
    load_policies,
    parse_policies,
)
from fluxio.governance.redactors import entity_redactors, redact_value

__all__ = [
    "Action",
    "Actor",
    "Admission",
    "AgentRef",
    "ApprovalRefused",
    "ApprovalRequest",
    "ApprovalRoute",
    "ApprovalStore",
    "Approvals",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditQuery",
    "AutonomyDecision",
    "AutonomyLevel",
    "AutonomyOutcome",
    "AutonomySettings",
    "Checkpoints",
    "Decision",
    "Governance",
    "Identity",
    "LearnedApproval",
    "MemoryApprovalStore",
    "MemoryAuditLog",
    "Policy",
    "PolicyEngine",
    "SQLiteApprovalStore",
    "SQLiteAuditLog",
    "StoreSignals",
    "autonomy_decision",
    "default_identity",
    "entity_redactors",
    "load_policies",
    "open_approval_store",
    "parse_policies",
    "redact_value",
    "verify_bundle",
    "verify_log",
]
