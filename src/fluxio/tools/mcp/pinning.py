"""The tool-list pin: what a person approved of each MCP server, so later changes are caught.

A server's tool descriptions are read by models, and a server can change them at any launch
(a "rug pull": an approved tool that later asks the model to leak data). So fluxio hashes each
tool's name, description and input schema when the server is registered, stores the hashes in
``pins.json`` (``.fluxio/mcp/`` by default, not the run database), and on every later connection:

- a tool whose hash still matches is enabled;
- a tool whose description or input schema changed is disabled until re-approved with
  ``fluxio mcp approve SERVER TOOL``;
- a tool the server did not list at approval is disabled until approved the same way;
- a tool the server no longer lists is simply gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types

from fluxio.errors import NotFound, UsageError
from fluxio.tools.mcp.config import DEFAULT_MCP_DIR, read_json, write_json

__all__ = ["PinCheck", "ToolFingerprint", "ToolPins"]


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ToolFingerprint:
    """The approved-or-not identity of one MCP tool: name, description, input schema, digest."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    digest: str

    @classmethod
    def of(
        cls, name: str, description: str | None, input_schema: Mapping[str, Any]
    ) -> ToolFingerprint:
        """The fingerprint of a tool as a server lists it."""
        text = description or ""
        body = {"name": name, "description": text, "input_schema": dict(input_schema)}
        digest = "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()
        return cls(name, text, dict(input_schema), digest)

    @classmethod
    def of_tool(cls, tool: mcp_types.Tool) -> ToolFingerprint:
        """The fingerprint of an ``mcp.types.Tool``."""
        return cls.of(tool.name, tool.description, tool.input_schema)

    def change_from(self, pinned: ToolFingerprint) -> str:
        """What differs from the pinned version, in words (``""`` when nothing does)."""
        parts = []
        if self.description != pinned.description:
            parts.append("description")
        if _canonical(self.input_schema) != _canonical(pinned.input_schema):
            parts.append("input schema")
        return " and ".join(parts)


@dataclass(frozen=True)
class PinCheck:
    """How a server's live tool list compares with its pins.

    Attributes:
        server: the server's name.
        approved: tools that match their pins (enabled).
        changed: tool -> what changed (``"description"``, ``"input schema"`` or both).
        new: tools that were never approved.
        removed: pinned tools the server no longer lists.
    """

    server: str
    approved: tuple[str, ...] = ()
    changed: Mapping[str, str] = field(default_factory=dict)
    new: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def disabled(self) -> tuple[str, ...]:
        """Tools listed by the server but not enabled (changed or new), sorted."""
        return tuple(sorted([*self.changed, *self.new]))

    def reason(self, tool: str) -> str | None:
        """Why ``tool`` is disabled, with how to re-approve it; ``None`` if it is enabled."""
        approve = f"`fluxio mcp approve {self.server} {tool}`"
        if tool in self.changed:
            return (
                f"its {self.changed[tool]} changed since it was approved; review the change "
                f"(`fluxio mcp list`), then re-approve it with {approve}"
            )
        if tool in self.new:
            return (
                f"server {self.server!r} did not list it when its tools were approved; "
                f"review it, then approve it with {approve}"
            )
        return None


class ToolPins:
    """The approved fingerprints of every registered server's tools, kept in ``pins.json``.

    Args:
        directory: where ``pins.json`` lives (``.fluxio/mcp`` by default).
    """

    def __init__(self, directory: Path = DEFAULT_MCP_DIR) -> None:
        self.path = directory / "pins.json"

    def pinned(self, server: str) -> dict[str, ToolFingerprint]:
        """The approved fingerprints of ``server``'s tools by tool name."""
        entry = read_json(self.path, "servers").get(server, {})
        try:
            return {
                name: ToolFingerprint(name, pin["description"], pin["input_schema"], pin["digest"])
                for name, pin in entry.get("tools", {}).items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise UsageError(
                f"the pins of MCP server {server!r} in {self.path} are damaged ({exc!r}); "
                f"re-approve its tools with `fluxio mcp approve {server}`"
            ) from exc

    def check(self, server: str, live: Iterable[ToolFingerprint]) -> PinCheck:
        """Compare what ``server`` lists now with what was approved."""
        pins = self.pinned(server)
        approved, new, changed = [], [], {}
        listed = set()
        for tool in live:
            listed.add(tool.name)
            pin = pins.get(tool.name)
            if pin is None:
                new.append(tool.name)
            elif pin.digest == tool.digest:
                approved.append(tool.name)
            else:
                changed[tool.name] = tool.change_from(pin) or "definition"
        removed = sorted(set(pins) - listed)
        return PinCheck(
            server, tuple(sorted(approved)), changed, tuple(sorted(new)), tuple(removed)
        )

    def approve(
        self, server: str, live: Iterable[ToolFingerprint], tool: str | None = None
    ) -> list[str]:
        """Pin ``server``'s live tools (or only ``tool``) as approved; return the names pinned.

        Approving the whole server also forgets the pins of tools it no longer lists.

        Raises:
            NotFound: ``tool`` is not among the server's live tools.
        """
        tools = {t.name: t for t in live}
        if tool is not None and tool not in tools:
            listed = ", ".join(sorted(tools)) or "no tools"
            raise NotFound(
                f"MCP server {server!r} does not list a tool named {tool!r} (it lists: {listed})"
            )
        chosen = [tools[tool]] if tool is not None else list(tools.values())
        pins = {} if tool is None else self.pinned(server)
        pins.update({t.name: t for t in chosen})
        self._store(server, pins)
        return sorted(t.name for t in chosen)

    def forget(self, server: str) -> None:
        """Drop every pin of ``server``."""
        servers = read_json(self.path, "servers")
        if servers.pop(server, None) is not None:
            write_json(self.path, {"version": 1, "servers": servers})

    def digest(self, server: str) -> str | None:
        """One hash over all of ``server``'s pins (``None`` when nothing is pinned)."""
        pins = self.pinned(server)
        if not pins:
            return None
        lines = "\n".join(f"{name} {pins[name].digest}" for name in sorted(pins))
        return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()

    def _store(self, server: str, pins: Mapping[str, ToolFingerprint]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        servers = read_json(self.path, "servers")
        old = servers.get(server, {}).get("tools", {})
        servers[server] = {
            "tools": {
                name: {
                    "digest": pin.digest,
                    "description": pin.description,
                    "input_schema": pin.input_schema,
                    "approved_at": _approved_at(old.get(name), pin, now),
                }
                for name, pin in sorted(pins.items())
            }
        }
        write_json(self.path, {"version": 1, "servers": servers})


def _approved_at(old: Any, pin: ToolFingerprint, now: str) -> str:
    """Keep the original approval time for a pin that did not change."""
    if isinstance(old, dict) and old.get("digest") == pin.digest and "approved_at" in old:
        return str(old["approved_at"])
    return now
