"""Which MCP servers a workspace uses: their launch settings, kept in ``servers.json``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from mcp.client.stdio import get_default_environment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fluxio.errors import NotFound, UsageError

__all__ = ["DEFAULT_MCP_DIR", "MCPServerConfig", "RegisteredServers", "read_json", "write_json"]

DEFAULT_MCP_DIR = Path(".fluxio") / "mcp"
"""Where a workspace keeps ``servers.json`` and ``pins.json`` unless told otherwise."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


class MCPServerConfig(BaseModel):
    """How to reach one MCP server, and the limits fluxio applies to it.

    Give one of ``command`` (a local process speaking stdio) or ``url`` (streamable HTTP);
    neither only when the connection is handed an in-process server.

    Attributes:
        name: the server's name in this workspace; tool names start with ``prefix``.
        command: the program to start (stdio transport).
        args: its arguments.
        env: extra environment variables; a ``None`` value passes the variable through from
            the environment of the process that starts the server.
        cwd: the working directory of the server process.
        url: the server's streamable-HTTP endpoint (for example ``http://127.0.0.1:8000/mcp``).
        headers: HTTP headers sent with every request (for example an ``Authorization``).
        prefix: put before each tool name; defaults to ``"<name>_"``.
        timeout: seconds one tool call may take.
        startup_timeout: seconds to start (or reach) the server and finish the handshake.
        max_output_bytes: the largest result a tool may return; larger answers fail the call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str | None] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    prefix: str | None = None
    timeout: float = Field(default=60.0, gt=0)
    startup_timeout: float = Field(default=30.0, gt=0)
    max_output_bytes: int = Field(default=1_000_000, gt=0)

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a usable server name: use a letter followed by up to 39 "
                "letters, digits, '_' or '-' (it becomes the prefix of tool names)"
            )
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerConfig:
        if self.command is not None and self.url is not None:
            raise ValueError(
                "give one of command (a stdio server) or url (an HTTP server), not both"
            )
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self

    @property
    def tool_prefix(self) -> str:
        """What goes before each of this server's tool names."""
        return f"{self.name}_" if self.prefix is None else self.prefix

    @property
    def transport(self) -> str:
        """``stdio``, ``http``, or ``in-process`` when neither command nor url is set."""
        if self.command is not None:
            return "stdio"
        return "http" if self.url is not None else "in-process"

    @property
    def target(self) -> str:
        """The command line or URL, for tables and messages."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return self.url or "an in-process server"

    def launch_env(self) -> dict[str, str]:
        """The environment the server process starts with: a safe base plus ``env``."""
        env = get_default_environment()
        for key, value in self.env.items():
            passed = os.environ.get(key) if value is None else value
            if passed is not None:
                env[key] = passed
        return env

    @classmethod
    def parse(cls, data: Any, *, source: str = "the MCP server settings") -> MCPServerConfig:
        """Validate settings from JSON or keyword data.

        Raises:
            UsageError: a field is missing or invalid; the message names it.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in exc.errors()
            )
            raise UsageError(f"{source} are invalid: {problems}") from exc


class RegisteredServers:
    """The MCP servers registered in a workspace, stored in ``<dir>/servers.json``.

    Args:
        directory: the workspace's MCP directory (``.fluxio/mcp`` by default).
    """

    def __init__(self, directory: Path = DEFAULT_MCP_DIR) -> None:
        self.path = directory / "servers.json"

    def all(self) -> dict[str, MCPServerConfig]:
        """Every registered server by name."""
        data = read_json(self.path, "servers")
        return {
            name: MCPServerConfig.parse(entry, source=f"server {name!r} in {self.path}")
            for name, entry in sorted(data.items())
        }

    def get(self, name: str) -> MCPServerConfig:
        """One server's settings.

        Raises:
            NotFound: no server of that name is registered.
        """
        servers = self.all()
        if name not in servers:
            known = ", ".join(servers) or "none"
            raise NotFound(
                f"no MCP server named {name!r} is registered in {self.path} (registered: "
                f"{known}); add it with `fluxio mcp add {name} --command ...` or `--url ...`"
            )
        return servers[name]

    def save(self, config: MCPServerConfig) -> None:
        """Add or replace one server's settings."""
        servers = {**self.all(), config.name: config}
        self._write(servers)

    def remove(self, name: str) -> None:
        """Forget one server.

        Raises:
            NotFound: no server of that name is registered.
        """
        self.get(name)
        self._write({n: c for n, c in self.all().items() if n != name})

    def _write(self, servers: dict[str, MCPServerConfig]) -> None:
        entries = {n: c.model_dump(mode="json", exclude_defaults=True) for n, c in servers.items()}
        write_json(self.path, {"version": 1, "servers": entries})


def read_json(path: Path, section: str) -> dict[str, Any]:
    """The ``section`` mapping of a fluxio JSON file; empty when the file does not exist.

    Raises:
        UsageError: the file is unreadable or not in the expected shape.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        value = data[section]
        if not isinstance(value, dict):
            raise TypeError(f"{section!r} is not an object")
        return value
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path} is unreadable ({exc}); fix or delete it, then register the MCP servers "
            "again with `fluxio mcp add`"
        ) from exc


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` atomically (write a temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
