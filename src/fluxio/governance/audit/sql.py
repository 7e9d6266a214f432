"""What the SQL audit logs share: the row layout, the statements and the query filter.

Statements use ``?`` placeholders; ``postgres(sql)`` turns them into psycopg's ``%s``. Only
constant column lists are interpolated into SQL text; every value is a parameter.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from fluxio.governance.audit.chain import Sealed, payload_digest_of
from fluxio.governance.audit.entry import Actor, AuditEntry, AuditEvent, hashed_parts
from fluxio.governance.audit.log import AuditQuery
from fluxio.governance.audit.signing import Checkpoint

__all__ = [
    "ENTRY_COLUMNS",
    "ERASE_PAYLOAD",
    "GET_CHECKPOINT",
    "GET_ENTRY",
    "GET_HEAD",
    "INSERT_CHECKPOINT",
    "INSERT_ENTRY",
    "LIST_CHECKPOINTS",
    "SELECT_ENTRIES",
    "append_params",
    "checkpoint_row",
    "entry_from_row",
    "entry_row",
    "order_and_limit",
    "postgres",
    "sealed_row",
    "where",
]

ENTRY_COLUMNS = (
    "tenant_id, seq, timestamp, actor_id, actor_type, action, target, result, run_id, "
    "step_key, inputs_digest, outputs_digest, duration_ms, error, policies_evaluated, "
    "policies_violated, approval_id, reversibility, payload_digest, prev_hash, hash, payload"
)
CHECKPOINT_COLUMNS = "tenant_id, seq, hash, time, key_fingerprint, signature"

SELECT_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE "  # noqa: S608
GET_ENTRY = SELECT_ENTRIES + "tenant_id = ? AND seq = ?"
_MARKS = ", ".join("?" * 22)
INSERT_ENTRY = f"INSERT INTO audit_entries ({ENTRY_COLUMNS}) VALUES ({_MARKS})"  # noqa: S608
ERASE_PAYLOAD = "UPDATE audit_entries SET payload = NULL WHERE tenant_id = ? AND seq = ?"
GET_HEAD = "SELECT seq, hash FROM audit_heads WHERE tenant_id = ?"
_SELECT_CHECKPOINTS = f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE "  # noqa: S608
GET_CHECKPOINT = _SELECT_CHECKPOINTS + "tenant_id = ? AND seq = ?"
LIST_CHECKPOINTS = _SELECT_CHECKPOINTS + "tenant_id = ? ORDER BY seq"
INSERT_CHECKPOINT = (
    f"INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608
)


def postgres(sql: str) -> str:
    """A statement with psycopg's ``%s`` placeholders instead of ``?``."""
    return sql.replace("?", "%s")


def entry_row(entry: AuditEntry) -> tuple[Any, ...]:
    """An entry as the values of ``ENTRY_COLUMNS`` (JSON fields as JSON text, which gives
    back exactly the values written: floats are written with round-trip precision)."""
    return sealed_row(entry, Sealed(
        entry.seq, entry.timestamp, entry.payload_digest, entry.prev_hash, entry.hash
    ))  # fmt: skip


def sealed_row(source: AuditEvent | AuditEntry, sealed: Sealed) -> tuple[Any, ...]:
    """The row of an event sealed as ``sealed`` (``entry_row`` without building the entry)."""
    payload = None if source.payload is None else _json(source.payload)
    return (
        source.tenant_id, sealed.seq, sealed.timestamp, source.actor.id, source.actor.type,
        source.action, source.target, source.result, source.run_id, source.step_key,
        source.inputs_digest, source.outputs_digest, source.duration_ms, source.error,
        _ids(source.policies_evaluated),
        _ids(source.policies_violated), source.approval_id, source.reversibility,
        sealed.payload_digest, sealed.prev_hash, sealed.hash, payload,
    )  # fmt: skip


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


@functools.lru_cache(maxsize=1024)
def _ids(policies: tuple[str, ...]) -> str:
    """A policy id list as JSON (the same few lists recur on every entry)."""
    return _json(policies)


def entry_from_row(row: Sequence[Any]) -> AuditEntry:
    """The entry a row of ``ENTRY_COLUMNS`` holds."""
    (tenant_id, seq, timestamp, actor_id, actor_type, *rest) = row
    (action, target, result, run_id, step_key, inputs, outputs, duration, error) = rest[:9]
    (evaluated, violated, approval_id, reversibility, payload_digest, prev, hash_, payload) = rest[
        9:
    ]
    return AuditEntry(
        tenant_id=tenant_id, seq=seq, timestamp=timestamp, actor=Actor(actor_id, actor_type),
        action=action, target=target, result=result, run_id=run_id, step_key=step_key,
        inputs_digest=inputs, outputs_digest=outputs, duration_ms=duration, error=error,
        policies_evaluated=tuple(json.loads(evaluated)),
        policies_violated=tuple(json.loads(violated)), approval_id=approval_id,
        reversibility=reversibility, payload_digest=payload_digest, prev_hash=prev, hash=hash_,
        payload=None if payload is None else json.loads(payload),
    )  # fmt: skip


def append_params(event: AuditEvent, timestamp: float) -> tuple[Any, ...]:
    """The arguments of ``fluxio_audit_append`` (PostgreSQL) for ``event`` at ``timestamp``:
    the tenant, the canonical JSON around prev_hash and seq, then the columns it stores."""
    payload_digest = payload_digest_of(event)
    before, between, after = hashed_parts(event, timestamp, payload_digest)
    payload = None if event.payload is None else _json(event.payload)
    return (
        event.tenant_id, before, between, after, timestamp, event.actor.id, event.actor.type,
        event.action, event.target, event.result, event.run_id, event.step_key,
        event.inputs_digest, event.outputs_digest, event.duration_ms, event.error,
        _ids(event.policies_evaluated), _ids(event.policies_violated), event.approval_id,
        event.reversibility, payload_digest, payload,
    )  # fmt: skip


def checkpoint_row(cp: Checkpoint) -> tuple[Any, ...]:
    """A checkpoint as the values of ``CHECKPOINT_COLUMNS``."""
    return (cp.tenant_id, cp.seq, cp.hash, cp.time, cp.key_fingerprint, cp.signature)


def where(tenant_id: str, query: AuditQuery) -> tuple[str, list[Any]]:
    """The condition (and its parameters) selecting ``query``'s entries."""
    clauses, params = ["tenant_id = ?", "seq > ?"], [tenant_id, query.after_seq]
    exact = {
        "actor_id": query.actor_id,
        "actor_type": query.actor_type,
        "target": query.target,
        "result": query.result,
        "run_id": query.run_id,
    }
    for column, value in exact.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.action is not None and query.action.endswith(".*"):
        clauses.append("action LIKE ? ESCAPE '\\'")
        params.append(_like_prefix(query.action[:-1]))
    elif query.action is not None:
        clauses.append("action = ?")
        params.append(query.action)
    if query.since is not None:
        clauses.append("timestamp >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("timestamp < ?")
        params.append(query.until)
    return " AND ".join(clauses), params


def order_and_limit(query: AuditQuery) -> str:
    """``ORDER BY`` and ``LIMIT`` for ``query`` (the limit is an int, checked by AuditQuery)."""
    order = "DESC" if query.newest_first else "ASC"
    limit = f" LIMIT {int(query.limit)}" if query.limit else ""
    return f" ORDER BY seq {order}{limit}"


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
