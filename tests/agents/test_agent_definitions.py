"""Agent definitions: seed 000 fields, seed 004 YAML form, and clear errors at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxio.agents import AgentDefinition, load_agents
from fluxio.agents.definition import make_definition
from fluxio.errors import DefinitionError, UsageError
from fluxio.tools import ToolRegistry

SEED_004 = """\
agents:
  classifier:
    type: llm
    role: "Message classifier for customer support"
    model:
      provider: openai
      model: gpt-4
      temperature: 0.1
    memory:
      short_term:
        enabled: true
        ttl_minutes: 30
    tools: []

  responder:
    type: llm
    role: "Generate customer responses"
    model: {provider: anthropic, model: claude-3-sonnet}
    planner: {type: fsm, transitions: "response_fsm.yaml"}
    tools: [shout, add]
    policies: [no-pii]
    concurrency: 3

  approval_manager:
    type: human_task
    role: "Handle workflows requiring human approval"
    config:
      assignment_rules:
        - role: "approval_specialist"
    tools: [add]
"""

SEED_000 = """\
agent_id: triage-01
name: triager
description: Triage support tickets
version: 1.2.3
type: llm
category: support
tags: [support, triage]
capabilities: [classify_ticket]
required_tools: [shout]
optional_tools: [add, not_installed]
model: openai:gpt-4o-mini
system_prompt: You triage tickets.
temperature: 0.2
max_tokens: 500
required_context: [customer_id]
optional_context: [history]
timeout_seconds: 60
retry_policy: {max_retries: 2}
concurrency_limit: 4
approval_required: true
approval_roles: [support_lead]
audit_level: detailed
expected_latency_ms: 1200
expected_cost_per_call: 0.002
status: active
owner: support-team
"""


def test_seed_004_agents_mapping_loads_every_agent_with_its_type_role_and_settings(
    tools: ToolRegistry,
) -> None:
    agents = {a.name: a for a in load_agents(SEED_004, tools=tools)}
    assert sorted(agents) == ["approval_manager", "classifier", "responder"]
    classifier = agents["classifier"]
    assert classifier.type == "llm"
    assert classifier.temperature == 0.1
    assert classifier.model == {"provider": "openai", "model": "gpt-4"}
    assert classifier.memory == {"short_term": {"enabled": True, "ttl_minutes": 30}}
    responder = agents["responder"]
    assert responder.required_tools == ("shout", "add")
    assert responder.planner["type"] == "fsm"
    assert (responder.concurrency_limit, responder.policies) == (3, ("no-pii",))
    assert agents["approval_manager"].type == "human_task"
    assert agents["approval_manager"].config["assignment_rules"][0]["role"] == "approval_specialist"


def test_seed_000_fields_and_spellings_load(tmp_path: Path, tools: ToolRegistry) -> None:
    path = tmp_path / "triager.yaml"
    path.write_text(SEED_000)
    (agent,) = load_agents(path, tools=tools)
    assert (agent.id, agent.name, agent.version) == ("triage-01", "triager", "1.2.3")
    assert agent.timeout == 60
    assert agent.retry is not None
    assert agent.retry.max_attempts == 3
    assert agent.tools == ("shout", "add", "not_installed")
    assert agent.required_context == ("customer_id",)
    assert agent.approval_required
    assert agent.approval_roles == ("support_lead",)
    assert (agent.expected_latency_ms, agent.expected_cost) == (1200, 0.002)
    assert agent.workflow == agent.queue == "agent:triager"
    assert agent.model_name == "openai:gpt-4o-mini"


def test_python_definition_has_defaults_and_is_frozen() -> None:
    agent = AgentDefinition(name="helper")
    assert (agent.id, agent.version, agent.type, agent.status) == (
        "helper",
        "1.0.0",
        "llm",
        "active",
    )
    assert (agent.max_iterations, agent.timeout) == (10, 300.0)
    with pytest.raises(ValueError, match="frozen"):
        agent.name = "other"  # type: ignore[misc]


def test_unknown_field_names_file_line_and_suggests_the_field(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: helper\nsystem_promt: hi\n")
    with pytest.raises(DefinitionError) as info:
        load_agents(path)
    error = info.value
    assert (error.file, error.line) == (str(path), 2)
    assert "unknown agent field `system_promt`" in error.message
    assert error.suggestion is not None
    assert "`system_prompt`" in error.suggestion


def test_unknown_tool_says_did_you_mean_on_its_line(tools: ToolRegistry) -> None:
    text = "name: helper\ntools:\n  - add\n  - shuot\n"
    with pytest.raises(DefinitionError) as info:
        load_agents(text, tools=tools)
    error = info.value
    assert error.line == 4
    assert "uses unknown tool 'shuot'" in error.message
    assert error.suggestion is not None
    assert "Did you mean 'shout'?" in error.suggestion


def test_tool_requires_and_conflicts_are_checked_at_load(tools: ToolRegistry) -> None:
    registry = ToolRegistry([t for t in tools if t.name != "shout"])
    with pytest.raises(DefinitionError, match="requires tool 'shout'"):
        load_agents("name: a\ntools: [stamp]\n", tools=registry)
    with pytest.raises(DefinitionError, match="conflict") as info:
        load_agents("name: a\ntools: [shout]\noptional_tools: [erase]\n", tools=tools)
    assert info.value.line == 2


def test_invalid_values_are_explained_with_their_line() -> None:
    with pytest.raises(DefinitionError, match="not a semantic version") as info:
        load_agents("name: a\nversion: '1.2'\n")
    assert info.value.line == 2
    with pytest.raises(DefinitionError, match="type") as bad_type:
        load_agents("name: a\ntype: robot\n")
    assert bad_type.value.line == 2
    with pytest.raises(DefinitionError, match="invalid model config") as model:
        load_agents("name: a\nmodel: {provider: skynet, model: x}\n")
    assert model.value.line == 2


def test_broken_yaml_and_mismatched_names_are_refused() -> None:
    with pytest.raises(DefinitionError, match="cannot parse") as syntax:
        load_agents("name: a\ntools: [shout\n")
    assert syntax.value.line is not None
    with pytest.raises(DefinitionError, match="the key is the name"):
        load_agents("agents:\n  a:\n    name: b\n")
    with pytest.raises(DefinitionError, match="no such file"):
        load_agents("missing.yaml")


def test_inconsistent_python_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="both required and optional"):
        AgentDefinition(name="a", required_tools=("x",), optional_tools=("x",))
    with pytest.raises(ValueError, match="lists itself in delegates"):
        AgentDefinition(name="a", delegates=("a",))
    with pytest.raises(ValueError, match="not a valid JSON Schema"):
        AgentDefinition(name="a", input_schema={"type": "nope"})
    with pytest.raises(UsageError, match="is invalid"):
        make_definition({"name": "bad name"})
