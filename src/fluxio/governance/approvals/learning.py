"""Learned auto-approval: after N consistent approvals of one action pattern, stop asking.

Opt-in per tenant. Every final human decision is an observation of the request's *pattern*
(action kind and name, the argument names, what required approval, and the route) by the
*approver set* (the people whose votes decided it). Observations decay: each weighs half as
much after ``half_life``. A pattern's confidence is ``a / (a + r + 1)`` where ``a`` and ``r``
are the decayed approvals and rejections; a rejection also resets ``a`` (and the streak of
approvals in a row) to zero, so only consistent approvals count.

When the streak reaches ``after`` and the confidence ``min_confidence``, the pattern is
``proposed`` (mode ``propose``: a person accepts it with ``Approvals.accept_pattern``) or
``active`` (mode ``apply``). An active pattern approves matching requests at once, as long as
its decayed confidence stays above ``min_confidence``; every such approval, every proposal and
activation, and every revocation is audited, and ``Approvals.revoke_pattern`` ends it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fluxio.governance.approvals.request import ApprovalRequest, Choice, parse_duration

__all__ = [
    "ApprovalPattern",
    "LearnedApproval",
    "PatternStatus",
    "observe",
    "pattern_of",
    "usable",
]

PatternStatus = Literal["learning", "proposed", "active", "revoked"]


class LearnedApproval(BaseModel):
    """Settings of learned auto-approval (off unless a tenant is listed).

    Attributes:
        tenants: the tenants that learn (opt-in); ``["*"]`` for every tenant.
        after: consistent approvals needed before a pattern is proposed or applied.
        mode: ``propose`` (a person accepts the pattern first) or ``apply`` (it applies at once).
        half_life: seconds (or ``30d``) after which an observation weighs half.
        min_confidence: the confidence a pattern needs to be proposed and to keep applying.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenants: tuple[str, ...] = ()
    after: int = Field(default=5, ge=1)
    mode: Literal["propose", "apply"] = "propose"
    half_life: float = 30 * 86400.0
    min_confidence: float = Field(default=0.8, gt=0.0, lt=1.0)

    @field_validator("half_life", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_duration(value)

    @model_validator(mode="after")
    def _reachable(self) -> LearnedApproval:
        best = self.after / (self.after + 1)
        if best < self.min_confidence:
            raise ValueError(
                f"after {self.after} approvals the confidence reaches only {best:.2f}, below "
                f"min_confidence {self.min_confidence}; raise after or lower min_confidence"
            )
        return self

    def enabled_for(self, tenant_id: str) -> bool:
        """Whether ``tenant_id`` opted in."""
        return "*" in self.tenants or tenant_id in self.tenants


@dataclass(frozen=True, slots=True)
class ApprovalPattern:
    """What was learned about one action pattern decided by one approver set.

    Attributes:
        tenant_id: the tenant (patterns never cross tenants).
        pattern_id: ``pat_`` + a digest of ``description``.
        approvers: the people who decided, sorted.
        description: kind, name, argument names, what required approval, and the route.
        approvals: decayed weight of consistent approvals.
        rejections: decayed weight of rejections.
        streak: approvals in a row since the last rejection (the ``after`` threshold).
        updated_at: when the weights were last brought up to date.
        status: ``learning``, ``proposed``, ``active`` or ``revoked``.
        changed_by: who accepted or revoked it.
        reason: why it was revoked.
        version: bumped by every change.
    """

    tenant_id: str
    pattern_id: str
    approvers: tuple[str, ...]
    description: dict[str, Any]
    updated_at: float
    approvals: float = 0.0
    rejections: float = 0.0
    streak: int = 0
    status: PatternStatus = "learning"
    changed_by: str | None = None
    reason: str = ""
    version: int = 0

    def decayed(self, now: float, half_life: float) -> tuple[float, float]:
        """The approval and rejection weights as of ``now``."""
        factor = 0.5 ** (max(now - self.updated_at, 0.0) / half_life)
        return self.approvals * factor, self.rejections * factor

    def confidence(self, now: float, half_life: float) -> float:
        """``a / (a + r + 1)`` of the decayed weights: never 1, falls without fresh approvals."""
        a, r = self.decayed(now, half_life)
        return a / (a + r + 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data."""
        return {
            "tenant_id": self.tenant_id,
            "pattern_id": self.pattern_id,
            "approvers": list(self.approvers),
            "description": self.description,
            "updated_at": self.updated_at,
            "approvals": self.approvals,
            "rejections": self.rejections,
            "streak": self.streak,
            "status": self.status,
            "changed_by": self.changed_by,
            "reason": self.reason,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalPattern:
        """Read what ``to_dict`` wrote."""
        return cls(**{**data, "approvers": tuple(data["approvers"])})


def pattern_of(request: ApprovalRequest) -> tuple[str, dict[str, Any]]:
    """The pattern id and description of a request."""
    details = request.action_details
    description = {
        "kind": details.get("kind", ""),
        "name": details.get("name", ""),
        "argument_keys": sorted((details.get("arguments") or {}).keys()),
        "required_by": sorted(request.policies),
        "route": {"approvers": sorted(request.approvers), "rule": request.rule},
    }
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return "pat_" + hashlib.sha256(text.encode()).hexdigest()[:16], description


def observe(
    pattern: ApprovalPattern,
    choice: Choice,
    settings: LearnedApproval,
    now: float,
) -> ApprovalPattern:
    """``pattern`` after one more final human decision (a rejection resets the approvals)."""
    a, r = pattern.decayed(now, settings.half_life)
    if choice == "approve":
        a, streak = a + 1.0, pattern.streak + 1
    else:
        a, r, streak = 0.0, r + 1.0, 0
    status = pattern.status
    if status != "revoked":
        status = _status(status, streak, a / (a + r + 1.0), settings)
    return replace(
        pattern, approvals=a, rejections=r, streak=streak, updated_at=now, status=status,
        version=pattern.version + 1,
    )  # fmt: skip


def _status(
    current: PatternStatus, streak: int, confidence: float, settings: LearnedApproval
) -> PatternStatus:
    if streak < settings.after or confidence < settings.min_confidence:
        return "learning"
    if current in ("proposed", "active"):
        return current
    return "active" if settings.mode == "apply" else "proposed"


def usable(pattern: ApprovalPattern, settings: LearnedApproval, now: float) -> bool:
    """Whether ``pattern`` approves a matching request now (active and still confident)."""
    if pattern.status != "active":
        return False
    return pattern.confidence(now, settings.half_life) >= settings.min_confidence
