"""The autonomy ladder: each level's decision for side-effecting and read-only actions, and
settings per tenant, agent and tool where the most restrictive level wins."""

from __future__ import annotations

import datetime as dt

import pytest

from fluxio.errors import UsageError
from fluxio.governance.autonomy import (
    AutonomyLevel,
    AutonomyOutcome,
    AutonomySettings,
    autonomy_decision,
)
from fluxio.governance.policies import Action, AgentRef

L = AutonomyLevel
O = AutonomyOutcome  # noqa: E741 - reads as the outcome table below

WRITE = Action("tool", "send_email", {"to": "x"}, tool={"side_effects": True})
READ = Action("tool", "search", {"q": "x"}, tool={"side_effects": False})
MODEL = Action("model", "gpt")

# level -> (side-effecting, side-effecting allow-listed, side-effecting pre-approved)
LADDER = {
    L.OBSERVE_ONLY: (O.REFUSE, O.REFUSE, O.REFUSE),
    L.DRAFT: (O.DRAFT, O.DRAFT, O.DRAFT),
    L.RECOMMEND: (O.RECOMMEND_AND_WAIT, O.RECOMMEND_AND_WAIT, O.RECOMMEND_AND_WAIT),
    L.EXECUTE_WITH_APPROVAL: (O.REQUIRE_APPROVAL, O.REQUIRE_APPROVAL, O.ALLOW),
    L.NARROW_AUTONOMY: (O.REQUIRE_APPROVAL, O.ALLOW, O.ALLOW),
    L.BROAD_AUTONOMY: (O.ALLOW, O.ALLOW, O.ALLOW),
}


@pytest.mark.parametrize("level", list(AutonomyLevel))
def test_each_level_decides_side_effecting_actions_as_the_ladder_says(level: L) -> None:
    plain, listed, routine = LADDER[level]
    assert autonomy_decision(level, WRITE).outcome is plain
    assert autonomy_decision(level, WRITE, allow_listed=True).outcome is listed
    assert autonomy_decision(level, WRITE, pre_approved=True).outcome is routine


@pytest.mark.parametrize("level", list(AutonomyLevel))
def test_read_only_tools_and_model_calls_are_allowed_at_every_level(level: L) -> None:
    for action in (READ, MODEL):
        decision = autonomy_decision(level, action)
        assert decision.outcome is O.ALLOW
        assert decision.executes
        assert "read-only" in decision.reason


def test_decisions_say_why_and_whether_a_person_must_act() -> None:
    refused = autonomy_decision(L.OBSERVE_ONLY, WRITE)
    assert refused.reason == "observe only: tool 'send_email' has side effects"
    assert not refused.executes
    assert not refused.waits_for_a_person
    assert autonomy_decision(L.RECOMMEND, WRITE).waits_for_a_person
    assert autonomy_decision(L.EXECUTE_WITH_APPROVAL, WRITE).waits_for_a_person
    draft = autonomy_decision(L.DRAFT, WRITE)
    assert not draft.executes
    assert not draft.waits_for_a_person
    assert "not allow-listed" in autonomy_decision(L.NARROW_AUTONOMY, WRITE).reason
    assert "full audit" in autonomy_decision(L.BROAD_AUTONOMY, WRITE).reason


def test_plain_steps_with_side_effects_climb_the_same_ladder() -> None:
    step = Action("step", "charge", side_effects=True)
    assert autonomy_decision(L.OBSERVE_ONLY, step).outcome is O.REFUSE
    assert autonomy_decision(L.OBSERVE_ONLY, Action("step", "add")).outcome is O.ALLOW


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0, L.OBSERVE_ONLY),
        ("3", L.EXECUTE_WITH_APPROVAL),
        ("draft", L.DRAFT),
        ("Execute with approval", L.EXECUTE_WITH_APPROVAL),
        ("narrow", L.NARROW_AUTONOMY),
        ("broad-autonomy", L.BROAD_AUTONOMY),
        ("observe", L.OBSERVE_ONLY),
    ],
)
def test_levels_parse_from_numbers_and_names(value: object, level: L) -> None:
    assert AutonomyLevel.parse(value) is level


@pytest.mark.parametrize("value", [6, -1, "godmode", True, None])
def test_anything_else_is_not_a_level(value: object) -> None:
    with pytest.raises(UsageError, match="is not an autonomy level; use one of 0 observe_only"):
        AutonomyLevel.parse(value)


def agent_action(tool: str, agent: AgentRef | None = None, tenant: str = "acme") -> Action:
    return Action("tool", tool, {}, tool={"side_effects": True}, agent=agent, tenant=tenant)


def test_the_most_restrictive_of_tenant_agent_and_tool_wins() -> None:
    settings = AutonomySettings.parse(
        {
            "default": 3,
            "tenants": {"acme": "broad", "careful": 1},
            "agents": {"triage": 4},
            "tools": {"delete_*": 0},
        }
    )
    triage = AgentRef("a1", "triage")
    assert settings.level_for(agent_action("send_email", triage)) == (
        L.NARROW_AUTONOMY,
        "agent 'triage'",
    )
    assert settings.level_for(agent_action("delete_file", triage)) == (
        L.OBSERVE_ONLY,
        "tool 'delete_*'",
    )
    careful = agent_action("send_email", triage, tenant="careful")
    assert settings.level_for(careful) == (L.DRAFT, "tenant 'careful'")
    assert settings.level_for(agent_action("x", tenant="other")) == (
        L.EXECUTE_WITH_APPROVAL,
        "tenant 'other'",
    )


def test_an_agents_own_autonomy_counts_as_a_setting() -> None:
    settings = AutonomySettings(default=L.BROAD_AUTONOMY)
    action = agent_action("send_email", AgentRef("a1", "writer", autonomy=1))
    decision = settings.decide(action)
    assert (decision.outcome, decision.level, decision.source) == (
        O.DRAFT,
        L.DRAFT,
        "agent 'a1' definition",
    )


def test_level_four_runs_only_allow_listed_tools_without_approval() -> None:
    settings = AutonomySettings(default=L.NARROW_AUTONOMY, allow_list=("create_ticket", "tag_*"))
    assert settings.decide(agent_action("tag_issue")).outcome is O.ALLOW
    assert settings.decide(agent_action("create_ticket")).outcome is O.ALLOW
    assert settings.decide(agent_action("send_email")).outcome is O.REQUIRE_APPROVAL


def test_level_three_runs_routine_actions_pre_approved_by_a_condition() -> None:
    settings = AutonomySettings(
        default=3,
        pre_approved=('tool.name == "create_ticket" && arguments.priority != "high"',),
    )
    routine = Action("tool", "create_ticket", {"priority": "low"}, tool={"side_effects": True})
    urgent = Action("tool", "create_ticket", {"priority": "high"}, tool={"side_effects": True})
    broken = Action("tool", "create_ticket", {}, tool={"side_effects": True})
    noon = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
    assert settings.decide(routine, now=noon).outcome is O.ALLOW
    assert settings.decide(urgent, now=noon).outcome is O.REQUIRE_APPROVAL
    assert settings.decide(broken, now=noon).outcome is O.REQUIRE_APPROVAL
    assert (
        AutonomySettings(default=2, pre_approved=settings.pre_approved).decide(routine).outcome
        is O.RECOMMEND_AND_WAIT
    )


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(
        UsageError, match=r"autonomy settings, tools\.delete_file: .*not an autonomy"
    ):
        AutonomySettings.parse({"tools": {"delete_file": "never"}})
    with pytest.raises(UsageError, match=r"pre_approved.*invalid CEL expression"):
        AutonomySettings.parse({"pre_approved": ["tool.name = 'x'"]})
    with pytest.raises(UsageError, match="autonomy settings, levels: Extra inputs"):
        AutonomySettings.parse({"levels": {}})
