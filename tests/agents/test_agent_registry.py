"""The agent registry: versions, the seed 000 lifecycle, and refused transitions."""

from __future__ import annotations

import pytest

from fluxio.agents import AgentDefinition, AgentRegistry, Lifecycle
from fluxio.errors import NotFound, UsageError
from fluxio.tools import ToolRegistry


def test_versions_live_side_by_side_and_deploy_picks_the_newest() -> None:
    registry = AgentRegistry()
    registry.register(AgentDefinition(name="helper", version="1.0.0"))
    registry.register(AgentDefinition(name="helper", version="1.10.0"))
    registry.register(AgentDefinition(name="helper", version="1.2.0"))
    assert registry.state("helper") is Lifecycle.REGISTERED
    record = registry.deploy("helper")
    assert record.deployed_version == "1.10.0"
    assert registry.require("helper").version == "1.10.0"
    assert registry.require("helper", "1.2.0").version == "1.2.0"
    registry.deploy("helper", "1.2.0")
    assert registry.require("helper").version == "1.2.0"
    with pytest.raises(
        NotFound, match=r"no version 9\.9\.9; registered: 1\.0\.0, 1\.2\.0, 1\.10\.0"
    ):
        registry.require("helper", "9.9.9")


def test_registering_the_same_version_twice_is_refused() -> None:
    registry = AgentRegistry([AgentDefinition(name="helper")])
    with pytest.raises(UsageError, match="already registered"):
        registry.register(AgentDefinition(name="helper"))


def test_lifecycle_runs_registered_deployed_active_paused_active_terminated() -> None:
    registry = AgentRegistry([AgentDefinition(name="helper")])
    seen = [registry.state("helper")]
    for step in (registry.deploy, registry.activate, registry.pause, registry.resume):
        seen.append(step("helper").state)
    seen.append(registry.terminate("helper").state)
    assert [s.value for s in seen] == [
        "registered",
        "deployed",
        "active",
        "paused",
        "active",
        "terminated",
    ]
    assert registry.deploy("helper").state is Lifecycle.DEPLOYED  # brought back


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        ((), "activate", "cannot activate agent 'helper': it is registered (deploy it first)"),
        ((), "pause", "cannot pause agent 'helper': it is registered"),
        (("deploy", "activate"), "resume", "cannot resume agent 'helper': it is active"),
        (("deploy", "pause"), "pause", "it is paused (resume it first)"),
        (("deploy", "terminate"), "terminate", "it is terminated (deploy it again"),
    ],
)
def test_invalid_transitions_are_refused_with_the_state_and_what_works(
    setup: tuple[str, ...], action: str, message: str
) -> None:
    registry = AgentRegistry([AgentDefinition(name="helper")])
    for step in setup:
        getattr(registry, step)("helper")
    before = registry.state("helper")
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(registry, action)("helper")
    assert registry.state("helper") is before


def test_only_deployed_or_active_agents_accept_tasks() -> None:
    registry = AgentRegistry([AgentDefinition(name="helper")])
    with pytest.raises(UsageError, match="is registered and accepts no new tasks; deploy it"):
        registry.check_accepting("helper")
    registry.deploy("helper")
    registry.check_accepting("helper")
    registry.pause("helper")
    with pytest.raises(UsageError, match="is paused and accepts no new tasks; resume it first"):
        registry.check_accepting("helper")


def test_draft_and_retired_versions_cannot_be_deployed() -> None:
    registry = AgentRegistry(
        [
            AgentDefinition(name="draft", status="draft"),
            AgentDefinition(name="old", status="retired"),
        ]
    )
    with pytest.raises(UsageError, match="is draft and cannot be deployed"):
        registry.deploy("draft")
    with pytest.raises(UsageError, match="is retired and cannot be deployed"):
        registry.deploy("old")


def test_unknown_agents_and_delegates_get_did_you_mean() -> None:
    registry = AgentRegistry([AgentDefinition(name="researcher")])
    with pytest.raises(NotFound, match="Did you mean 'researcher'"):
        registry.record("reseacher")
    registry.register(AgentDefinition(name="boss", delegates=("writer",)))
    with pytest.raises(UsageError, match="delegates to 'writer', which is not registered"):
        registry.deploy("boss")


def test_registry_checks_tools_when_it_has_a_tool_registry(tools: ToolRegistry) -> None:
    registry = AgentRegistry(tools=tools)
    with pytest.raises(UsageError, match=r"agent 'a': unknown tool 'shuot'\. Did you mean 'shout'"):
        registry.register(AgentDefinition(name="a", required_tools=("shuot",)))
    assert "a" not in registry


def test_json_round_trip_keeps_definitions_states_and_versions() -> None:
    registry = AgentRegistry([AgentDefinition(name="a", version="1.0.0", role="r")])
    registry.register(AgentDefinition(name="a", version="2.0.0"))
    registry.deploy("a", "1.0.0")
    registry.pause("a")
    copy = AgentRegistry.from_json(registry.to_json())
    assert copy.state("a") is Lifecycle.PAUSED
    assert copy.require("a").role == "r"
    assert sorted(copy.record("a").versions) == ["1.0.0", "2.0.0"]
    assert copy.to_json() == registry.to_json()
