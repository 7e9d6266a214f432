"""Fixtures for the MCP tests: the npm reference servers, processes, the sample HTTP server.

The npm reference servers are installed once into ``<repo>/.cache/mcp-npm`` (or
``$FLUXIO_MCP_NPM_DIR``) and reused by later runs; ``.cache/`` ignores itself in git.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp_support import REPO, SAMPLE, Launch, free_port, sample_config, wait_for_port

from fluxio.tools.mcp import MCPToolProvider, ToolPins

NPM_PACKAGES = {
    "@modelcontextprotocol/server-everything": "2026.8.31",
    "@modelcontextprotocol/server-filesystem": "2026.8.31",
}


@pytest.fixture(scope="session")
def npm_servers() -> Path:
    """The ``node_modules/.bin`` folder holding the npm reference servers (installed once)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed for the npm reference MCP servers")
    prefix = Path(os.environ.get("FLUXIO_MCP_NPM_DIR", REPO / ".cache" / "mcp-npm"))
    bin_dir = prefix / "node_modules" / ".bin"
    stamp = prefix / "fluxio-installed.json"
    if stamp.exists() and json.loads(stamp.read_text()) == NPM_PACKAGES:
        return bin_dir
    prefix.mkdir(parents=True, exist_ok=True)
    ignore = prefix.parent / ".gitignore"
    if prefix.parent.name == ".cache" and not ignore.exists():
        ignore.write_text("*\n")
    started = time.monotonic()
    specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            *specs,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
    stamp.write_text(json.dumps(NPM_PACKAGES))
    sys.stderr.write(f"\ninstalled npm MCP servers in {time.monotonic() - started:.1f}s\n")
    return bin_dir


@pytest.fixture
def processes() -> Iterator[Launch]:
    """Start processes that are terminated (then killed) and reaped at teardown."""
    started: list[subprocess.Popen[str]] = []

    def launch(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            list(args),
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield launch
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.communicate()


@pytest.fixture
def sample_http(processes: Launch) -> str:
    """The sample server on streamable HTTP; its endpoint URL."""
    port = free_port()
    proc = processes(sys.executable, str(SAMPLE), "--port", str(port))
    wait_for_port(port, proc)
    return f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="session")
def v1_pins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``pins.json`` approving the sample server's v1 tool list (made once, copy it)."""
    folder = tmp_path_factory.mktemp("v1-pins")
    anyio.run(MCPToolProvider(sample_config("v1"), pins=ToolPins(folder)).approve)
    return folder / "pins.json"
