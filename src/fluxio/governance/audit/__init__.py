"""A per-tenant, hash-chained, signed, offline-verifiable audit log.

```python
log = MemoryAuditLog(signing_key=key, checkpoint_every=100)
entry = await log.append(AuditEvent("acme", Actor("alice", "user"), "tool.called", ...))
bundle = await export_bundle(log, "acme")
verify_bundle(bundle, key.public_key())      # VerifyReport(ok=True, ...)
```

See docs/audit.md for what is recorded, the hash rules, checkpoints, erasure and bundles.
"""

from fluxio.governance.audit.bundle import (
    AuditBundle,
    BundleError,
    export_bundle,
    read_bundle,
    verify_bundle,
    verify_log,
    write_bundle,
)
from fluxio.governance.audit.canonical import canonical_json, digest
from fluxio.governance.audit.chain import GENESIS, Head, VerifyReport, entry_hash, verify
from fluxio.governance.audit.entry import (
    ACTIONS,
    Actor,
    ActorType,
    AuditEntry,
    AuditEvent,
    AuditResult,
    Reversibility,
)
from fluxio.governance.audit.interceptor import AuditInterceptor
from fluxio.governance.audit.log import AuditLog, AuditQuery, MemoryAuditLog
from fluxio.governance.audit.signing import (
    Checkpoint,
    fingerprint,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    sign_checkpoint,
    signature_valid,
    write_key_pair,
)
from fluxio.governance.audit.sqlite import SQLiteAuditLog

__all__ = [
    "ACTIONS",
    "GENESIS",
    "Actor",
    "ActorType",
    "AuditBundle",
    "AuditEntry",
    "AuditEvent",
    "AuditInterceptor",
    "AuditLog",
    "AuditQuery",
    "AuditResult",
    "BundleError",
    "Checkpoint",
    "Head",
    "MemoryAuditLog",
    "Reversibility",
    "SQLiteAuditLog",
    "VerifyReport",
    "canonical_json",
    "digest",
    "entry_hash",
    "export_bundle",
    "fingerprint",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "read_bundle",
    "sign_checkpoint",
    "signature_valid",
    "verify",
    "verify_bundle",
    "verify_log",
    "write_bundle",
    "write_key_pair",
]
