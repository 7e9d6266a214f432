"""Approvals: a person's decision before a risky action runs, as a durable kernel wait.

```python
approvals = Approvals(MemoryApprovalStore(), route=ApprovalRoute(approvers=("role:finance",)))
governance = Governance(policies=..., approvals=approvals)
engine = Engine(store, workflows=..., interceptors=[governance])
approvals.bind(engine)                          # decisions wake the waiting runs
await approvals.approve("default", approval_id, by=Actor("alice", "user", ("finance",)))
```

Four-eyes (agents never decide, nobody decides their own request), rules any | all |
majority, escalation and expiry as durable timers, decisions delivered exactly once, edits
validated against the tool's schema, and learned auto-approval. See docs/approvals.md.
"""

from fluxio.governance.approvals.checkpoints import Checkpoints
from fluxio.governance.approvals.decisions import Approvals, Signals, StoreSignals
from fluxio.governance.approvals.hold import GOVERNANCE_KIND, INTERNAL, hold
from fluxio.governance.approvals.learning import (
    ApprovalPattern,
    LearnedApproval,
    PatternStatus,
)
from fluxio.governance.approvals.patterns import PatternBook
from fluxio.governance.approvals.request import (
    TERMINAL_STATUSES,
    ActionType,
    ApprovalRequest,
    ApprovalRoute,
    ApprovalStatus,
    Choice,
    ExpiryOutcome,
    Rule,
    Urgency,
    Vote,
    tally,
)
from fluxio.governance.approvals.rules import ApprovalRefused
from fluxio.governance.approvals.sqlite import SQLiteApprovalStore
from fluxio.governance.approvals.store import ApprovalStore, MemoryApprovalStore
from fluxio.governance.approvals.stores import open_approval_store

__all__ = [
    "GOVERNANCE_KIND",
    "INTERNAL",
    "TERMINAL_STATUSES",
    "ActionType",
    "ApprovalPattern",
    "ApprovalRefused",
    "ApprovalRequest",
    "ApprovalRoute",
    "ApprovalStatus",
    "ApprovalStore",
    "Approvals",
    "Checkpoints",
    "Choice",
    "ExpiryOutcome",
    "LearnedApproval",
    "MemoryApprovalStore",
    "PatternBook",
    "PatternStatus",
    "Rule",
    "SQLiteApprovalStore",
    "Signals",
    "StoreSignals",
    "Urgency",
    "Vote",
    "hold",
    "open_approval_store",
    "tally",
]
