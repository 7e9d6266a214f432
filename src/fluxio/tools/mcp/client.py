"""MCP servers as tool providers: each tool a server lists becomes a fluxio ``Tool`` of type mcp.

```python
provider = MCPToolProvider(MCPServerConfig(name="time", command="python",
                                           args=("-m", "mcp_server_time")))
await provider.approve()                 # first registration: pin the tool list
registry = ToolRegistry(await provider.tools())
await registry.require("time_get_current_time").invoke({"timezone": "UTC"})
```

A tool's contract comes from the server: ``input_schema`` and ``output_schema`` as listed,
``side_effects``/``idempotent`` from its annotations (a tool the server does not mark
read-only counts as having side effects, and as not idempotent unless marked so), and a
timeout covering start-up plus the call. Tools whose pin does not match are still returned,
disabled: they take any arguments, describe why they are disabled instead of the server's
(unapproved) text, and raise ``ToolUnavailable`` with how to re-approve them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import TracebackType
from typing import Any

import mcp_types

from fluxio.errors import StepFailed, ToolUnavailable, UsageError
from fluxio.tools.contract import make_contract
from fluxio.tools.mcp.config import DEFAULT_MCP_DIR, MCPServerConfig, RegisteredServers
from fluxio.tools.mcp.pinning import PinCheck, ToolFingerprint, ToolPins
from fluxio.tools.mcp.session import MCPConnection
from fluxio.tools.runtime import Tool

__all__ = ["MCPToolProvider", "registered_tools"]

log = logging.getLogger("fluxio.tools.mcp")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class MCPToolProvider:
    """One MCP server's tools, checked against the pins approved for it.

    Use it bare (each call opens its own connection) or inside ``async with provider:`` (calls
    share one session, reopened after the server dies); see ``MCPConnection``.

    Args:
        config: how to reach the server and its limits.
        pins: the approved tool fingerprints (``.fluxio/mcp/pins.json`` by default).
        server: an in-process ``MCPServer`` (or low-level ``Server``) to talk to instead of
            starting ``config.command`` or calling ``config.url``; for tests and examples.
    """

    def __init__(
        self, config: MCPServerConfig, *, pins: ToolPins | None = None, server: Any = None
    ) -> None:
        self.config = config
        self.pins = pins or ToolPins()
        self.connection = MCPConnection(config, server=server)

    async def __aenter__(self) -> MCPToolProvider:
        await self.connection.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.connection.__aexit__(exc_type, exc, tb)

    async def check(self) -> PinCheck:
        """Connect, list the server's tools and compare them with the pins."""
        live = await self.connection.list_tools()
        return self.pins.check(self.config.name, [ToolFingerprint.of_tool(t) for t in live])

    async def approve(self, tool: str | None = None) -> list[str]:
        """Pin what the server lists now: every tool, or only ``tool`` (its server-side name).

        Returns:
            The names of the tools approved.
        """
        live = await self.connection.list_tools()
        fingerprints = [ToolFingerprint.of_tool(t) for t in live]
        return self.pins.approve(self.config.name, fingerprints, tool)

    async def tools(self) -> list[Tool]:
        """The server's tools as fluxio tools: approved ones enabled, the others disabled."""
        live = await self.connection.list_tools()
        check = self.pins.check(self.config.name, [ToolFingerprint.of_tool(t) for t in live])
        if check.removed:
            log.info("MCP server %s no longer lists %s", self.config.name, ", ".join(check.removed))
        return [self._tool(t, check.reason(t.name)) for t in live]

    def tool_name(self, remote: str) -> str:
        """The fluxio name of the server's tool ``remote``: the prefix plus a safe form of it."""
        return _UNSAFE.sub("_", f"{self.config.tool_prefix}{remote}")[:128]

    def _tool(self, listed: mcp_types.Tool, disabled: str | None) -> Tool:
        name = self.tool_name(listed.name)
        if disabled is not None:
            return self._disabled(name, listed.name, disabled)
        try:
            contract = make_contract(self._contract_fields(name, listed))
        except UsageError as exc:
            return self._disabled(name, listed.name, f"its schema is unusable ({exc})")
        connection, remote = self.connection, listed.name

        async def call(**arguments: Any) -> Any:
            return await connection.call_tool(remote, arguments)

        return Tool(contract=contract, fn=call)

    def _contract_fields(self, name: str, listed: mcp_types.Tool) -> dict[str, Any]:
        hints = listed.annotations or mcp_types.ToolAnnotations()
        read_only = bool(hints.read_only_hint)
        config = self.config
        return {
            "name": name,
            "description": listed.description or listed.title or "",
            "type": "mcp",
            "category": "mcp",
            "tags": ("mcp", config.name),
            "input_schema": dict(listed.input_schema),
            "output_schema": dict(listed.output_schema) if listed.output_schema else None,
            "timeout": config.startup_timeout + config.timeout + 10.0,
            "side_effects": not read_only,
            "idempotent": read_only or bool(hints.idempotent_hint),
        }

    def _disabled(self, name: str, remote: str, reason: str) -> Tool:
        message = (
            f"MCP tool {name!r} (tool {remote!r} of server {self.config.name!r}) is disabled: "
            f"{reason}"
        )
        contract = make_contract(
            {
                "name": name,
                "description": f"Disabled until approved: {reason}",
                "type": "mcp",
                "category": "mcp",
                "tags": ("mcp", self.config.name, "disabled"),
                "input_schema": {"type": "object"},
                "status": "draft",
            }
        )

        async def refuse(**arguments: Any) -> Any:
            raise ToolUnavailable(message)

        return Tool(contract=contract, fn=refuse)


async def registered_tools(directory: Path = DEFAULT_MCP_DIR) -> list[Tool]:
    """The tools of every MCP server registered in ``directory`` (connects to each in turn).

    A server that cannot be reached is left out with a warning on the ``fluxio.tools.mcp``
    logger, so one stopped server does not take the others' tools with it.
    """
    pins = ToolPins(directory)
    found: list[Tool] = []
    for config in RegisteredServers(directory).all().values():
        try:
            found.extend(await MCPToolProvider(config, pins=pins).tools())
        except StepFailed as exc:
            log.warning("MCP server %s is left out: %s", config.name, exc)
    return found
