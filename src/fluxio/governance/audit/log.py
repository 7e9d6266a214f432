"""The ``AuditLog`` port, the sealing rules every implementation shares, and the memory log.

An implementation's one hard duty: ``append`` reads the tenant's head, seals the event after
it and stores both atomically, so concurrent appenders never fork a chain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxio.errors import NotFound, UsageError
from fluxio.governance.audit.chain import Head, seal
from fluxio.governance.audit.entry import Actor, AuditEntry, AuditEvent
from fluxio.governance.audit.signing import Checkpoint, sign_checkpoint

__all__ = ["AuditLog", "AuditQuery", "MemoryAuditLog", "Sealer", "erasure_event"]

Redact = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for ``AuditLog.entries``; every filter given must match.

    Args:
        actor_id: exact actor id.
        actor_type: ``user``, ``agent``, ``system`` or ``workflow``.
        action: exact action, or a prefix ending in ``.*`` (``tool.*``).
        target: exact target.
        result: ``success``, ``failure``, ``denied`` or ``pending``.
        run_id: entries of this run.
        since: entries at or after this time (seconds since the epoch).
        until: entries before this time.
        after_seq: entries with a larger seq (for paging).
        limit: at most this many entries.
        newest_first: order by seq descending instead of ascending.
    """

    actor_id: str | None = None
    actor_type: str | None = None
    action: str | None = None
    target: str | None = None
    result: str | None = None
    run_id: str | None = None
    since: float | None = None
    until: float | None = None
    after_seq: int = 0
    limit: int | None = None
    newest_first: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"limit must be at least 1, got {self.limit}")

    def matches(self, entry: AuditEntry) -> bool:
        """True if ``entry`` passes every filter (``limit`` and order aside)."""
        checks = (
            self.actor_id is None or entry.actor.id == self.actor_id,
            self.actor_type is None or entry.actor.type == self.actor_type,
            self.action is None or _action_matches(self.action, entry.action),
            self.target is None or entry.target == self.target,
            self.result is None or entry.result == self.result,
            self.run_id is None or entry.run_id == self.run_id,
            self.since is None or entry.timestamp >= self.since,
            self.until is None or entry.timestamp < self.until,
            entry.seq > self.after_seq,
        )
        return all(checks)


def _action_matches(pattern: str, action: str) -> bool:
    if pattern.endswith(".*"):
        return action.startswith(pattern[:-1])
    return action == pattern


class AuditLog(Protocol):
    """A per-tenant, hash-chained, append-only audit log."""

    async def append(self, event: AuditEvent) -> AuditEntry:
        """Seal ``event`` as its tenant's next entry and store it; returns the entry."""
        ...

    async def entries(self, tenant_id: str, query: AuditQuery | None = None) -> list[AuditEntry]:
        """A tenant's entries matching ``query``, by seq."""
        ...

    async def get(self, tenant_id: str, seq: int) -> AuditEntry | None:
        """One entry, or ``None``."""
        ...

    async def head(self, tenant_id: str) -> Head:
        """The tenant's last seq and hash (``Head()`` when empty)."""
        ...

    async def erase_payload(
        self, tenant_id: str, seq: int, *, actor: Actor, reason: str
    ) -> AuditEntry:
        """Erase one entry's payload (keeping its digest) and record the erasure; returns it."""
        ...

    async def checkpoint(self, tenant_id: str) -> Checkpoint:
        """Sign the tenant's head now and store the checkpoint; returns it."""
        ...

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """The tenant's stored checkpoints, by seq."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class Sealer:
    """The rules every log applies when it appends: time, redaction, hashing, checkpoints.

    Args:
        signing_key: signs checkpoints; without it ``checkpoint()`` is refused.
        checkpoint_every: sign a checkpoint whenever a tenant's seq is a multiple of this.
        clock: the time source for entries and checkpoints.
        redact: applied to every payload before it is digested and stored.
    """

    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
        clock: Callable[[], float] = time.time,
        redact: Redact | None = None,
    ) -> None:
        if checkpoint_every is not None and checkpoint_every < 1:
            raise UsageError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        if checkpoint_every is not None and signing_key is None:
            raise UsageError(
                "checkpoint_every needs a signing_key: load one with load_signing_key(path) "
                "or create one with `fluxio audit keygen`"
            )
        self.signing_key = signing_key
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self.redact = redact

    def seal(self, event: AuditEvent, head: Head) -> AuditEntry:
        """The entry ``event`` becomes after ``head``."""
        return seal(self.redacted(event), head, self.clock())

    def redacted(self, event: AuditEvent) -> AuditEvent:
        """``event`` with its payload redacted (what is digested and stored)."""
        if self.redact is not None and event.payload is not None:
            return replace(event, payload=self.redact(event.payload))
        return event

    def due(self, entry: AuditEntry) -> Checkpoint | None:
        """The periodic checkpoint to store with ``entry``, if one is due."""
        return self.due_at(entry.tenant_id, Head(entry.seq, entry.hash))

    def due_at(self, tenant_id: str, head: Head) -> Checkpoint | None:
        """The periodic checkpoint to store when the chain reaches ``head``, if one is due."""
        if self.checkpoint_every is None or head.seq % self.checkpoint_every:
            return None
        return self.sign(tenant_id, head)

    def sign(self, tenant_id: str, head: Head) -> Checkpoint:
        """A checkpoint over ``head``, signed now.

        Raises:
            UsageError: no signing key, or the chain is empty.
        """
        if self.signing_key is None:
            raise UsageError(
                "this audit log has no signing key, so it cannot sign checkpoints; pass "
                "signing_key=load_signing_key(path) (or `--key FILE` on the command line)"
            )
        if head.seq == 0:
            raise UsageError(f"tenant {tenant_id!r} has no audit entries yet; nothing to sign")
        return sign_checkpoint(self.signing_key, tenant_id, head.seq, head.hash, self.clock())


def erasure_event(tenant_id: str, seq: int, actor: Actor, reason: str) -> AuditEvent:
    """The entry that records an erasure (the erasure itself is audited)."""
    return AuditEvent(
        tenant_id=tenant_id,
        actor=actor,
        action="audit.payload_erased",
        target=f"audit:{seq}",
        payload={"seq": seq, "reason": reason},
    )


def erasable(entry: AuditEntry | None, tenant_id: str, seq: int) -> AuditEntry:
    """``entry`` if its payload can be erased.

    Raises:
        NotFound: no such entry.
        UsageError: the entry has no payload, or it was erased already.
    """
    if entry is None:
        raise NotFound(f"tenant {tenant_id!r} has no audit entry {seq}; check the seq")
    if entry.payload_digest is None:
        raise UsageError(f"audit entry {seq} has no payload to erase")
    if entry.payload is None:
        raise UsageError(f"the payload of audit entry {seq} was already erased")
    return entry


class MemoryAuditLog:
    """An audit log in memory, for tests and examples (one event loop)."""

    def __init__(
        self,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
        clock: Callable[[], float] = time.time,
        redact: Redact | None = None,
    ) -> None:
        self.sealer = Sealer(
            signing_key=signing_key, checkpoint_every=checkpoint_every, clock=clock, redact=redact
        )
        self._chains: dict[str, list[AuditEntry]] = {}
        self._checkpoints: dict[str, dict[int, Checkpoint]] = {}

    async def append(self, event: AuditEvent) -> AuditEntry:
        """Seal and store ``event`` (no await between reading the head and storing)."""
        return self._append(event)

    def _append(self, event: AuditEvent) -> AuditEntry:
        chain = self._chains.setdefault(event.tenant_id, [])
        entry = self.sealer.seal(event, self._head(event.tenant_id))
        checkpoint = self.sealer.due(entry)
        chain.append(entry)
        if checkpoint is not None:
            self._checkpoints.setdefault(entry.tenant_id, {})[entry.seq] = checkpoint
        return entry

    async def entries(self, tenant_id: str, query: AuditQuery | None = None) -> list[AuditEntry]:
        """A tenant's entries matching ``query``."""
        query = query or AuditQuery()
        found = [e for e in self._chains.get(tenant_id, []) if query.matches(e)]
        if query.newest_first:
            found.reverse()
        return found[: query.limit] if query.limit else found

    async def get(self, tenant_id: str, seq: int) -> AuditEntry | None:
        """One entry, or ``None``."""
        chain = self._chains.get(tenant_id, [])
        return chain[seq - 1] if 0 < seq <= len(chain) else None

    async def head(self, tenant_id: str) -> Head:
        """The tenant's last seq and hash."""
        return self._head(tenant_id)

    def _head(self, tenant_id: str) -> Head:
        chain = self._chains.get(tenant_id)
        return Head(chain[-1].seq, chain[-1].hash) if chain else Head()

    async def erase_payload(
        self, tenant_id: str, seq: int, *, actor: Actor, reason: str
    ) -> AuditEntry:
        """Erase one entry's payload and append the record of it."""
        entry = erasable(await self.get(tenant_id, seq), tenant_id, seq)
        self._chains[tenant_id][seq - 1] = replace(entry, payload=None)
        return self._append(erasure_event(tenant_id, seq, actor, reason))

    async def checkpoint(self, tenant_id: str) -> Checkpoint:
        """Sign the tenant's head now (or return the checkpoint already at that seq)."""
        head = self._head(tenant_id)
        stored = self._checkpoints.setdefault(tenant_id, {})
        if head.seq not in stored:
            stored[head.seq] = self.sealer.sign(tenant_id, head)
        return stored[head.seq]

    async def checkpoints(self, tenant_id: str) -> list[Checkpoint]:
        """The tenant's checkpoints, by seq."""
        return [cp for _, cp in sorted(self._checkpoints.get(tenant_id, {}).items())]

    async def close(self) -> None:
        """Nothing to release."""
