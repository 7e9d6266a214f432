"""Talking to one MCP server: connect, list tools, call one, and say clearly what went wrong.

Two ways to hold the connection (see docs/mcp.md, "Connections"):

- bare: every call opens its own connection (for a stdio server, starts the process) and
  closes it after the answer. Nothing to manage and nothing to leak; a stdio server costs its
  start-up time on every call.
- held: inside ``async with connection:`` calls share one session. When the server dies, the
  call in flight fails with a retryable ``StepFailed`` and the next call opens a new session.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc
import httpx2
import mcp_types
from mcp import Client
from mcp.client import Transport
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
from pydantic import ValidationError

from fluxio.errors import StepFailed, StepTimeout, ToolUnavailable, UsageError
from fluxio.tools.mcp.config import MCPServerConfig
from fluxio.tools.mcp.results import too_large, tool_value
from fluxio.tools.mcp.transport import ConnectionWatch, http_transport, stdio_transport

__all__ = ["MCPConnection"]

log = logging.getLogger("fluxio.tools.mcp")
_T = TypeVar("_T")

_SLACK = 5.0
"""Seconds past the call timeout before fluxio stops waiting even for the SDK's own timeout."""


@dataclass
class _Live:
    client: Client
    watch: ConnectionWatch
    done: anyio.Event = field(default_factory=anyio.Event)


class MCPConnection:
    """Lists and calls the tools of one MCP server, within the limits of its settings.

    Args:
        config: how to reach the server, its timeouts and output cap.
        server: an in-process ``MCPServer`` or low-level ``Server`` to talk to instead of
            ``config.command``/``config.url`` (no byte cap applies in-process).

    Raises:
        UsageError: the config names no command or url and no ``server`` is given.
    """

    def __init__(self, config: MCPServerConfig, *, server: Any = None) -> None:
        if server is None and config.transport == "in-process":
            raise UsageError(
                f"MCP server {config.name!r} has neither a command nor a url; give one"
            )
        self.config = config
        self._server = server
        self._tg: anyio.abc.TaskGroup | None = None
        self._live: _Live | None = None
        self._lock = anyio.Lock()

    async def __aenter__(self) -> MCPConnection:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        if self._live is not None:
            self._live.done.set()
            self._live = None
        if tg is not None:
            await tg.__aexit__(exc_type, exc, tb)

    async def list_tools(self) -> list[mcp_types.Tool]:
        """The server's tools, every page of them.

        Raises:
            StepFailed: the server cannot be started or reached, or failed to answer.
        """
        async with self._session("listing tools") as live:
            return await self._guarded(live, "listing tools", self._all_tools(live.client))

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Call ``tool`` (its name on the server) and return its value (see ``results``).

        Raises:
            StepFailed: retryable when the server died or could not be reached; not retryable
                when it reported an error, refused the call, or answered with too much output.
            StepTimeout: no answer within the server's ``timeout``.
        """
        what = f"calling tool {tool!r}"
        async with self._session(what) as live:
            call = live.client.call_tool(tool, arguments, read_timeout_seconds=self.config.timeout)
            result = await self._guarded(live, what, call)
        return tool_value(
            result, server=self.config.name, tool=tool, limit=self.config.max_output_bytes
        )

    async def _all_tools(self, client: Client) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(1000):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def _guarded(self, live: _Live, what: str, request: Awaitable[_T]) -> _T:
        """Await ``request`` within the call timeout, mapping failures to ``StepFailed``."""
        try:
            with anyio.fail_after(self.config.timeout + _SLACK):
                return await request
        except TimeoutError:
            raise self._timeout(what) from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                live.done.set()
                await _settle(live.watch)
            raise self._failure(exc, live.watch, what) from exc

    @contextlib.asynccontextmanager
    async def _session(self, what: str) -> AsyncIterator[_Live]:
        if self._tg is not None:
            yield await self._held(what)
            return
        watch = ConnectionWatch()
        with anyio.CancelScope(
            deadline=anyio.current_time() + self.config.startup_timeout
        ) as scope:
            try:
                async with self._client(watch) as client:
                    scope.deadline = math.inf
                    yield _Live(client, watch)
            except Exception as exc:
                failure = _leaf(exc)
                if isinstance(failure, StepFailed):
                    raise failure from None
                raise self._failure(failure, watch, what) from exc
        if scope.cancelled_caught:
            raise self._startup_timeout()

    async def _held(self, what: str) -> _Live:
        assert self._tg is not None
        async with self._lock:
            if self._live is None or self._live.done.is_set():
                try:
                    self._live = await self._tg.start(self._hold)
                except Exception as exc:
                    raise self._failure(_leaf(exc), None, what) from exc
            return self._live

    async def _hold(self, *, task_status: anyio.abc.TaskStatus[_Live]) -> None:
        """Own one session for the held connection until it is dropped or closed."""
        watch = ConnectionWatch()
        started = False
        with anyio.CancelScope(
            deadline=anyio.current_time() + self.config.startup_timeout
        ) as scope:
            try:
                async with self._client(watch) as client:
                    scope.deadline = math.inf
                    live = _Live(client, watch)
                    task_status.started(live)
                    started = True
                    await live.done.wait()
            except Exception as exc:
                if not started:
                    raise _Startup(_leaf(exc), watch) from exc
                log.debug("MCP server %s: session ended with %r", self.config.name, exc)
        if scope.cancelled_caught and not started:
            raise _Startup(self._startup_timeout(), watch)

    def _client(self, watch: ConnectionWatch) -> Client:
        target = self._server if self._server is not None else self._transport(watch)
        return Client(target, mode="auto")

    def _transport(self, watch: ConnectionWatch) -> Transport:
        config = self.config
        limit = 2 * config.max_output_bytes + 65536  # a result may carry text and structure
        if config.command is not None:
            return stdio_transport(
                config.command,
                config.args,
                env=config.launch_env(),
                cwd=config.cwd,
                max_message_bytes=limit,
                watch=watch,
            )
        assert config.url is not None
        return http_transport(
            config.url,
            headers=config.headers,
            timeout=config.startup_timeout,
            max_message_bytes=limit,
            watch=watch,
        )

    def _failure(self, exc: BaseException, watch: ConnectionWatch | None, what: str) -> StepFailed:
        """The ``StepFailed`` that says what happened to the server while doing ``what``."""
        if isinstance(exc, _Startup):
            watch = exc.watch
            exc = exc.cause
        if isinstance(exc, StepFailed):
            return exc
        name, watch = self.config.name, watch or ConnectionWatch()
        note = watch.exit_note()
        detail = f" ({note})" if note else ""
        if watch.overflow is not None:
            return too_large(name, what, self.config.max_output_bytes)
        if isinstance(exc, OSError):
            return ToolUnavailable(
                f"cannot start MCP server {name!r}: {self.config.target!r} failed with "
                f"{exc.strerror or exc}; check the command with `fluxio mcp list` and register "
                f"it again with `fluxio mcp add {name} --command ...`"
            )
        if isinstance(exc, httpx2.HTTPError):
            return StepFailed(
                f"cannot reach MCP server {name!r} at {self.config.url} while {what}: {exc}; "
                "check that the server is running and the URL is right"
            )
        if isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED:
            return StepFailed(
                f"MCP server {name!r} closed the connection while {what}{detail}; if a tool was "
                "running it may or may not have taken effect; the next call reconnects"
            )
        if isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT:
            return self._timeout(what)
        if isinstance(exc, MCPError | ValidationError):
            return StepFailed(
                f"MCP server {name!r} refused {what}: {exc}", retryable=False, error_type="MCPError"
            )
        raise exc

    def _timeout(self, what: str) -> StepTimeout:
        return StepTimeout(
            f"MCP server {self.config.name!r} did not answer within {self.config.timeout:g}s "
            f"while {what}; raise its timeout (`fluxio mcp add {self.config.name} ... "
            "--timeout SECONDS`) if the tool is slow"
        )

    def _startup_timeout(self) -> StepTimeout:
        return StepTimeout(
            f"MCP server {self.config.name!r} did not start and finish its handshake within "
            f"{self.config.startup_timeout:g}s ({self.config.target}); check that it is an MCP "
            "server and that it starts on its own"
        )


class _Startup(Exception):
    """A held session could not start; carries the cause and what the connection saw."""

    def __init__(self, error: BaseException, watch: ConnectionWatch) -> None:
        super().__init__(str(error))
        self.cause = error
        self.watch = watch


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (task-group wrapping)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def _settle(watch: ConnectionWatch) -> None:
    """Give a dying server a moment, so its exit code and last stderr lines can be reported."""
    if watch.pid is not None:
        with anyio.move_on_after(0.5):
            await watch.ended.wait()
