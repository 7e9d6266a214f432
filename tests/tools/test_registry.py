"""ToolRegistry: versions side by side, discovery, compatibility, and YAML workflow steps."""

from __future__ import annotations

from typing import Any

import pytest

from fluxio import Engine
from fluxio.definitions import load_workflow
from fluxio.errors import DefinitionError, ToolUnavailable, UsageError
from fluxio.store.memory import MemoryStore
from fluxio.tools import Tool, ToolContract, ToolRegistry, tool

pytestmark = pytest.mark.anyio


def _tool(name: str, version: str = "1.0.0", **fields: Any) -> Tool:
    async def body(**arguments: Any) -> Any:
        return {"tool": name, "version": version, **arguments}

    return Tool(ToolContract.model_validate({"name": name, "version": version, **fields}), body)


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(
        [
            _tool(
                "send_email",
                category="messaging",
                tags=("email", "notify"),
                capabilities=("send_email",),
                description="Send one email message",
                side_effects=True,
                idempotent=False,
            ),
            _tool("send_sms", category="messaging", tags=("notify",), description="Text a phone"),
            _tool(
                "read_file",
                category="files",
                capabilities=("read_file",),
                description="Read a text file from the workspace",
            ),
            _tool("parse_document", category="text", description="Parse email or web documents"),
        ]
    )


async def test_versions_live_side_by_side_and_get_answers_the_newest_active() -> None:
    registry = ToolRegistry()
    registry.register(_tool("fetch", "1.2.0"))
    registry.register(_tool("fetch", "1.10.0"))
    registry.register(_tool("fetch", "2.0.0", status="deprecated"))
    registry.register(_tool("fetch", "3.0.0-beta.1", status="draft"))
    current = registry.get("fetch")
    assert current is not None
    assert current.version == "1.10.0"
    pinned = registry.get("fetch", "1.2.0")
    assert pinned is not None
    assert await pinned.invoke({}) == {"tool": "fetch", "version": "1.2.0"}
    assert [t.version for t in registry.versions("fetch")] == [
        "1.2.0",
        "1.10.0",
        "2.0.0",
        "3.0.0-beta.1",
    ]
    assert registry.get("fetch", "9.9.9") is None
    assert registry.get("nope") is None


def test_without_an_active_version_get_answers_the_newest_of_any_status() -> None:
    registry = ToolRegistry(
        [_tool("old", "1.0.0", status="retired"), _tool("old", "1.1.0", status="deprecated")]
    )
    found = registry.get("old")
    assert found is not None
    assert found.version == "1.1.0"


def test_duplicate_name_and_version_is_refused() -> None:
    registry = ToolRegistry([_tool("fetch")])
    with pytest.raises(UsageError, match=r"'fetch' version 1.0.0 is already registered"):
        registry.register(_tool("fetch"))


def test_register_a_plain_callable_by_name_with_contract_fields() -> None:
    registry = ToolRegistry()
    made = registry.register("shout", lambda text: text.upper(), side_effects=True, timeout=2)
    assert registry.get("shout") is made
    assert (made.contract.side_effects, made.contract.timeout) == (True, 2)
    with pytest.raises(UsageError, match="takes a Tool, or a name and a callable"):
        registry.register("lonely")  # type: ignore[call-overload]


def test_require_explains_unknown_names_and_versions(registry: ToolRegistry) -> None:
    with pytest.raises(
        ToolUnavailable, match=r"unknown tool 'send_emial'. Did you mean 'send_email'"
    ):
        registry.require("send_emial")
    with pytest.raises(
        ToolUnavailable, match=r"'read_file' has no version 2.0.0; registered: 1.0.0"
    ):
        registry.require("read_file", "2.0.0")


def test_list_is_sorted_and_one_per_name(registry: ToolRegistry) -> None:
    registry.register(_tool("read_file", "1.1.0"))
    assert [t.name for t in registry.list()] == [
        "parse_document",
        "read_file",
        "send_email",
        "send_sms",
    ]
    assert len(registry.list(all_versions=True)) == 5
    assert len(registry) == 4
    assert "read_file" in registry


def test_search_by_category_tags_capability_and_text(registry: ToolRegistry) -> None:
    def names(found: list[Tool]) -> list[str]:
        return [t.name for t in found]

    assert names(registry.search(category="messaging")) == ["send_email", "send_sms"]
    assert names(registry.search(tags=["notify"])) == ["send_email", "send_sms"]
    assert names(registry.search(tags=["notify", "email"])) == ["send_email"]
    assert names(registry.search(capability="read_file")) == ["read_file"]
    # Every word must match; tools whose name matches rank first.
    assert names(registry.search("email")) == ["send_email", "parse_document"]
    assert names(registry.search("EMAIL message")) == ["send_email"]
    assert names(registry.search("email", category="text")) == ["parse_document"]
    assert registry.search("fax") == []


def test_schema_gives_the_interface(registry: ToolRegistry) -> None:
    schema = registry.schema("read_file")
    assert schema == {
        "name": "read_file",
        "version": "1.0.0",
        "input_schema": {"type": "object", "properties": {}},
        "output_schema": None,
    }


def test_check_compatible_names_the_conflicting_pair() -> None:
    registry = ToolRegistry(
        [
            _tool("write_file", conflicts_with=("read_only_mode",)),
            _tool("read_only_mode"),
            _tool("read_file"),
        ]
    )
    registry.check_compatible(["write_file", "read_file"])
    with pytest.raises(UsageError, match="tools 'write_file' and 'read_only_mode' conflict"):
        registry.check_compatible(["read_file", "write_file", "read_only_mode"])


def test_check_compatible_requires_registered_tools() -> None:
    registry = ToolRegistry([_tool("summarize", requires=("chunk_content",))])
    with pytest.raises(UsageError, match="'summarize' requires tool 'chunk_content', which is not"):
        registry.check_compatible(["summarize"])
    registry.register(_tool("chunker", id="chunk_content"))
    registry.check_compatible(["summarize"])  # satisfied by the tool whose id it names
    with pytest.raises(UsageError, match="unknown tool 'nope'"):
        registry.check_compatible(["nope"])


# -- YAML workflow steps resolve through the registry -----------------------------------

WORKFLOW = """
name: notify
steps:
  - id: send
    type: tool
    tool: send_email
    inputs:
      to: input.to
"""


async def test_yaml_tool_steps_resolve_to_the_tool_and_get_its_step_options() -> None:
    calls: list[dict[str, Any]] = []

    @tool(side_effects=True, idempotent=False, timeout=7.0, version="2.0.0")
    def send_email(to: str) -> dict[str, Any]:
        """Send an email."""
        calls.append({"to": to})
        return {"sent": to}

    registry = ToolRegistry([_tool("send_email", "1.0.0"), send_email])
    workflow = load_workflow(WORKFLOW, tools=registry)
    step = workflow.plan.step("send")
    assert step.tool is send_email
    assert step.options is not None
    assert (step.options.timeout, step.options.needs_intent) == (7.0, True)
    assert step.options.metadata["kind"] == "tool"
    assert step.options.metadata["tool_contract"] is send_email.contract
    engine = Engine(MemoryStore(), workflows={"notify": workflow})
    await engine.run("notify", {"to": "a@b.c"})
    assert calls == [{"to": "a@b.c"}]


def test_yaml_steps_are_checked_against_the_tools_signature() -> None:
    @tool
    def send_email(to: str) -> str:
        return to

    text = WORKFLOW.replace("to: input.to", "recipient: input.to")
    with pytest.raises(DefinitionError, match="passes input 'recipient', which tool 'send_email'"):
        load_workflow(text, tools=ToolRegistry([send_email]))
