"""What the audit log records: an ``AuditEvent`` in, a sealed, hash-chained ``AuditEntry`` out.

An event says who did what to what, how it ended and which governance decided it. The log
assigns the tenant's next sequence number, the time (unless given), the payload digest, the
previous entry's hash and the entry's own hash, and returns the ``AuditEntry``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from fluxio.errors import UsageError
from fluxio.governance.audit.canonical import canonical_json

_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # C; no \u escapes

__all__ = [
    "ACTIONS",
    "Actor",
    "ActorType",
    "AuditEntry",
    "AuditEvent",
    "AuditResult",
    "Reversibility",
]

ActorType = Literal["user", "agent", "system", "workflow"]
AuditResult = Literal["success", "failure", "denied", "pending"]
Reversibility = Literal["reversible", "irreversible", "compensable"]

ACTIONS = (
    "run.started",
    "run.completed",
    "run.failed",
    "run.cancelled",
    "step.started",
    "step.completed",
    "step.failed",
    "tool.called",
    "model.called",
    "policy.decision",
    "approval.requested",
    "approval.decided",
    "budget.exceeded",
    "config.changed",
    "audit.payload_erased",
)
"""The actions fluxio itself records; any lower-case dotted name (``billing.refund``) is valid."""

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a person, an agent, the system itself or a workflow.

    Args:
        id: the user, agent or component id (``alice``, ``agent:triage``, ``fluxio``).
        type: ``user``, ``agent``, ``system`` or ``workflow``.
    """

    id: str
    type: ActorType = "system"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise UsageError("an audit actor needs a non-empty id, e.g. Actor('alice', 'user')")
        if self.type not in get_args(ActorType):
            raise UsageError(
                f"audit actor type {self.type!r} is not one of {', '.join(get_args(ActorType))}"
            )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened, as handed to ``AuditLog.append``.

    Args:
        tenant_id: the tenant whose chain records it.
        actor: who did it.
        action: a lower-case dotted name such as ``tool.called`` (see ``ACTIONS``).
        target: what it was done to (``tool:send_email``, ``run:01h…``).
        result: ``success``, ``failure``, ``denied`` or ``pending``.
        run_id: the request it belongs to (the run), if any.
        step_key: the step within that run, if any.
        inputs_digest: ``digest(inputs)``: proves what went in without storing it.
        outputs_digest: ``digest(outputs)``.
        duration_ms: how long it took.
        error: a short error code or message when it failed.
        policies_evaluated: ids of the policies that were evaluated.
        policies_violated: ids of the policies that were violated.
        approval_id: the approval involved, if any.
        reversibility: ``reversible``, ``irreversible`` or ``compensable``; ``None`` if moot.
        payload: redacted details (JSON); stored beside the chain and erasable later.
        timestamp: seconds since the epoch; ``None`` lets the log's clock decide.
    """

    tenant_id: str
    actor: Actor
    action: str
    target: str = ""
    result: AuditResult = "success"
    run_id: str | None = None
    step_key: str | None = None
    inputs_digest: str | None = None
    outputs_digest: str | None = None
    duration_ms: float | None = None
    error: str | None = None
    policies_evaluated: tuple[str, ...] = ()
    policies_violated: tuple[str, ...] = ()
    approval_id: str | None = None
    reversibility: Reversibility | None = None
    payload: Any = None
    timestamp: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tenant_id, str) or not self.tenant_id:
            raise UsageError("an audit event needs a non-empty tenant_id")
        if not isinstance(self.actor, Actor):
            raise UsageError(f"actor must be an Actor, not {type(self.actor).__name__}")
        if self.action not in _KNOWN_ACTIONS and not (
            isinstance(self.action, str) and _ACTION.match(self.action)
        ):
            raise UsageError(
                f"audit action {self.action!r} must be a lower-case dotted name such as "
                "'tool.called' or 'billing.refund'"
            )
        if self.result not in _RESULTS:
            raise UsageError(
                f"audit result {self.result!r} is not one of {', '.join(get_args(AuditResult))}"
            )
        if self.reversibility is not None and self.reversibility not in _REVERSIBILITY:
            raise UsageError(
                f"reversibility {self.reversibility!r} is not one of "
                f"{', '.join(get_args(Reversibility))} (or None)"
            )
        self._check_digests()
        if self.duration_ms is not None or self.timestamp is not None:
            self._check_numbers()
        for name in ("policies_evaluated", "policies_violated"):
            ids = getattr(self, name)
            if not isinstance(ids, tuple) or not all(type(i) is str for i in ids):
                raise UsageError(f"{name} must be a tuple of policy id strings, got {ids!r}")

    def _check_digests(self) -> None:
        for name in ("inputs_digest", "outputs_digest"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _HEX64.match(value)):
                raise UsageError(
                    f"{name} must be 64 lower-case hex digits (use digest(value)), got {value!r}"
                )

    def _check_numbers(self) -> None:
        for name in ("duration_ms", "timestamp"):
            value = getattr(self, name)
            if value is None:
                continue
            bad = isinstance(value, bool) or not isinstance(value, int | float)
            if bad or not math.isfinite(value) or value < 0:
                raise UsageError(f"{name} must be a finite, non-negative number, got {value!r}")


_KNOWN_ACTIONS = frozenset(ACTIONS)
_RESULTS = frozenset(get_args(AuditResult))
_REVERSIBILITY = frozenset(get_args(Reversibility))


# The fields the hash covers, in the order they are shown. ``payload`` and ``hash`` are not
# among them: the payload is covered through ``payload_digest``.
HASHED_FIELDS = (
    "tenant_id",
    "seq",
    "timestamp",
    "actor",
    "action",
    "target",
    "result",
    "run_id",
    "step_key",
    "inputs_digest",
    "outputs_digest",
    "duration_ms",
    "error",
    "policies_evaluated",
    "policies_violated",
    "approval_id",
    "reversibility",
    "payload_digest",
    "prev_hash",
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A sealed audit record: an event plus its place in the tenant's hash chain.

    ``hash`` is the SHA-256 of the canonical JSON of ``hashed_fields()``: every field except
    ``payload`` (covered through ``payload_digest``) and ``hash`` itself, including
    ``prev_hash``, the previous entry's hash (64 zeros for ``seq`` 1).
    """

    tenant_id: str
    seq: int
    timestamp: float
    actor: Actor
    action: str
    target: str
    result: str
    run_id: str | None
    step_key: str | None
    inputs_digest: str | None
    outputs_digest: str | None
    duration_ms: float | None
    error: str | None
    policies_evaluated: tuple[str, ...]
    policies_violated: tuple[str, ...]
    approval_id: str | None
    reversibility: str | None
    payload_digest: str | None
    prev_hash: str
    hash: str
    payload: Any = None

    @property
    def payload_erased(self) -> bool:
        """True when a payload was recorded and later erased (its digest remains)."""
        return self.payload is None and self.payload_digest is not None

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the hash covers, as JSON values."""
        return hashed_record(self, self.seq, self.timestamp, self.payload_digest, self.prev_hash)

    def to_dict(self) -> dict[str, Any]:
        """The whole entry as JSON values (the form a bundle stores)."""
        return {**self.hashed_fields(), "payload": self.payload, "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Any) -> AuditEntry:
        """Read an entry written by ``to_dict``, checking every field's JSON type.

        Raises:
            ValueError: a field is missing, unexpected or of the wrong type (says which).
        """
        if not isinstance(data, dict):
            raise ValueError(f"an audit entry must be a JSON object, not {type(data).__name__}")
        expected = {*HASHED_FIELDS, "payload", "hash"}
        if missing := sorted(expected - data.keys()):
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        if extra := sorted(data.keys() - expected):
            raise ValueError(f"unexpected field(s) {', '.join(extra)}")
        for name, kinds in _FIELD_TYPES.items():
            value = data[name]
            if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
                raise ValueError(f"field {name!r} has the wrong type ({type(value).__name__})")
        return cls(**{**data, "actor": _actor(data["actor"]), **_policies(data)})


def hashed_record(
    source: AuditEvent | AuditEntry,
    seq: int,
    timestamp: float,
    payload_digest: str | None,
    prev_hash: str,
) -> dict[str, Any]:
    """The ``HASHED_FIELDS`` as JSON values: the event's fields plus its place in the chain.

    ``source`` is the event being sealed or the entry it became (they share these fields).
    """
    actor = source.actor
    return {
        "tenant_id": source.tenant_id,
        "seq": seq,
        "timestamp": timestamp,
        "actor": {"id": actor.id, "type": actor.type},
        "action": source.action,
        "target": source.target,
        "result": source.result,
        "run_id": source.run_id,
        "step_key": source.step_key,
        "inputs_digest": source.inputs_digest,
        "outputs_digest": source.outputs_digest,
        "duration_ms": source.duration_ms,
        "error": source.error,
        "policies_evaluated": list(source.policies_evaluated),
        "policies_violated": list(source.policies_violated),
        "approval_id": source.approval_id,
        "reversibility": source.reversibility,
        "payload_digest": payload_digest,
        "prev_hash": prev_hash,
    }


def hashed_json(
    source: AuditEvent | AuditEntry,
    seq: int,
    timestamp: float,
    payload_digest: str | None,
    prev_hash: str,
) -> str:
    """``canonical_json(hashed_record(...))``, written out directly (the hot path of sealing
    and verifying: no intermediate dict, no generic walk)."""
    before, between, after = hashed_parts(source, timestamp, payload_digest)
    if type(seq) is not int:  # the generic renderer explains or copes
        return canonical_json(hashed_record(source, seq, timestamp, payload_digest, prev_hash))
    return before + _text(prev_hash) + between + str(seq) + after


def hashed_parts(
    source: AuditEvent | AuditEntry, timestamp: float, payload_digest: str | None
) -> tuple[str, str, str]:
    """The canonical JSON of the hashed fields around the two that the chain decides:
    ``before + json(prev_hash) + between + str(seq) + after`` is ``hashed_json``.

    A database that holds the chain's head (PostgreSQL's ``fluxio_audit_append``) completes
    and hashes it under its own lock, so an append needs no read of the head first.
    """
    try:
        head = _HASHED_BEFORE % (
            _text(source.action),
            _text(source.actor.id),
            _text(source.actor.type),
            _optional(source.approval_id),
            "null" if source.duration_ms is None else _num(source.duration_ms),
            _optional(source.error),
            _optional(source.inputs_digest),
            _optional(source.outputs_digest),
            _optional(payload_digest),
            _texts(source.policies_evaluated),
            _texts(source.policies_violated),
        )
        middle = _HASHED_BETWEEN % (
            _text(source.result),
            _optional(source.reversibility),
            _optional(source.run_id),
        )
        tail = _HASHED_AFTER % (
            _optional(source.step_key),
            _text(source.target),
            _text(source.tenant_id),
            _num(timestamp),
        )
    except (TypeError, ValueError):  # an odd value: the generic renderer explains or copes
        text = canonical_json(hashed_record(source, 0, timestamp, payload_digest, _MARK))
        head, rest = text.split(f'"prev_hash":"{_MARK}"')
        middle, tail = rest.split('"seq":0')
        return head + '"prev_hash":', middle + '"seq":', tail
    return head, middle, tail


_HASHED_BEFORE = (
    '{"action":%s,"actor":{"id":%s,"type":%s},"approval_id":%s,"duration_ms":%s,"error":%s,'
    '"inputs_digest":%s,"outputs_digest":%s,"payload_digest":%s,"policies_evaluated":%s,'
    '"policies_violated":%s,"prev_hash":'
)
_HASHED_BETWEEN = ',"result":%s,"reversibility":%s,"run_id":%s,"seq":'
_HASHED_AFTER = ',"step_key":%s,"target":%s,"tenant_id":%s,"timestamp":%s}'
_MARK = "~prev~"  # not hex, so no real hash: marks where prev_hash goes in the generic text


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError
    return _encode_string(value)


def _optional(value: Any) -> str:
    return "null" if value is None else _text(value)


@functools.lru_cache(maxsize=1024)
def _texts(values: tuple[str, ...]) -> str:
    """A tuple of strings as a JSON array (the same policy lists recur on every entry)."""
    return "[" + ",".join(map(_text, values)) + "]"


def _int(value: Any) -> str:
    if type(value) is not int:
        raise TypeError
    return str(value)


def _num(value: Any) -> str:
    """An int, or a float the way RFC 8785 renders it (others go the careful way)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is not float or not math.isfinite(value):
        raise TypeError
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = repr(value)
    if "e" in text or value.is_integer():
        raise ValueError
    return text


_OPT_STR = (str, type(None))
_OPT_NUM = (int, float, type(None))
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "tenant_id": (str,),
    "seq": (int,),
    "timestamp": (int, float),
    "actor": (dict,),
    "action": (str,),
    "target": (str,),
    "result": (str,),
    "run_id": _OPT_STR,
    "step_key": _OPT_STR,
    "inputs_digest": _OPT_STR,
    "outputs_digest": _OPT_STR,
    "duration_ms": _OPT_NUM,
    "error": _OPT_STR,
    "policies_evaluated": (list,),
    "policies_violated": (list,),
    "approval_id": _OPT_STR,
    "reversibility": _OPT_STR,
    "payload_digest": _OPT_STR,
    "prev_hash": (str,),
    "hash": (str,),
}


def _actor(data: dict[str, Any]) -> Actor:
    if set(data) != {"id", "type"} or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("field 'actor' must be {'id': <string>, 'type': <string>}")
    try:
        return Actor(data["id"], data["type"])
    except UsageError as exc:
        raise ValueError(f"field 'actor': {exc}") from exc


def _policies(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    found = {}
    for name in ("policies_evaluated", "policies_violated"):
        if not all(isinstance(p, str) for p in data[name]):
            raise ValueError(f"field {name!r} must be a list of strings")
        found[name] = tuple(data[name])
    return found
