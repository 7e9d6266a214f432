"""MCP interoperability: MCP servers as fluxio tool providers, and fluxio tools served over MCP.

Needs the ``mcp`` extra (``pip install 'fluxio[mcp]'``). See docs/mcp.md.
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is installed in development
    raise ImportError("fluxio.tools.mcp needs the MCP SDK: pip install 'fluxio[mcp]'") from exc

from fluxio.tools.mcp.client import MCPToolProvider, registered_tools
from fluxio.tools.mcp.config import DEFAULT_MCP_DIR, MCPServerConfig, RegisteredServers
from fluxio.tools.mcp.pinning import PinCheck, ToolFingerprint, ToolPins
from fluxio.tools.mcp.server import WorkflowEndpoints, build_server, serve_http, serve_stdio
from fluxio.tools.mcp.session import MCPConnection

__all__ = [
    "DEFAULT_MCP_DIR",
    "MCPConnection",
    "MCPServerConfig",
    "MCPToolProvider",
    "PinCheck",
    "RegisteredServers",
    "ToolFingerprint",
    "ToolPins",
    "WorkflowEndpoints",
    "build_server",
    "registered_tools",
    "serve_http",
    "serve_stdio",
]
