"""The per-tenant hash chain: sealing an event into an entry, and verifying a chain offline.

Rules (see docs/audit.md):

- ``seq`` starts at 1 and has no gaps; ``prev_hash`` of seq 1 is ``GENESIS`` (64 zeros).
- ``hash = sha256(canonical_json(entry.hashed_fields()))``: every field except ``payload``
  and ``hash``, including ``prev_hash``, so each entry vouches for all before it.
- ``payload_digest = sha256(canonical_json(payload))``: an erased payload (``None``) with its
  digest kept verifies; a changed payload does not.
- A checkpoint signed by the verifier's key vouches for every entry up to its ``seq``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fluxio.errors import UsageError
from fluxio.governance.audit.canonical import digest
from fluxio.governance.audit.entry import AuditEntry, AuditEvent, hashed_json
from fluxio.governance.audit.signing import Checkpoint, fingerprint, signature_valid

__all__ = [
    "GENESIS",
    "Head",
    "Problem",
    "Sealed",
    "VerifyReport",
    "entry_hash",
    "payload_digest_of",
    "seal",
    "sealed_entry",
    "sealing",
    "verify",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of every tenant's first entry."""

Problem = Literal[
    "wrong_tenant",
    "missing_entry",
    "out_of_order",
    "duplicate",
    "hash_mismatch",
    "broken_link",
    "payload_altered",
    "bad_signature",
    "equivocation",
    "truncated",
    "checkpoint_mismatch",
    "head_mismatch",
]


@dataclass(frozen=True, slots=True)
class Head:
    """The end of a tenant's chain: its last ``seq`` (0 when empty) and that entry's hash."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What verifying a chain found.

    Attributes:
        ok: true when nothing is wrong.
        tenant_id: the chain verified.
        entries: how many entries were read.
        first_bad_seq: the lowest sequence number that can no longer be trusted.
        kind: which check failed (``hash_mismatch``, ``truncated``, ``equivocation``, ...).
        problem: what is wrong, in words.
        signed_through: the highest seq covered by a valid signed checkpoint (0 if none).
        erased: sequence numbers whose payload was erased (allowed; not a failure).
    """

    ok: bool
    tenant_id: str
    entries: int
    first_bad_seq: int | None = None
    kind: Problem | None = None
    problem: str | None = None
    signed_through: int = 0
    erased: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Finding:
    seq: int
    kind: Problem
    text: str
    until: int = 0  # a checkpoint mismatch only bounds the damage to seq..until


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: SHA-256 of the canonical JSON of its hashed fields."""
    json = hashed_json(entry, entry.seq, entry.timestamp, entry.payload_digest, entry.prev_hash)
    return hashlib.sha256(json.encode("utf-8")).hexdigest()


def seal(event: AuditEvent, head: Head, now: float) -> AuditEntry:
    """Turn an event into the entry after ``head``: seq, time, payload digest and hashes."""
    return sealed_entry(event, sealing(event, head, now))


def sealed_entry(event: AuditEvent, sealed: Sealed) -> AuditEntry:
    """The entry ``event`` became when it was sealed as ``sealed``."""
    return AuditEntry(
        tenant_id=event.tenant_id,
        seq=sealed.seq,
        timestamp=sealed.timestamp,
        actor=event.actor,
        action=event.action,
        target=event.target,
        result=event.result,
        run_id=event.run_id,
        step_key=event.step_key,
        inputs_digest=event.inputs_digest,
        outputs_digest=event.outputs_digest,
        duration_ms=event.duration_ms,
        error=event.error,
        policies_evaluated=event.policies_evaluated,
        policies_violated=event.policies_violated,
        approval_id=event.approval_id,
        reversibility=event.reversibility,
        payload_digest=sealed.payload_digest,
        prev_hash=sealed.prev_hash,
        hash=sealed.hash,
        payload=event.payload,
    )


class Sealed(NamedTuple):
    """What sealing adds to an event: its place in the chain and the hashes."""

    seq: int
    timestamp: float
    payload_digest: str | None
    prev_hash: str
    hash: str


def sealing(event: AuditEvent, head: Head, now: float) -> Sealed:
    """What sealing ``event`` after ``head`` adds (``seal`` without building the entry)."""
    seq = head.seq + 1
    timestamp = event.timestamp if event.timestamp is not None else now
    payload_digest = payload_digest_of(event)
    json = hashed_json(event, seq, timestamp, payload_digest, head.hash)
    hash_ = hashlib.sha256(json.encode("utf-8")).hexdigest()
    return Sealed(seq, timestamp, payload_digest, head.hash, hash_)


def payload_digest_of(event: AuditEvent) -> str | None:
    """The digest of the event's payload (``None`` without one); refuses a non-JSON one."""
    if event.payload is None:
        return None
    try:
        return digest(event.payload)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"the payload of a {event.action} audit event is not JSON ({exc}); record "
            "strings, numbers, bools, None, lists and dicts only"
        ) from exc


def verify(
    tenant_id: str,
    entries: Sequence[AuditEntry],
    checkpoints: Sequence[Checkpoint] = (),
    public_key: Ed25519PublicKey | None = None,
    head: Head | None = None,
) -> VerifyReport:
    """Check a tenant's chain (in the order given) and, with a public key, its checkpoints.

    Without ``public_key`` the checkpoints are ignored: anyone who can write the database
    could have written them. ``head`` is what the log records as the chain's end (read
    before the entries); a chain that stops short of it or disagrees with it is reported.
    The report names the lowest sequence number that can no longer be trusted and why.
    """
    erased: list[int] = []
    scan = _scan(tenant_id, entries, erased)
    findings = [scan] if scan else []
    stored = {e.seq: e.hash for e in entries}
    last = max(stored, default=0)
    if head is not None and (finding := _check_head(head, stored, last)):
        findings.append(finding)
    signed_through = 0
    if public_key is not None:
        cp_finding, signed_through = _check_checkpoints(
            tenant_id, checkpoints, public_key, stored, last
        )
        findings += [cp_finding] if cp_finding else []
    base = VerifyReport(True, tenant_id, len(entries), signed_through=signed_through)
    if not findings:
        return replace(base, erased=tuple(erased))
    worst = min(findings, key=lambda f: f.seq)
    if worst.kind == "checkpoint_mismatch" and scan and scan.seq <= worst.until:
        worst = scan  # the scan names the exact entry inside the rewritten range
    return replace(
        base, ok=False, first_bad_seq=worst.seq, kind=worst.kind, problem=worst.text,
        erased=tuple(erased),
    )  # fmt: skip


def _scan(tenant_id: str, entries: Sequence[AuditEntry], erased: list[int]) -> _Finding | None:
    """The first broken link, gap, reordering, forged hash or altered payload."""
    present = {e.seq for e in entries}
    seen: set[int] = set()
    previous = Head()
    for entry in entries:
        expected = previous.seq + 1
        if finding := _position(tenant_id, entry, expected, present, seen):
            return finding
        seen.add(entry.seq)
        if entry_hash(entry) != entry.hash:
            return _Finding(
                entry.seq, "hash_mismatch", f"entry {entry.seq} does not match its hash: "
                "a field was changed after it was written",
            )  # fmt: skip
        if entry.prev_hash != previous.hash:
            return _broken_link(entry, previous)
        if entry.payload is not None and digest(entry.payload) != entry.payload_digest:
            return _Finding(
                entry.seq, "payload_altered", f"the payload of entry {entry.seq} was altered: "
                "it no longer matches the payload_digest the chain recorded",
            )  # fmt: skip
        if entry.payload_erased:
            erased.append(entry.seq)
        previous = Head(entry.seq, entry.hash)
    return None


def _position(
    tenant_id: str, entry: AuditEntry, expected: int, present: set[int], seen: set[int]
) -> _Finding | None:
    if entry.tenant_id != tenant_id:
        return _Finding(
            entry.seq, "wrong_tenant",
            f"entry {entry.seq} belongs to tenant {entry.tenant_id!r}, not {tenant_id!r}",
        )  # fmt: skip
    if entry.seq == expected:
        return None
    if entry.seq in seen:
        return _Finding(
            entry.seq, "duplicate", f"seq {entry.seq} appears twice: an entry was inserted"
        )
    if expected in present:
        return _Finding(
            expected, "out_of_order",
            f"entry {entry.seq} comes where {expected} belongs: entries were reordered",
        )  # fmt: skip
    return _Finding(
        expected, "missing_entry",
        f"entry {expected} is missing (entry {entry.seq} follows {expected - 1})",
    )  # fmt: skip


def _broken_link(entry: AuditEntry, previous: Head) -> _Finding:
    """``entry`` is intact but names another predecessor: the previous one was replaced."""
    blamed = max(previous.seq, 1)
    return _Finding(
        blamed, "broken_link",
        f"the chain breaks before entry {entry.seq}: it links to a different entry "
        f"{previous.seq} than the one present (entry {previous.seq} was replaced, or "
        f"{entry.seq} re-linked)",
    )  # fmt: skip


def _check_head(head: Head, stored: dict[int, str], last: int) -> _Finding | None:
    if head.seq > last:
        return _Finding(
            last + 1, "truncated",
            f"the chain ends at seq {last} but the log's head records seq {head.seq}: "
            f"entries {last + 1}..{head.seq} were removed",
        )  # fmt: skip
    if head.seq and stored.get(head.seq) != head.hash:
        return _Finding(
            head.seq, "head_mismatch",
            f"entry {head.seq} is not the entry the log's head records: it was replaced",
        )  # fmt: skip
    return None


def _check_checkpoints(
    tenant_id: str,
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey,
    stored: dict[int, str],
    last: int,
) -> tuple[_Finding | None, int]:
    """The first checkpoint problem, and how far valid checkpoints vouch for the chain."""
    ordered = sorted(checkpoints, key=lambda c: c.seq)
    if finding := _unsigned_or_equivocal(tenant_id, ordered, public_key):
        return finding, 0
    vouched = 0
    for cp in ordered:
        if cp.seq > last:
            return _Finding(
                last + 1, "truncated",
                f"the chain ends at seq {last} but a signed checkpoint covers seq {cp.seq}: "
                f"entries {last + 1}..{cp.seq} were removed",
            ), vouched  # fmt: skip
        if stored.get(cp.seq) != cp.hash:
            return _Finding(
                vouched + 1, "checkpoint_mismatch",
                f"entries {vouched + 1}..{cp.seq} were rewritten: the chain's hash at seq "
                f"{cp.seq} is not the one the checkpoint signed at time {cp.time:g}",
                until=cp.seq,
            ), vouched  # fmt: skip
        vouched = cp.seq
    return None, vouched


def _unsigned_or_equivocal(
    tenant_id: str, ordered: list[Checkpoint], public_key: Ed25519PublicKey
) -> _Finding | None:
    hashes: dict[int, str] = {}
    for cp in ordered:
        if cp.tenant_id != tenant_id:
            return _Finding(
                cp.seq, "wrong_tenant",
                f"the checkpoint at seq {cp.seq} is for tenant {cp.tenant_id!r}",
            )  # fmt: skip
        if not signature_valid(cp, public_key):
            return _Finding(
                cp.seq, "bad_signature",
                f"the checkpoint at seq {cp.seq} (key {cp.key_fingerprint}) does not verify "
                f"with the public key {fingerprint(public_key)}: refused",
            )  # fmt: skip
        if hashes.setdefault(cp.seq, cp.hash) != cp.hash:
            return _Finding(
                cp.seq, "equivocation",
                f"two signed checkpoints for seq {cp.seq} name different hashes: the signer "
                "vouched for two different histories",
            )  # fmt: skip
    return None
