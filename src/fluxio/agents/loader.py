"""YAML agent definitions: one agent, a list of agents, or seed 004's ``agents:`` mapping.

```yaml
agents:
  classifier:                 # the key is the agent's name
    type: llm
    role: Classify customer messages by urgency and category
    model: {provider: openai, model: gpt-4o-mini, temperature: 0.1}
    tools: [read_file]
```

Every problem is a ``DefinitionError`` naming the file and line: YAML syntax, unknown fields
(with "did you mean"), invalid values, and, when a ``ToolRegistry`` is given, unknown tools
(with "did you mean") and tools whose ``requires``/``conflicts_with`` are not satisfied. Other
top-level sections of a project file (``triggers``, ``workflow``, ``policies``) are left to
their own loaders.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fluxio.agents.definition import AgentDefinition
from fluxio.errors import DefinitionError, UsageError
from fluxio.tools import ToolRegistry
from fluxio.yamlsource import parse_yaml

__all__ = ["load_agents"]

SUFFIXES = (".yaml", ".yml", ".json")
Loc = tuple[str | int, ...]
_TOOL_FIELDS = ("tools", "required_tools")


class _Doc:
    """A parsed file: its data and the line of every key and value (path -> 1-based line)."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.data, line_map = parse_yaml(text, file)
        self.lines: dict[Loc, int] = line_map.lines
        if self.data is None:
            raise self.fail("the file is empty; define an agent with `name:`", 1)

    def error(self, message: str, loc: Loc, suggestion: str | None = None) -> DefinitionError:
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.fail(message, self.lines.get(loc), suggestion)

    def fail(
        self, message: str, line: int | None, suggestion: str | None = None
    ) -> DefinitionError:
        return DefinitionError(message, file=self.file, line=line, suggestion=suggestion)


def load_agents(
    path_or_text: str | os.PathLike[str], *, tools: ToolRegistry | None = None
) -> list[AgentDefinition]:
    """Load the agents defined in a YAML/JSON file (or YAML text).

    A ``str`` is a path when it is one line ending in ``.yaml``, ``.yml`` or ``.json``; any
    other string is the definition itself (``<string>`` in errors).

    Args:
        path_or_text: the file, or its text.
        tools: when given, each agent's tools are checked against it.

    Raises:
        DefinitionError: the definition is invalid; the message gives file, line and a fix.
    """
    text, file = _read(path_or_text)
    doc = _Doc(text, file)
    agents = [_agent(doc, entry, loc) for entry, loc in _entries(doc)]
    if tools is not None:
        for agent, (_, loc) in zip(agents, _entries(doc), strict=True):
            _check_tools(doc, agent, loc, tools)
    return agents


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    if isinstance(path_or_text, str) and not (
        "\n" not in path_or_text and path_or_text.strip().lower().endswith(SUFFIXES)
    ):
        return path_or_text, "<string>"
    path = Path(path_or_text)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise DefinitionError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read the file: {exc}", file=str(path)) from exc


def _entries(doc: _Doc) -> list[tuple[Any, Loc]]:
    data = doc.data
    if isinstance(data, dict) and "agents" in data:
        agents = data["agents"]
        if isinstance(agents, dict):
            return [(_named(doc, v, k, ("agents", k)), ("agents", k)) for k, v in agents.items()]
        if isinstance(agents, list):
            return [(entry, ("agents", i)) for i, entry in enumerate(agents)]
        raise doc.error("`agents` must map agent names to definitions, or list them", ("agents",))
    if isinstance(data, dict):
        return [(data, ())]
    if isinstance(data, list):
        return [(entry, (i,)) for i, entry in enumerate(data)]
    raise doc.error("an agent file holds an agent (mapping), a list, or `agents:`", ())


def _named(doc: _Doc, entry: Any, name: Any, loc: Loc) -> Any:
    if not isinstance(entry, dict):
        raise doc.error(f"agent {name!r} must be a mapping of its fields", loc)
    if "name" in entry and entry["name"] != name:
        raise doc.error(
            f"agent {name!r} has `name: {entry['name']}`; under `agents:` the key is the name",
            (*loc, "name"),
            suggestion="Remove `name`, or make it equal to the key.",
        )
    return {"name": name, **entry}


def _agent(doc: _Doc, entry: Any, loc: Loc) -> AgentDefinition:
    if not isinstance(entry, dict):
        raise doc.error(f"an agent must be a mapping, not {type(entry).__name__}", loc)
    try:
        return AgentDefinition.model_validate(entry)
    except ValidationError as exc:
        raise _explain(doc, exc, loc) from None


def _explain(doc: _Doc, exc: ValidationError, loc: Loc) -> DefinitionError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in error["loc"])
    where = (*loc, *error["loc"])
    if error["type"] == "extra_forbidden":
        known = [*AgentDefinition.model_fields, "agent_id", "tools", "timeout_seconds"]
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"Did you mean `{close[0]}`?" if close else "See docs/agents.md for the fields."
        return doc.error(f"unknown agent field `{field}`", where, suggestion=hint)
    if error["type"] == "missing":
        return doc.error(f"required agent field `{field}` is missing", where)
    message = str(error["msg"]).removeprefix("Value error, ")
    subject = f"agent field `{field}`" if field else "agent"
    return doc.error(f"{subject}: {message}", where)


def _check_tools(doc: _Doc, agent: AgentDefinition, loc: Loc, tools: ToolRegistry) -> None:
    entry = doc.data if not loc else _at(doc.data, loc)
    key = next((k for k in (*_TOOL_FIELDS, "optional_tools") if k in entry), "tools")
    for i, name in enumerate(agent.required_tools):
        if tools.get(name) is None:
            field = next((k for k in _TOOL_FIELDS if k in entry), "tools")
            close = difflib.get_close_matches(name, tools.names(), n=1, cutoff=0.6)
            listing = f"Registered tools: {', '.join(tools.names()) or 'none'}."
            raise doc.error(
                f"agent {agent.name!r} uses unknown tool {name!r}",
                (*loc, field, i),
                suggestion=f"Did you mean {close[0]!r}? {listing}" if close else listing,
            )
    present = [t for t in agent.optional_tools if t in tools]
    try:
        tools.check_compatible([*agent.required_tools, *present])
    except UsageError as exc:
        raise doc.error(f"agent {agent.name!r}: {exc}", (*loc, key)) from None


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data
