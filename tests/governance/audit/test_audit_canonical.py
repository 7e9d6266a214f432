"""Canonical JSON (RFC 8785 style) and the AuditEvent / AuditEntry records."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxio.errors import UsageError
from fluxio.governance.audit import Actor, AuditEntry, AuditEvent, Head, canonical_json, digest
from fluxio.governance.audit.canonical import _render
from fluxio.governance.audit.chain import entry_hash, seal
from fluxio.governance.audit.entry import hashed_json, hashed_record


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (123.456, "123.456"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (1.5e-6, "0.0000015"),
        (-2.5e300, "-2.5e+300"),
        (5e-324, "5e-324"),
        (333333333.3333333, "333333333.3333333"),
        (10**30, "1000000000000000000000000000000"),
        (True, "true"),
        (None, "null"),
    ],
)
def test_numbers_render_as_ecmascript_does(value: Any, text: str) -> None:
    assert canonical_json(value) == text


def test_objects_sort_keys_by_utf16_code_units_without_whitespace() -> None:
    value = {"b": [1, "x"], "a": {"d": None, "c": False}, "\ufb01": 1, "\U0001f600": 2}
    assert canonical_json(value) == '{"a":{"c":false,"d":null},"b":[1,"x"],"😀":2,"ﬁ":1}'


def test_strings_escape_only_quotes_backslashes_and_control_characters() -> None:
    assert canonical_json('é "q" \\ \n \x1f \u2028') == '"é \\"q\\" \\\\ \\n \\u001f \u2028"'


def test_tuples_are_arrays_and_digest_is_sha256_of_the_utf8_text() -> None:
    assert canonical_json((1, 2)) == "[1,2]"
    expected = hashlib.sha256('{"a":"é"}'.encode()).hexdigest()
    assert digest({"a": "é"}) == expected


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (math.nan, ValueError, "cannot hold nan"),
        (math.inf, ValueError, "cannot hold inf"),
        ({1: "x"}, ValueError, "string keys"),
        ({"when": object()}, TypeError, "cannot put a object"),
    ],
)
def test_values_json_cannot_hold_are_refused(value: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        canonical_json(value)


def sample() -> AuditEntry:
    event = AuditEvent(
        "acme", Actor("alice", "user"), "tool.called", target="tool:send",
        inputs_digest=digest({"to": "bob"}), policies_evaluated=("p1", "p2"),
        payload={"to": "bob"}, timestamp=1700000000.25,
    )  # fmt: skip
    return seal(event, Head(), now=0.0)


def test_the_hash_covers_every_field_but_the_payload() -> None:
    entry = sample()
    assert entry.timestamp == 1700000000.25  # the event's own time wins over the clock
    fields = entry.hashed_fields()
    assert "payload" not in fields
    assert "hash" not in fields
    assert fields["prev_hash"] == "0" * 64
    assert entry.hash == hashlib.sha256(canonical_json(fields).encode()).hexdigest()
    assert entry_hash(AuditEntry(**{**_as_kwargs(entry), "payload": {"x": 1}})) == entry.hash
    assert entry_hash(AuditEntry(**{**_as_kwargs(entry), "approval_id": "a1"})) != entry.hash


def _as_kwargs(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


def test_an_entry_round_trips_through_its_dict() -> None:
    entry = sample()
    assert AuditEntry.from_dict(entry.to_dict()) == entry


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actor": {"id": "a"}}, "field 'actor' must be"),
        ({"actor": {"id": "a", "type": "robot"}}, "actor type 'robot'"),
        ({"seq": True}, "field 'seq' has the wrong type"),
        ({"policies_violated": [1]}, "must be a list of strings"),
        ({"extra": 1}, "unexpected field(s) extra"),
    ],
)
def test_from_dict_names_the_bad_field(change: dict[str, Any], message: str) -> None:
    data = {**sample().to_dict(), **change}
    with pytest.raises(ValueError, match=re.escape(message)):
        AuditEntry.from_dict(data)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tenant_id": ""}, "non-empty tenant_id"),
        ({"action": "Tool Called"}, "lower-case dotted name"),
        ({"action": "called"}, "lower-case dotted name"),
        ({"result": "maybe"}, "audit result 'maybe'"),
        ({"reversibility": "sometimes"}, "reversibility 'sometimes'"),
        ({"inputs_digest": "abc"}, "inputs_digest must be 64 lower-case hex"),
        ({"duration_ms": -1}, "duration_ms must be a finite, non-negative"),
        ({"timestamp": math.nan}, "timestamp must be a finite"),
        ({"policies_evaluated": ["p1"]}, "must be a tuple of policy id strings"),
        ({"actor": "alice"}, "actor must be an Actor"),
    ],
)
def test_a_bad_event_is_refused_with_what_to_fix(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"tenant_id": "acme", "actor": Actor("a"), "action": "tool.called"}
    with pytest.raises(UsageError) as caught:
        AuditEvent(**{**base, **fields})
    assert message in str(caught.value)


def test_a_bad_actor_is_refused() -> None:
    with pytest.raises(UsageError, match="non-empty id"):
        Actor("")
    with pytest.raises(UsageError, match="is not one of user, agent, system, workflow"):
        Actor("x", "robot")  # type: ignore[arg-type]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_fast_path_renders_exactly_what_the_careful_renderer_does(value: Any) -> None:
    parts: list[str] = []
    _render(value, parts)
    assert canonical_json(value) == "".join(parts)
    assert canonical_json(json.loads(canonical_json(value))) == canonical_json(value)


def test_subclasses_and_astral_keys_take_the_careful_path() -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    assert canonical_json({"level": Level.HIGH}) == '{"level":3}'
    assert canonical_json({"\U0001f600": 1, "\ufb01": 2}) == '{"😀":1,"ﬁ":2}'
    assert canonical_json([1e-7, 2.0]) == "[1e-7,2]"


_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_numbers = st.one_of(
    st.integers(min_value=0, max_value=2**60),
    st.floats(min_value=0, max_value=1e30, allow_nan=False, allow_infinity=False),
)


@given(
    tenant=_texts.filter(bool),
    actor=_texts.filter(bool),
    target=_texts,
    step_key=st.none() | _texts,
    duration=st.none() | _numbers,
    timestamp=_numbers,
    policies=st.lists(_texts, max_size=4),
    seq=st.integers(min_value=1, max_value=2**62),
)
@settings(max_examples=300, deadline=None)
def test_the_fast_hashed_json_is_the_canonical_json_of_the_hashed_fields(
    tenant: str,
    actor: str,
    target: str,
    step_key: str | None,
    duration: float | None,
    timestamp: float,
    policies: list[str],
    seq: int,
) -> None:
    """Sealing writes the hashed fields out directly; it must match the generic renderer."""
    event = AuditEvent(
        tenant, Actor(actor, "user"), "tool.called", target=target, step_key=step_key,
        duration_ms=duration, policies_evaluated=tuple(policies), approval_id="apr_1",
    )  # fmt: skip
    fast = hashed_json(event, seq, timestamp, digest(1), "f" * 64)
    assert fast == canonical_json(hashed_record(event, seq, timestamp, digest(1), "f" * 64))
    assert json.loads(fast)["seq"] == seq
