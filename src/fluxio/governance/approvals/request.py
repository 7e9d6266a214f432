"""The ``ApprovalRequest`` of seed ``000``: what needs approval, who may decide, and by when.

A request is data: the action (type and details), the requester and why, the urgency, the
route (approvers as user ids or ``role:<name>``, the rule ``any | all | majority``, escalation
after a duration to others, expiry with an outcome), and its status with the votes cast.
``tally`` turns the votes into a decision; ``ApprovalRoute`` is how a deployment configures
routes (YAML or Python).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = [
    "TERMINAL_STATUSES",
    "ActionType",
    "ApprovalRequest",
    "ApprovalRoute",
    "ApprovalStatus",
    "Choice",
    "ExpiryOutcome",
    "Rule",
    "Urgency",
    "Vote",
    "parse_duration",
    "seat_matches",
    "tally",
]

ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "cancelled"]
Rule = Literal["any", "all", "majority"]
Urgency = Literal["low", "normal", "high", "critical"]
ExpiryOutcome = Literal["reject", "escalate", "auto_approve"]
Choice = Literal["approve", "reject"]
ActionType = Literal[
    "tool_call",
    "model_call",
    "workflow_step",
    "agent_execution",
    "system_update",
    "automation_deploy",
    "data_export",
]

TERMINAL_STATUSES: frozenset[str] = frozenset({"approved", "rejected", "expired", "cancelled"})
"""Statuses a request never leaves."""

SIGNAL_PREFIX = "approval:"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or a text like ``90``, ``30m``, ``4h``, ``2d`` (``None`` stays).

    Raises:
        ValueError: not a positive duration.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use seconds or 30m, 4h, 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a duration; use seconds or 30m, 4h, 2d")
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


class ApprovalRoute(BaseModel):
    """Who decides a kind of request, by which rule, and what happens when nobody does.

    Attributes:
        approvers: user ids or ``role:<name>``; empty means any person (never an agent, never
            the requester).
        rule: ``any`` (the first decision decides), ``all`` (every approver seat must approve;
            one rejection rejects) or ``majority`` (more than half of the seats).
        escalate_after: seconds (or ``30m``, ``4h``) after which ``escalate_to`` may decide.
        escalate_to: user ids or roles that take over on escalation; any one of them decides.
        expires_after: seconds after which the request expires with ``on_expiry``.
        on_expiry: ``reject``, ``escalate`` (to ``escalate_to``, then wait) or
            ``auto_approve``.
        urgency: ``low``, ``normal``, ``high`` or ``critical``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    approvers: tuple[str, ...] = ()
    rule: Rule = "any"
    escalate_after: float | None = None
    escalate_to: tuple[str, ...] = ()
    expires_after: float | None = None
    on_expiry: ExpiryOutcome = "reject"
    urgency: Urgency = "normal"

    @field_validator("escalate_after", "expires_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return parse_duration(value)

    @model_validator(mode="after")
    def _coherent(self) -> ApprovalRoute:
        if self.rule != "any" and not self.approvers:
            raise ValueError(f"rule {self.rule!r} needs a list of approvers to count")
        if self.escalate_after is not None and not self.escalate_to:
            raise ValueError("escalate_after needs escalate_to: who takes over")
        if self.on_expiry == "escalate" and not self.escalate_to:
            raise ValueError("on_expiry 'escalate' needs escalate_to: who takes over")
        return self


@dataclass(frozen=True, slots=True)
class Vote:
    """One person's decision on a request."""

    by: str
    choice: Choice
    at: float
    notes: str = ""
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A request for a person's decision before an action runs (seed ``000`` ApprovalRequest).

    Attributes:
        approval_id: unique per tenant; derived from the run and step that wait for it.
        tenant_id: the tenant it belongs to.
        run_id: the run that waits (on the signal ``approval:<approval_id>``).
        step_key: the step that waits.
        action_type: what kind of action (``tool_call``, ``model_call``, ``workflow_step``...).
        action_details: the action: ``kind``, ``name``, ``arguments``, the tool's facts and
            its ``input_schema`` (edits are validated against it).
        requester: the user or agent that asked for the action.
        requester_type: ``user``, ``agent`` or ``system``.
        reason: why it needs approval, in words.
        urgency: ``low``, ``normal``, ``high`` or ``critical``.
        approvers: user ids or ``role:<name>`` seats.
        rule: ``any``, ``all`` or ``majority``.
        escalation_after: seconds after ``requested_at`` to escalate, if any.
        escalation_to: who may decide after escalation.
        requested_at: when it was asked (seconds since the epoch).
        expires_at: when it expires, if ever.
        on_expiry: what expiry does: ``reject``, ``escalate`` or ``auto_approve``.
        policies: what required it: policy ids, ``autonomy``, ``checkpoint:<trigger>``,
            ``budget``.
        status: ``pending``, ``approved``, ``rejected``, ``expired`` or ``cancelled``.
        escalated_at: when it was escalated, if it was.
        votes: the decisions cast so far.
        decided_by: who decided (comma-separated for several; ``system:...`` for expiry and
            learned auto-approval).
        decided_at: when it was decided.
        notes: the deciding notes.
        edited_arguments: arguments an approver changed (validated against the schema).
        auto_pattern: the learned pattern that approved it, if one did.
        version: bumped by every change; an update names the version it read.
    """

    approval_id: str
    tenant_id: str
    run_id: str
    step_key: str
    action_type: ActionType
    action_details: dict[str, Any]
    requester: str
    requester_type: str
    reason: str
    requested_at: float
    urgency: Urgency = "normal"
    approvers: tuple[str, ...] = ()
    rule: Rule = "any"
    escalation_after: float | None = None
    escalation_to: tuple[str, ...] = ()
    expires_at: float | None = None
    on_expiry: ExpiryOutcome = "reject"
    policies: tuple[str, ...] = ()
    status: ApprovalStatus = "pending"
    escalated_at: float | None = None
    votes: tuple[Vote, ...] = ()
    decided_by: str | None = None
    decided_at: float | None = None
    notes: str = ""
    edited_arguments: dict[str, Any] | None = None
    auto_pattern: str | None = None
    version: int = 0

    @property
    def signal(self) -> str:
        """The signal the waiting run is woken with."""
        return SIGNAL_PREFIX + self.approval_id

    @property
    def pending(self) -> bool:
        """Whether the request still waits for a decision."""
        return self.status == "pending"

    @property
    def approved(self) -> bool:
        """Whether the action may run."""
        return self.status == "approved"

    @property
    def escalate_at(self) -> float | None:
        """When it escalates (``None``: it does not, or it already did)."""
        if self.escalation_after is None or self.escalated_at is not None:
            return None
        return self.requested_at + self.escalation_after

    def next_deadline(self) -> float | None:
        """The next time something happens on its own: escalation or expiry."""
        times = [t for t in (self.escalate_at, self.expires_at) if t is not None]
        return min(times) if times else None

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments the action runs with: the edited ones, if an approver changed them."""
        if self.edited_arguments is not None:
            return self.edited_arguments
        return dict(self.action_details.get("arguments") or {})

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data (what the stores keep and the journal records)."""
        data = asdict(self)
        data["votes"] = [asdict(v) for v in self.votes]
        for name in ("approvers", "escalation_to", "policies"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalRequest:
        """Read what ``to_dict`` wrote."""
        values = dict(data)
        values["votes"] = tuple(
            Vote(v["by"], v["choice"], v["at"], v.get("notes", ""), tuple(v.get("roles", ())))
            for v in values.get("votes", ())
        )
        for name in ("approvers", "escalation_to", "policies"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)

    def changed(self, **changes: Any) -> ApprovalRequest:
        """A copy with ``changes`` and the next version."""
        return replace(self, version=self.version + 1, **changes)


def seat_matches(seat: str, person: str, roles: tuple[str, ...]) -> bool:
    """Whether a seat (``alice``, ``user:alice`` or ``role:finance``) is filled by a person."""
    if seat.startswith("role:"):
        return seat[5:] in roles
    return seat.removeprefix("user:") == person


def _fill(seats: tuple[str, ...], votes: tuple[Vote, ...]) -> list[Vote]:
    """Assign each vote to one free seat it may fill (exact user seats before role seats)."""
    free = list(seats)
    counted: list[Vote] = []
    for vote in votes:
        order = sorted(free, key=lambda s: s.startswith("role:"))
        seat = next((s for s in order if seat_matches(s, vote.by, vote.roles)), None)
        if seat is not None:
            free.remove(seat)
            counted.append(vote)
    return counted


def tally(request: ApprovalRequest) -> Choice | None:
    """The decision the votes add up to under the request's rule, or ``None`` (still open).

    After escalation, one vote of an escalation target decides alone. Without approvers,
    the first vote decides.
    """
    for vote in request.votes:
        escalated = request.escalated_at is not None
        if escalated and any(seat_matches(s, vote.by, vote.roles) for s in request.escalation_to):
            return vote.choice
    if not request.approvers or request.rule == "any":
        return request.votes[0].choice if request.votes else None
    counted = _fill(request.approvers, request.votes)
    seats = len(request.approvers)
    yes = sum(v.choice == "approve" for v in counted)
    no = len(counted) - yes
    if request.rule == "all":
        return "reject" if no else ("approve" if yes == seats else None)
    if yes * 2 > seats:
        return "approve"
    return "reject" if (seats - no) * 2 <= seats else None
