"""Who may decide a request, and whether an edit is acceptable: the four-eyes rules.

- An agent can never approve or reject anything; only people (``Actor(..., "user")``) decide.
- Nobody decides their own request (the requester is excluded, whatever their roles).
- Only approvers decide: a user seat by id, a ``role:<name>`` seat by role, anyone (any
  person) when the route names no approvers, and after escalation the escalation targets.
- A request is decided once; a person votes once.
- Edited arguments must match the tool's input schema, and only a deciding approval edits.

Every refusal is an ``ApprovalRefused`` whose message says what was refused and what to do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fluxio.errors import ToolInputInvalid, UsageError
from fluxio.governance.approvals.request import ApprovalRequest, Choice, seat_matches
from fluxio.governance.policies import Actor
from fluxio.tools.runtime import check_value

__all__ = ["ApprovalRefused", "check_decider", "check_edit", "eligible", "when"]


class ApprovalRefused(UsageError):
    """A decision was refused (four-eyes, not an approver, too late, invalid edit).

    Attributes:
        approval_id: the request.
        code: ``agent_cannot_decide``, ``not_a_person``, ``own_request``, ``not_an_approver``,
            ``already_voted``, ``already_decided``, ``changed`` or ``invalid_edit``.
    """

    def __init__(self, approval_id: str, code: str, message: str) -> None:
        super().__init__(message)
        self.approval_id = approval_id
        self.code = code


def when(moment: float | None) -> str:
    """A time as ISO 8601 UTC, for messages."""
    if moment is None:
        return "an unknown time"
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def eligible(request: ApprovalRequest, by: Actor) -> bool:
    """Whether ``by`` holds a seat of ``request`` (four-eyes aside)."""
    if request.escalated_at is not None and any(
        seat_matches(s, by.id, by.roles) for s in request.escalation_to
    ):
        return True
    if not request.approvers:
        return True
    return any(seat_matches(s, by.id, by.roles) for s in request.approvers)


def _who_may(request: ApprovalRequest) -> str:
    seats = list(request.approvers) or ["any person"]
    if request.escalated_at is not None:
        seats += list(request.escalation_to)
    return ", ".join(seats)


def check_decider(request: ApprovalRequest, by: Actor) -> None:
    """Refuse a decision by ``by`` on ``request`` unless every four-eyes rule allows it.

    Raises:
        ApprovalRefused: with the rule that refused it.
    """
    rid = request.approval_id
    if not request.pending:
        raise ApprovalRefused(
            rid,
            "already_decided",
            f"approval {rid} is already {request.status} (by {request.decided_by or 'nobody'} "
            f"at {when(request.decided_at)}); a decision is delivered once, so this one was not "
            "applied. Nothing changed.",
        )
    if by.type != "user":
        what = "an agent, and agents" if by.type == "agent" else f"a {by.type} actor; only people"
        raise ApprovalRefused(
            rid,
            "agent_cannot_decide" if by.type == "agent" else "not_a_person",
            f"approval {rid}: {by.id!r} is {what} can never approve or reject; a person "
            f"({_who_may(request)}) must decide. The attempt was refused and audited.",
        )
    if by.id == request.requester:
        raise ApprovalRefused(
            rid,
            "own_request",
            f"approval {rid}: {by.id!r} requested this action and cannot decide it (four "
            f"eyes); ask {_who_may(request)}.",
        )
    if not eligible(request, by):
        roles = ", ".join(by.roles) or "none"
        raise ApprovalRefused(
            rid,
            "not_an_approver",
            f"approval {rid}: {by.id!r} (roles: {roles}) is not an approver of this request; "
            f"it needs {request.rule} of: {_who_may(request)}.",
        )
    if any(v.by == by.id for v in request.votes):
        raise ApprovalRefused(
            rid,
            "already_voted",
            f"approval {rid}: {by.id!r} has already voted; each approver votes once.",
        )


def check_edit(
    request: ApprovalRequest, choice: Choice, arguments: Any, decides: bool
) -> dict[str, Any] | None:
    """The edited arguments, checked; ``None`` when there is no edit.

    Raises:
        ApprovalRefused: an edit with a rejection, of a non-tool action, on a vote that does
            not decide, or that breaks the tool's input schema (naming the field).
    """
    if arguments is None:
        return None
    rid = request.approval_id
    details = request.action_details
    problem = None
    if choice != "approve":
        problem = "only an approval can carry edited arguments"
    elif details.get("kind") != "tool":
        problem = "only a tool call's arguments can be edited"
    elif not decides:
        problem = f"under rule {request.rule!r} only the deciding approval may edit arguments"
    elif not isinstance(arguments, dict):
        problem = f"edited arguments must be a JSON object, not {type(arguments).__name__}"
    if problem is None:
        try:
            who = f"tool {details.get('name')!r}"
            check_value(details.get("input_schema") or {}, arguments, who, "argument")
        except ToolInputInvalid as exc:
            problem = f"the edited arguments are invalid: {exc.message}"
    if problem is not None:
        message = f"approval {rid}: {problem}; nothing was decided."
        raise ApprovalRefused(rid, "invalid_edit", message)
    return dict(arguments)
