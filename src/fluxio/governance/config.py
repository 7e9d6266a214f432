"""Governance from one YAML file: what ``fluxio run``, ``fluxio worker`` and the agents enforce.

A workspace's ``governance.yaml`` (or the file ``--governance`` / ``FLUXIO_GOVERNANCE`` names)
says which policies apply, the autonomy levels, which risky calls pause for approval and who
decides, the budgets, and how the audit chain is kept::

    policies: [policies.yaml]              # policy files, relative to this file
    autonomy: {default: 3, tools: {"delete_*": 0}, allow_list: [create_ticket]}
    checkpoints: {side_effects: true, cost_above: 1.0, skip: [create_ticket]}
    approvals:
      route: {approvers: ["role:support-lead"], expires_after: 2d}
      routes: {refund: {approvers: ["role:finance"], rule: all}}
    budgets: budgets.yaml                  # a budgets file, or the list itself
    audit: {signing_key: keys/audit.pem, checkpoint_every: 1000}   # `audit: false`: none
    redact: true                           # redact audit payloads and approval details

Every section is optional. ``load_governance`` reads and checks the file and everything it
names (a bad policy is reported with its file and line); ``open_governance`` builds the
``Governance`` guard with its tables in the engine's own database: audit entries share the
steps' commits on SQLite, approvals, limit counters and budget ledgers live beside the runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fluxio.errors import DefinitionError, UsageError
from fluxio.governance.approvals import (
    ApprovalRoute,
    Approvals,
    Checkpoints,
    MemoryApprovalStore,
    SQLiteApprovalStore,
    StoreSignals,
)
from fluxio.governance.audit import (
    Actor as AuditActor,
)
from fluxio.governance.audit import (
    AuditEvent,
    AuditLog,
    AuditQuery,
    MemoryAuditLog,
    SQLiteAuditLog,
    digest,
    load_signing_key,
)
from fluxio.governance.autonomy import AutonomySettings
from fluxio.governance.budgets import Budget, BudgetEnforcer, ledger_for
from fluxio.governance.budgets.loader import budgets_from, load_budgets
from fluxio.governance.guard import Governance
from fluxio.governance.policies import (
    Policy,
    PolicyEngine,
    SQLiteLimitCounter,
    load_policies,
)
from fluxio.governance.policies.limits import PostgresLimitCounter
from fluxio.governance.redactors import entity_redactors, redact_value
from fluxio.store.base import Store

if TYPE_CHECKING:
    from fluxio.store.postgres import PostgresStore
from fluxio.store.memory import MemoryStore
from fluxio.store.sqlite import SQLiteStore

__all__ = [
    "GovernanceFile",
    "GovernanceSpec",
    "load_governance",
    "open_governance",
    "record_configuration",
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalsSpec(_Spec):
    """Who decides held actions: a default route and routes by tool name (globs allowed)."""

    route: ApprovalRoute = ApprovalRoute()
    routes: dict[str, ApprovalRoute] = {}


class AuditSpec(_Spec):
    """How the audit chain is kept: an Ed25519 key signs a checkpoint every N entries."""

    signing_key: str | None = None
    checkpoint_every: int | None = Field(default=None, ge=1)


class GovernanceSpec(_Spec):
    """The ``governance.yaml`` schema (see the module docstring)."""

    policies: tuple[str, ...] = ()
    autonomy: AutonomySettings | None = None
    checkpoints: Checkpoints | None = None
    approvals: ApprovalsSpec | None = None
    budgets: str | list[Any] | None = None
    audit: AuditSpec | bool = True
    redact: bool = True

    @field_validator("policies", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


@dataclass(frozen=True)
class GovernanceFile:
    """A checked governance file: its spec, the policies and budgets it names, the key."""

    path: Path
    spec: GovernanceSpec
    policies: tuple[Policy, ...]
    budgets: tuple[Budget, ...]
    signing_key: Any = None

    @property
    def audited(self) -> bool:
        """Whether runs governed by this file are audited."""
        return self.spec.audit is not False

    def summary(self) -> dict[str, Any]:
        """What is in force, as JSON: settings as written, each policy by id and digest."""
        spec = self.spec.model_dump(mode="json", exclude={"policies", "budgets"})
        return {
            **spec,
            "policies": [
                {"id": p.id, "version": p.version, "digest": digest(p.model_dump(mode="json"))}
                for p in self.policies
            ],
            "budgets": [digest(dataclasses.asdict(b)) for b in self.budgets],
        }


def load_governance(path: str | Path) -> GovernanceFile:
    """Read and check ``path`` and every file it names.

    Raises:
        UsageError: the file is missing, is not YAML, or a section is invalid (says which
            field and what was expected).
        DefinitionError: a policy or budget file it names is invalid (with file and line).
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the governance file {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{file} is not valid YAML: {exc}") from None
    try:
        spec = GovernanceSpec.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(
            f"{file}, {where}: {message}; the sections are policies, autonomy, checkpoints, "
            "approvals, budgets, audit and redact (see docs/governance.md)"
        ) from None
    policies = tuple(p for name in spec.policies for p in load_policies(_named(file, name)))
    budgets: tuple[Budget, ...] = ()
    if isinstance(spec.budgets, str):
        budgets = tuple(load_budgets(_named(file, spec.budgets)))
    elif spec.budgets is not None:
        budgets = tuple(budgets_from(spec.budgets, str(file)))
    key = None
    if isinstance(spec.audit, AuditSpec) and spec.audit.signing_key is not None:
        key = load_signing_key(_named(file, spec.audit.signing_key))
    if isinstance(spec.audit, AuditSpec) and spec.audit.checkpoint_every and key is None:
        raise UsageError(
            f"{file}, audit.checkpoint_every: signed checkpoints need audit.signing_key (make "
            "one with `fluxio audit keygen`)"
        )
    return GovernanceFile(file, spec, policies, budgets, key)


def _named(file: Path, name: str) -> Path:
    """A file ``file`` names, relative to it."""
    found = file.parent / name
    if not found.exists():
        raise UsageError(f"{file} names {name}, but {found} does not exist")
    return found


@contextlib.asynccontextmanager
async def open_governance(
    file: GovernanceFile, store: Store, *, tenant: str = "default"
) -> AsyncIterator[Governance]:
    """The ``Governance`` guard ``file`` describes, its tables in ``store``'s database.

    A configuration that differs from the one last recorded in ``tenant``'s audit chain is
    recorded there first (``config.changed``, see ``record_configuration``).

    On SQLite the audit log, approvals and limit counters use the store's file (audit entries
    join the steps' commits); on PostgreSQL, the store's database and schema; with a
    ``MemoryStore``, memory. Everything opened here is closed on exit.
    """
    spec = file.spec
    async with contextlib.AsyncExitStack() as stack:
        audit = await _audit_log(file, store) if file.audited else None
        if audit is not None:
            stack.push_async_callback(audit.close)
        counter = await _limit_counter(store)
        if counter is not None:
            stack.push_async_callback(counter.close)
        routes = spec.approvals or ApprovalsSpec()
        approval_store = await _approval_store(store)
        stack.push_async_callback(approval_store.close)
        approvals = Approvals(  # a decision wakes the run through the store, in any process
            approval_store, route=routes.route, routes=routes.routes, signals=StoreSignals(store)
        )
        budget = None
        if file.budgets:
            ledger = await ledger_for(store)
            stack.push_async_callback(ledger.close)
            budget = BudgetEnforcer(ledger, list(file.budgets))
        policies = None
        if file.policies:
            policies = PolicyEngine(file.policies, counter=counter, redactor_for=entity_redactors())
        if audit is not None:
            await record_configuration(audit, file, tenant)
        yield Governance(
            policies=policies,
            autonomy=spec.autonomy,
            checkpoints=spec.checkpoints,
            approvals=approvals,
            budget=budget,
            audit=audit,
            store=store,
            redact=redact_value() if spec.redact else None,
        )


async def record_configuration(audit: AuditLog, file: GovernanceFile, tenant: str) -> bool:
    """Append ``config.changed`` to ``tenant``'s chain if ``file`` says something new.

    The entry's ``inputs_digest`` covers the whole configuration (every policy's content,
    autonomy, checkpoints, approval routes, budgets, audit settings); its payload names what
    is in force, with a digest per policy. Returns whether an entry was appended.
    """
    summary = file.summary()
    fingerprint = digest(summary)
    target = f"governance:{file.path.resolve()}"
    query = AuditQuery(action="config.changed", target=target, newest_first=True, limit=1)
    last = await audit.entries(tenant, query)
    if last and last[0].inputs_digest == fingerprint:
        return False
    await audit.append(AuditEvent(
        tenant, AuditActor("fluxio", "system"), "config.changed", target=target,
        inputs_digest=fingerprint, payload=summary,
    ))  # fmt: skip
    return True


async def _audit_log(file: GovernanceFile, store: Store) -> AuditLog:
    spec = file.spec.audit if isinstance(file.spec.audit, AuditSpec) else AuditSpec()
    options: dict[str, Any] = {
        "signing_key": file.signing_key,
        "checkpoint_every": spec.checkpoint_every,
    }
    if isinstance(store, SQLiteStore):
        return SQLiteAuditLog(store.path, durability=store.durability, **options)
    if isinstance(store, MemoryStore):
        return MemoryAuditLog(**options)
    from fluxio.governance.audit.postgres import PostgresAuditLog

    return PostgresAuditLog.beside(_postgres(store), **options)


async def _approval_store(store: Store) -> Any:
    if isinstance(store, SQLiteStore):
        return SQLiteApprovalStore(store.path)
    if isinstance(store, MemoryStore):
        return MemoryApprovalStore()
    from fluxio.governance.approvals.postgres import PostgresApprovalStore

    return PostgresApprovalStore.beside(_postgres(store))


async def _limit_counter(store: Store) -> SQLiteLimitCounter | PostgresLimitCounter | None:
    if isinstance(store, SQLiteStore):
        return SQLiteLimitCounter(store.path)
    if isinstance(store, MemoryStore):
        return None  # the policy engine counts in memory
    return PostgresLimitCounter(_postgres(store).pool)


def _postgres(store: Store) -> PostgresStore:
    """``store`` as a ``PostgresStore`` (its pool is shared), or a clear refusal."""
    if type(store).__name__ != "PostgresStore":
        raise DefinitionError(
            f"governance from a file needs a memory, SQLite or PostgreSQL store, not "
            f"{type(store).__name__}; build Governance(...) in Python for other stores"
        )
    return store  # type: ignore[return-value]
