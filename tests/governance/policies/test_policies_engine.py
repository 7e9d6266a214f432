"""What the engine decides, how outcomes combine, and how every rule explains itself."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from fluxio.engine import ExecuteStepInput, StepOptions
from fluxio.errors import UsageError
from fluxio.governance.policies import (
    Action,
    Actor,
    AgentRef,
    BudgetState,
    Decision,
    PolicyEngine,
    action_from_json,
    action_from_step,
    build_context,
    parse_policies,
)

pytestmark = pytest.mark.anyio

NOON = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


def engine(text: str, **options: Any) -> PolicyEngine:
    return PolicyEngine(parse_policies(text), **options)


def tool(name: str, side_effects: bool = True, **arguments: Any) -> Action:
    contract = {"name": name, "side_effects": side_effects, "category": "comms"}
    return Action("tool", name, arguments, tool=contract, now=NOON)


def rows(decision: Decision) -> list[tuple[str, str, bool, str]]:
    return [(e.policy_id, e.rule_id, e.matched, e.verdict) for e in decision.explanations]


def policy(pid: str, rule: str, **fields: str) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return f"- id: {pid}\n{textwrap_indent(extra)}  rules:\n{textwrap_indent(rule, 4)}"


def textwrap_indent(text: str, spaces: int = 2) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


FORBID_DELETE = "- {id: no-delete, type: forbid, condition: 'tool.name == \"delete_file\"'}"
SMALL_REFUNDS = "- {id: small, type: require, condition: 'arguments.amount <= 100.0'}"


async def test_forbid_denies_and_explains_which_rule_matched() -> None:
    decision = await engine(policy("files", FORBID_DELETE)).evaluate(tool("delete_file"))
    assert decision.outcome == "deny"
    assert not decision.allowed
    assert decision.policies_violated == ("files",)
    assert rows(decision) == [("files", "no-delete", True, "violated")]
    assert 'forbidden condition holds: tool.name == "delete_file"' in decision.reason


async def test_a_rule_message_replaces_the_generated_reason() -> None:
    rule = FORBID_DELETE[:-1] + ", message: Never delete files.}"
    decision = await engine(policy("files", rule)).evaluate(tool("delete_file"))
    assert decision.reason == "denied by files/no-delete: Never delete files."


async def test_require_with_escalate_requires_approval() -> None:
    text = policy("refunds", SMALL_REFUNDS, violation_action="escalate")
    big = await engine(text).evaluate(tool("refund", amount=250.0))
    small = await engine(text).evaluate(tool("refund", amount=20.0))
    assert (big.outcome, small.outcome) == ("require_approval", "allow")
    assert big.explanations[0].effect == "require_approval"
    assert small.explanations[0].reason == "holds: arguments.amount <= 100.0"


async def test_approved_actions_are_no_longer_held_by_escalations() -> None:
    text = policy("refunds", SMALL_REFUNDS, violation_action="escalate")
    decision = await engine(text).evaluate(tool("refund", amount=250.0), approved=True)
    assert decision.outcome == "allow"
    assert decision.policies_violated == ("refunds",)
    assert decision.explanations[0].reason.endswith("(approved)")


async def test_notify_lets_the_action_run_and_asks_for_a_notification() -> None:
    text = policy("watch", FORBID_DELETE, violation_action="notify")
    decision = await engine(text).evaluate(tool("delete_file"))
    assert decision.outcome == "allow"
    assert [v.rule_id for v in decision.notifications] == ["no-delete"]


@pytest.mark.parametrize("mode", ["warn", "log"])
async def test_warn_and_log_record_violations_without_blocking(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fluxio.policies")
    decision = await engine(policy("shadow", FORBID_DELETE, enforcement=mode)).evaluate(
        tool("delete_file")
    )
    assert decision.outcome == "allow"
    assert decision.policies_violated == ("shadow",)
    assert [(v.enforced, v.effect) for v in decision.violations] == [(False, mode)]
    assert "violation(s) recorded without blocking" in decision.reason
    record = caplog.records[-1]
    assert record.levelno == (logging.WARNING if mode == "warn" else logging.INFO)
    assert "shadow" in record.getMessage()


async def test_deny_beats_approval_beats_transform_beats_allow() -> None:
    transform = "- {id: cc, type: transform, transform: {defaults: {cc: audit}}}"
    parts = {
        "t": policy("t", transform),
        "a": policy("a", SMALL_REFUNDS, violation_action="escalate"),
        "d": policy("d", "- {id: too-big, type: forbid, condition: 'arguments.amount > 1000.0'}"),
    }
    cases = [("t", "transform"), ("ta", "require_approval"), ("tad", "deny"), ("da", "deny")]
    for keys, expected in cases:
        text = "".join(parts[k] for k in keys)
        decision = await engine(text).evaluate(tool("refund", amount=5000.0))
        assert decision.outcome == expected, keys
    allowed = await engine(parts["a"]).evaluate(tool("refund", amount=1.0))
    assert allowed.outcome == "allow"


async def test_scope_by_tool_agent_workflow_kind_and_actor() -> None:
    rule = "- {id: never, type: forbid, condition: 'true'}"
    scoped = {
        "tools": "{applies_to: {tools: [send_*]}}",
        "agents": "{applies_to: {agents: [triage]}}",
        "workflows": "{applies_to: {workflows: [billing]}}",
        "kinds": "{applies_to: {kinds: model}}",
        "roles": "{roles: [intern]}",
        "users": "{users: [u9]}",
    }
    text = "".join(policy(name, rule, scope=scope) for name, scope in scoped.items())
    action = Action(
        "tool",
        "send_email",
        {},
        actor=Actor("u1", "user", ("intern",)),
        agent=AgentRef("a7", "triage"),
        workflow="support",
        now=NOON,
    )
    decision = await engine(text).evaluate(action)
    assert decision.policies_evaluated == ("tools", "agents", "roles")
    why = {e.policy_id: e.reason for e in decision.explanations if not e.matched}
    assert why["workflows"] == "applies to workflows billing, not 'support'"
    assert why["kinds"] == "applies to model actions, not tool"
    assert why["users"] == "applies to users u9 / roles *; actor 'u1' has roles ['intern']"


async def test_tool_scoped_policies_do_not_apply_to_model_calls() -> None:
    text = policy("mail", FORBID_DELETE, scope="{applies_to: {tools: [delete_file]}}")
    decision = await engine(text).evaluate(Action("model", "gpt", {}, now=NOON))
    assert decision.policies_evaluated == ()
    assert decision.explanations[0].reason == "applies to tools delete_file, not model 'gpt'"


async def test_scope_conditions_select_the_actions_a_policy_covers() -> None:
    scope = "{conditions: ['budget.remaining_usd < 1.0']}"
    text = policy(
        "broke", "- {id: stop, type: forbid, condition: 'tool.side_effects'}", scope=scope
    )
    rich = Action("tool", "pay", {}, tool={"side_effects": True}, budget=BudgetState(1.0, 50.0))
    poor = Action("tool", "pay", {}, tool={"side_effects": True}, budget=BudgetState(49.5, 50.0))
    assert (await engine(text).evaluate(rich)).outcome == "allow"
    assert (await engine(text).evaluate(poor)).outcome == "deny"
    skipped = (await engine(text).evaluate(rich)).explanations[0]
    assert skipped.reason == "scope condition `budget.remaining_usd < 1.0` is false"


async def test_drafts_disabled_and_out_of_date_policies_do_not_apply() -> None:
    rule = "- {id: never, type: forbid, condition: 'true'}"
    text = (
        policy("draft", rule, status="draft")
        + policy("switched-off", rule, status="disabled")
        + policy("early", rule, effective_from="2025-06-01T00:00:00Z")
        + policy("late", rule, effective_until="2025-01-01")
        + policy("now", rule, effective_from="2025-01-01", effective_until="2025-06-01")
    )
    decision = await engine(text).evaluate(tool("x"))
    assert decision.policies_evaluated == ("now",)
    why = {e.policy_id: e.reason for e in decision.explanations}
    assert why["draft"] == "status is draft"
    assert why["switched-off"] == "status is disabled"
    assert why["early"].startswith("not effective until 2025-06-01")
    assert why["late"].startswith("expired at 2025-01-01")


async def test_effective_dates_follow_the_engine_clock() -> None:
    rule = "- {id: never, type: forbid, condition: 'true'}"
    text = policy("from-june", rule, effective_from="2025-06-01")
    june = dt.datetime(2025, 6, 2, tzinfo=dt.UTC).timestamp()
    action = Action("tool", "x", {})
    assert (await engine(text, clock=lambda: june).evaluate(action)).outcome == "deny"
    assert (await engine(text, clock=lambda: june - 86400 * 30).evaluate(action)).outcome == "allow"


async def test_when_false_means_the_rule_does_not_apply() -> None:
    rule = "- {id: big, type: forbid, when: 'arguments.amount > 10.0', condition: 'true'}"
    decision = await engine(policy("p", rule)).evaluate(tool("refund", amount=5.0))
    assert rows(decision) == [("p", "big", False, "not_applicable")]
    assert decision.explanations[0].reason == "`when` arguments.amount > 10.0 is false"


async def test_conditions_that_cannot_be_evaluated_fail_closed() -> None:
    rule = "- {id: cap, type: forbid, condition: 'arguments.amount > 100.0'}"
    decision = await engine(policy("p", rule)).evaluate(tool("refund"))
    assert decision.outcome == "deny"
    assert "could not be evaluated, so it fails closed" in decision.explanations[0].reason
    when = "- {id: w, type: forbid, when: 'arguments.x == 1', condition: 'false'}"
    assert (await engine(policy("p", when)).evaluate(tool("t"))).outcome == "deny"
    scope = "{conditions: ['arguments.x == 1']}"
    decision = await engine(policy("s", rule, scope=scope)).evaluate(tool("t"))
    assert (decision.outcome, decision.violations[0].rule_id) == ("deny", "(scope)")


async def test_guarding_optional_fields_with_has_avoids_failing_closed() -> None:
    rule = "- {id: cap, type: forbid, condition: 'has(arguments.amount) && arguments.amount > 1.0'}"
    assert (await engine(policy("p", rule)).evaluate(tool("refund"))).outcome == "allow"


async def test_transforms_set_defaults_and_redact_paths_without_touching_the_input() -> None:
    rule = (
        "- id: scrub\n  type: transform\n  transform:\n    defaults: {cc: audit@corp.com}\n"
        "    redact_paths: ['$.customer.ssn', 'items[*].card', 'missing.path']\n"
        "    mask: '***'"
    )
    arguments = {"customer": {"ssn": "123"}, "items": [{"card": "4111"}, {"card": "5500"}]}
    action = Action("tool", "ship", arguments, now=NOON)
    decision = await engine(policy("pii", rule)).evaluate(action)
    assert decision.outcome == "transform"
    assert decision.arguments == {
        "customer": {"ssn": "***"},
        "items": [{"card": "***"}, {"card": "***"}],
        "cc": "audit@corp.com",
    }
    assert arguments["customer"] == {"ssn": "123"}
    assert decision.explanations[0].reason == (
        "set default cc; redacted $.customer.ssn (1 value); redacted items[*].card (2 values)"
    )


async def test_a_transform_with_nothing_to_rewrite_leaves_the_action_allowed() -> None:
    rule = "- {id: scrub, type: transform, transform: {redact_paths: [secret]}}"
    decision = await engine(policy("pii", rule)).evaluate(tool("t", text="hi"))
    assert (decision.outcome, decision.arguments) == ("allow", None)


class Upper:
    """A stand-in redactor that upper-cases every string (see fluxio.governance.redaction)."""

    def __init__(self, entities: tuple[str, ...]) -> None:
        self.entities = entities

    def redact(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        return value.upper() if isinstance(value, str) else value


async def test_entity_redaction_uses_the_redactor_made_for_the_rules_entity_types() -> None:
    rule = "- {id: scrub, type: transform, transform: {redact_entities: [email, phone]}}"
    made: list[tuple[str, ...]] = []

    def factory(entities: tuple[str, ...]) -> Upper:
        made.append(entities)
        return Upper(entities)

    pii = engine(policy("pii", rule), redactor_for=factory)
    decision = await pii.evaluate(tool("send", body="mail a@b.c"))
    assert made == [("EMAIL", "PHONE")]
    assert decision.arguments == {"body": "MAIL A@B.C"}
    assert pii.policies.entity_types == {"EMAIL", "PHONE"}


async def test_entity_redaction_without_a_redactor_fails_closed() -> None:
    rule = "- {id: scrub, type: transform, transform: {redact_entities: [email]}}"
    decision = await engine(policy("pii", rule)).evaluate(tool("send", body="a@b.c"))
    assert decision.outcome == "deny"
    assert "no redactor is configured" in decision.explanations[0].reason


async def test_transforms_in_warn_mode_say_what_they_would_do_but_change_nothing() -> None:
    rule = "- {id: scrub, type: transform, transform: {redact_paths: [body]}}"
    decision = await engine(policy("pii", rule, enforcement="warn")).evaluate(
        tool("send", body="x")
    )
    assert (decision.outcome, decision.arguments) == ("allow", None)
    assert decision.explanations[0].reason == "would have redacted body (1 value) (warn only)"


async def test_a_denied_decision_carries_no_rewritten_arguments() -> None:
    rules = FORBID_DELETE + "\n- {id: scrub, type: transform, transform: {redact_paths: [p]}}"
    decision = await engine(policy("p", rules)).evaluate(tool("delete_file", p="/etc"))
    assert (decision.outcome, decision.arguments) == ("deny", None)


async def test_the_context_exposes_the_documented_variables() -> None:
    action = Action(
        "tool",
        "send_email",
        {"to": "x"},
        actor=Actor("u1", "user", ("support",)),
        tenant="acme",
        tool={"name": "send_email", "side_effects": True, "permission_required": None},
        agent=AgentRef("a1", "triage", 2),
        run_id="r1",
        workflow="wf",
        step="3",
        budget=BudgetState(2.0, 10.0, 500),
    )
    context = build_context(action, NOON)
    assert context["actor"] == {"id": "u1", "type": "user", "roles": ("support",)}
    assert context["agent"] == {"id": "a1", "name": "triage", "autonomy": 2}
    assert context["tool"]["permission_required"] == ""
    assert context["tool"]["tags"] == []
    assert context["budget"] == {
        "spent_usd": 2.0,
        "limit_usd": 10.0,
        "remaining_usd": 8.0,
        "tokens": 500,
    }
    assert context["time"] == {
        "now": "2025-03-03T12:00:00+00:00",
        "date": "2025-03-03",
        "hour": 12,
        "minute": 0,
        "weekday": 1,
    }
    assert context["run"] == {"id": "r1", "workflow": "wf", "step": "3"}
    assert context["action"] == {"kind": "tool", "name": "send_email", "side_effects": True}
    assert context["tenant"] == "acme"
    empty = build_context(Action("model", "gpt"), NOON)
    assert empty["agent"]["autonomy"] == 5
    assert empty["budget"]["remaining_usd"] == float("inf")


class Contract:
    """An object with contract attributes, as the tools package's ToolContract has."""

    name = "send_email"
    category = "comms"
    tags = ("email",)
    side_effects = True
    idempotent = False
    cost_per_call = 0.01


def noop(payload: Any) -> Any:
    return payload


async def test_an_action_is_read_from_a_tool_steps_input_and_metadata() -> None:
    options = StepOptions(
        side_effects=True,
        idempotent=False,
        metadata={"kind": "tool", "tool": "send_email", "tool_contract": Contract()},
    )
    step = ExecuteStepInput(
        "run1", "acme", "wf", "2", "tool:send_email", noop, ({"to": "x"},), {}, options, "k"
    )
    action = action_from_step(step, actor=Actor("bot", "agent"))
    assert (action.kind, action.name, action.tenant, action.step) == (
        "tool",
        "send_email",
        "acme",
        "2",
    )
    context = build_context(action, NOON)
    assert context["tool"]["tags"] == ["email"]
    assert context["tool"]["cost_per_call"] == 0.01
    assert context["arguments"] == {"to": "x"}
    assert action.changes_world


async def test_model_and_plain_steps_become_model_and_step_actions() -> None:
    model = StepOptions(metadata={"kind": "model", "model": "gpt"})
    step = ExecuteStepInput("r", "t", "wf", "1", "model:gpt", noop, ({"m": 1},), {}, model, "k")
    assert (action_from_step(step).kind, action_from_step(step).name) == ("model", "gpt")
    plain = ExecuteStepInput("r", "t", "wf", "1", "add", noop, (1, 2), {}, StepOptions(), "k")
    action = action_from_step(plain)
    assert (action.kind, action.name, action.arguments) == (
        "step",
        "add",
        {"args": [1, 2], "kwargs": {}},
    )
    assert not action.changes_world


def test_an_action_from_json_validates_its_fields() -> None:
    action = action_from_json(
        {
            "tool": {"name": "refund", "side_effects": True},
            "arguments": {"amount": 5},
            "actor": {"id": "u1", "type": "user", "roles": ["support"]},
            "agent": {"id": "a1", "autonomy": 3},
            "time": {"now": "2025-03-03T12:00:00"},
        }
    )
    assert (action.kind, action.name, action.changes_world) == ("tool", "refund", True)
    assert action.now == NOON
    with pytest.raises(UsageError, match=r"invalid at agent\.autonomy"):
        action_from_json({"agent": {"id": "a", "autonomy": 9}})


async def test_decisions_serialize_for_the_audit_log() -> None:
    decision = await engine(policy("files", FORBID_DELETE)).evaluate(tool("delete_file"))
    data = decision.to_dict()
    assert data["outcome"] == "deny"
    assert data["policies_violated"] == ["files"]
    assert data["violations"][0]["action"] == "block"
    assert data["explanations"][0]["matched"] is True


async def test_paths_reach_list_indexes_and_every_key_of_a_mapping() -> None:
    rule = "- {id: r, type: transform, transform: {redact_paths: ['items[0].card', '$.keys.*']}}"
    arguments = {"items": [{"card": "4111"}, {"card": "5500"}], "keys": {"a": "1", "b": "2"}}
    decision = await engine(policy("p", rule)).evaluate(Action("tool", "t", arguments, now=NOON))
    assert decision.arguments == {
        "items": [{"card": "[REDACTED]"}, {"card": "5500"}],
        "keys": {"a": "[REDACTED]", "b": "[REDACTED]"},
    }


class Broken:
    """A redactor that returns the wrong shape."""

    def redact(self, value: Any) -> Any:
        return str(value)


async def test_a_redactor_returning_something_else_than_arguments_fails_closed() -> None:
    rule = "- {id: scrub, type: transform, transform: {redact_entities: [email]}}"
    pii = engine(policy("pii", rule), redactor_for=lambda entities: Broken())
    decision = await pii.evaluate(tool("send", body="a@b.c"))
    assert decision.outcome == "deny"
    assert "the redactor returned str, not the arguments mapping" in decision.reason
