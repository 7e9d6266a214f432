"""``ToolRegistry``: the tools an engine, agent or workflow may call, by name and version.

Several versions of one tool live side by side; ``get(name)`` answers the newest active one.
Discovery searches by capability, category, tags and free text. ``check_compatible`` enforces
the contracts' ``requires`` and ``conflicts_with`` when a workflow or agent is loaded.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Unpack, overload

from fluxio.errors import ToolUnavailable, UsageError
from fluxio.tools.contract import semver_key
from fluxio.tools.decorator import ToolOptions, tool
from fluxio.tools.runtime import Tool

__all__ = ["ToolRegistry"]


class ToolRegistry:
    """The tools one engine, agent or test may call; an ordinary object, build one per use.

    Example:
        >>> registry = ToolRegistry()
        >>> shout = registry.register("shout", lambda text: text.upper())
        >>> registry.names()
        ['shout']
    """

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, dict[str, Tool]] = {}
        for item in tools:
            self.register(item)

    @overload
    def register(self, tool_or_name: Tool, /) -> Tool: ...

    @overload
    def register(
        self, tool_or_name: str, fn: Callable[..., Any], /, **options: Unpack[ToolOptions]
    ) -> Tool: ...

    def register(
        self,
        tool_or_name: Tool | str,
        fn: Callable[..., Any] | None = None,
        /,
        **options: Unpack[ToolOptions],
    ) -> Tool:
        """Add a tool: ``register(tool)``, or ``register(name, fn, **contract_fields)``.

        The second form builds the tool with ``@tool`` (``side_effects``, ``idempotent``,
        ``timeout``, ``description``... as keyword arguments).

        Raises:
            UsageError: this name and version are already registered, or the tool is invalid.
        """
        if isinstance(tool_or_name, Tool):
            item = tool_or_name
        elif isinstance(tool_or_name, str) and fn is not None:
            named: ToolOptions = {**options, "name": tool_or_name}
            item = tool(fn, **named)
        else:
            raise UsageError(
                f"register() takes a Tool, or a name and a callable; got {tool_or_name!r}"
            )
        versions = self._tools.setdefault(item.name, {})
        if item.version in versions:
            raise UsageError(
                f"tool {item.name!r} version {item.version} is already registered; give the new "
                "one another version, or use a separate registry"
            )
        versions[item.version] = item
        return item

    def get(self, name: str, version: str | None = None) -> Tool | None:
        """The tool ``name`` (newest active version, or exactly ``version``), or ``None``."""
        versions = self._tools.get(name)
        if not versions:
            return None
        if version is not None:
            return versions.get(version)
        ordered = sorted(versions.values(), key=lambda t: semver_key(t.version), reverse=True)
        return next((t for t in ordered if t.contract.effective_status() == "active"), ordered[0])

    def require(self, name: str, version: str | None = None) -> Tool:
        """Like ``get``, but an unknown name or version raises ``ToolUnavailable``."""
        found = self.get(name, version)
        if found is not None:
            return found
        if version is not None and name in self._tools:
            known = ", ".join(sorted(self._tools[name], key=semver_key))
            raise ToolUnavailable(f"tool {name!r} has no version {version}; registered: {known}")
        raise ToolUnavailable(f"unknown tool {name!r}. {self._hint(name)}")

    def versions(self, name: str) -> list[Tool]:
        """Every registered version of ``name``, oldest first."""
        return sorted(self._tools.get(name, {}).values(), key=lambda t: semver_key(t.version))

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        return sorted(self._tools)

    def list(self, *, all_versions: bool = False) -> list[Tool]:
        """The current version of each tool (or every version), sorted by name."""
        if all_versions:
            return [t for name in self.names() for t in self.versions(name)]
        return [t for name in self.names() if (t := self.get(name)) is not None]

    def search(
        self,
        text: str | None = None,
        *,
        category: str | None = None,
        tags: Iterable[str] = (),
        capability: str | None = None,
    ) -> builtins.list[Tool]:
        """Current tools matching every criterion given; free text matches words anywhere.

        Args:
            text: words that must all appear in the name, description, category, tags or
                capabilities (case-insensitive); tools whose name matches come first.
            category: exact category.
            tags: tags the tool must all carry.
            capability: a capability the tool must declare.
        """
        wanted_tags = set(tags)
        words = (text or "").lower().split()
        found = []
        for item in self.list():
            contract = item.contract
            if category is not None and contract.category != category:
                continue
            if not wanted_tags <= set(contract.tags):
                continue
            if capability is not None and capability not in contract.capabilities:
                continue
            if all(word in _haystack(item) for word in words):
                found.append(item)
        return sorted(found, key=lambda t: not any(w in t.name.lower() for w in words))

    def schema(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The tool's interface: ``{"name", "version", "input_schema", "output_schema"}``."""
        item = self.require(name, version)
        return {
            "name": item.name,
            "version": item.version,
            "input_schema": item.contract.input_schema,
            "output_schema": item.contract.output_schema,
        }

    def check_compatible(self, names: Iterable[str]) -> None:
        """Check that tools used together satisfy their ``requires`` and ``conflicts_with``.

        Workflows and agents call this when they are loaded, with the tool names they use.

        Raises:
            UsageError: a name is unknown, a required tool is not registered, or two of the
                tools conflict (the message names the pair).
        """
        chosen = list(dict.fromkeys(names))
        tools = {}
        for name in chosen:
            found = self.get(name)
            if found is None:
                raise UsageError(f"unknown tool {name!r}. {self._hint(name)}")
            tools[name] = found
        ids = {name: {name, t.contract.id} for name, t in tools.items()}
        for name, item in tools.items():
            for needed in item.contract.requires:
                if not self._knows(needed):
                    raise UsageError(
                        f"tool {name!r} requires tool {needed!r}, which is not registered; "
                        f"register {needed!r} or stop using {name!r}"
                    )
            for other, other_ids in ids.items():
                if other != name and set(item.contract.conflicts_with) & other_ids:
                    raise UsageError(
                        f"tools {name!r} and {other!r} conflict and cannot be used together "
                        f"({name!r} lists {other!r} in conflicts_with); drop one of them"
                    )

    def _knows(self, name_or_id: str) -> bool:
        if self.get(name_or_id) is not None:
            return True
        return any(t.contract.id == name_or_id for t in self.list(all_versions=True))

    def _hint(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        listing = f"Registered tools: {', '.join(known)}." if known else "No tools are registered."
        return f"Did you mean {close[0]!r}? {listing}" if close else listing

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._tools)


def _haystack(item: Tool) -> str:
    contract = item.contract
    parts = [contract.name, contract.description, contract.category]
    return " ".join([*parts, *contract.tags, *contract.capabilities]).lower()
