"""The SQL both approval stores run (``?`` placeholders; PostgreSQL gets ``%s``).

A request is stored as its JSON record plus the columns the queries filter on. The decision
is one conditional ``UPDATE``: it matches only a pending request at the version read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fluxio.governance.approvals.learning import ApprovalPattern
from fluxio.governance.approvals.request import ApprovalRequest

__all__ = [
    "CREATE",
    "GET",
    "INSERT_PATTERN",
    "MARK_DELIVERED",
    "PATTERNS",
    "UNDELIVERED",
    "UPDATE",
    "UPDATE_PATTERN",
    "approvers_key",
    "list_query",
    "pattern_of_row",
    "pattern_row",
    "pattern_update",
    "postgres",
    "request_of",
    "request_row",
    "update_params",
]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

CREATE = (
    "INSERT INTO approval_requests (tenant_id, approval_id, run_id, status, version, "
    "requested_at, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
GET = "SELECT record FROM approval_requests WHERE tenant_id = ? AND approval_id = ?"
UPDATE = (
    "UPDATE approval_requests SET status = ?, version = ?, record = ? "
    "WHERE tenant_id = ? AND approval_id = ? AND status = 'pending' AND version = ?"
)
MARK_DELIVERED = (
    "UPDATE approval_requests SET delivered_at = ? WHERE tenant_id = ? AND approval_id = ?"
)
UNDELIVERED = (
    "SELECT record FROM approval_requests WHERE tenant_id = ? AND status <> 'pending' "
    "AND delivered_at IS NULL ORDER BY requested_at"
)
PATTERNS = "SELECT record FROM approval_patterns WHERE tenant_id = ?"
INSERT_PATTERN = (
    "INSERT INTO approval_patterns (tenant_id, pattern_id, approvers, status, version, "
    "updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
UPDATE_PATTERN = (
    "UPDATE approval_patterns SET status = ?, version = ?, updated_at = ?, record = ? "
    "WHERE tenant_id = ? AND pattern_id = ? AND approvers = ? AND version = ?"
)


def postgres(statement: str) -> str:
    """The statement with PostgreSQL placeholders."""
    return statement.replace("?", "%s")


def request_row(request: ApprovalRequest) -> tuple[Any, ...]:
    """The parameters of ``CREATE``."""
    return (
        request.tenant_id,
        request.approval_id,
        request.run_id,
        request.status,
        request.version,
        request.requested_at,
        _dumps(request.to_dict()),
    )


def update_params(request: ApprovalRequest) -> tuple[Any, ...]:
    """The parameters of ``UPDATE``: the new state, matched against the version before it."""
    return (
        request.status,
        request.version,
        _dumps(request.to_dict()),
        request.tenant_id,
        request.approval_id,
        request.version - 1,
    )


def list_query(
    tenant_id: str, statuses: Sequence[str], run_id: str | None, limit: int
) -> tuple[str, list[Any]]:
    """``SELECT record`` of a tenant's requests, newest first, with the filters given."""
    where: list[str] = ["tenant_id = ?"]
    params: list[Any] = [tenant_id]
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        params.extend(statuses)
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    params.append(limit)
    text = (  # only placeholders are interpolated; the values travel as parameters
        f"SELECT record FROM approval_requests WHERE {' AND '.join(where)} "  # noqa: S608
        "ORDER BY requested_at DESC, approval_id DESC LIMIT ?"
    )
    return text, params


def approvers_key(pattern: ApprovalPattern) -> str:
    """The approver set as one column value."""
    return "\x1f".join(pattern.approvers)


def pattern_row(pattern: ApprovalPattern) -> tuple[Any, ...]:
    """The parameters of ``INSERT_PATTERN``."""
    return (
        pattern.tenant_id,
        pattern.pattern_id,
        approvers_key(pattern),
        pattern.status,
        pattern.version,
        pattern.updated_at,
        _dumps(pattern.to_dict()),
    )


def pattern_update(pattern: ApprovalPattern) -> tuple[Any, ...]:
    """The parameters of ``UPDATE_PATTERN``."""
    return (
        pattern.status,
        pattern.version,
        pattern.updated_at,
        _dumps(pattern.to_dict()),
        pattern.tenant_id,
        pattern.pattern_id,
        approvers_key(pattern),
        pattern.version - 1,
    )


def request_of(text: str) -> ApprovalRequest:
    """A request from its stored record."""
    return ApprovalRequest.from_dict(json.loads(text))


def pattern_of_row(text: str) -> ApprovalPattern:
    """A pattern from its stored record."""
    return ApprovalPattern.from_dict(json.loads(text))
