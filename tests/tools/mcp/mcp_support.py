"""Helpers shared by the MCP tests (a uniquely named module: conftest names collide)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fluxio.tools.mcp import MCPServerConfig

HERE = Path(__file__).parent
SAMPLE = HERE / "servers" / "sample_server.py"
REPO = Path(__file__).resolve().parents[3]

Launch = Callable[..., subprocess.Popen[str]]


def sample_config(variant: str = "v1", **fields: object) -> MCPServerConfig:
    """The sample server over stdio, launched as ``variant`` (see servers/sample_server.py)."""
    return MCPServerConfig.parse(
        {
            "name": "sample",
            "command": sys.executable,
            "args": [str(SAMPLE)],
            "env": {"SAMPLE_VARIANT": variant},
            **fields,
        }
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"server exited with {proc.returncode}:\n{out}\n{err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port} within {timeout}s")
