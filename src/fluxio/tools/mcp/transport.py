"""Byte-capped transports to MCP servers: a child process over stdio, or streamable HTTP.

The SDK's transports buffer a whole message before anyone can look at its size, so a server
that answers with a gigabyte of text would take the client's memory with it. These transports
count bytes as they arrive and give up on a message past ``max_message_bytes``: the connection
is closed, the pending call fails, and :class:`ConnectionWatch` records why, so the caller can
say "output too large" instead of "connection closed".
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

import anyio
import anyio.abc
import httpx2
import mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client import Transport
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

__all__ = ["ConnectionWatch", "http_transport", "stdio_transport"]

_STDERR_LINES = 12
_STDERR_LINE_CHARS = 400
_GRACE_SECONDS = 2.0
_CHUNK = 65536


@dataclass
class ConnectionWatch:
    """What one connection saw of its server: the process, its last stderr lines, overflows.

    Attributes:
        pid: the server process id (stdio only).
        returncode: the exit code once the process ended.
        ended: set once the server's output ended (and ``returncode`` is known if it exited).
        stderr: the last lines the server wrote to stderr.
        overflow: set when a message passed the byte cap; the cap that was passed.
    """

    pid: int | None = None
    returncode: int | None = None
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=_STDERR_LINES))
    overflow: int | None = None
    ended: anyio.Event = field(default_factory=anyio.Event)

    def exit_note(self) -> str:
        """A short phrase about how the server process ended, for error messages."""
        parts = []
        if self.returncode is not None:
            parts.append(f"the server process exited with code {self.returncode}")
        if self.stderr:
            parts.append("its last stderr lines: " + " | ".join(self.stderr))
        return "; ".join(parts)


@contextlib.asynccontextmanager
async def _stdio(
    command: str,
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    max_message_bytes: int,
    watch: ConnectionWatch,
) -> AsyncIterator[
    tuple[
        MemoryObjectReceiveStream[SessionMessage | Exception],
        MemoryObjectSendStream[SessionMessage],
    ]
]:
    process = await anyio.open_process(
        [command, *args],
        env=dict(env),
        cwd=cwd,
        start_new_session=sys.platform != "win32",
    )
    watch.pid = process.pid
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_read_messages, process, incoming_send, max_message_bytes, watch)
        tg.start_soon(_read_stderr, process, watch)
        tg.start_soon(_write_messages, process, outgoing_receive, incoming_send)
        try:
            yield incoming, outgoing
        finally:
            with anyio.CancelScope(shield=True):
                await outgoing.aclose()
                await incoming.aclose()
                await _stop(process, watch)
            tg.cancel_scope.cancel()


def stdio_transport(
    command: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    max_message_bytes: int,
    watch: ConnectionWatch,
) -> Transport:
    """A transport that starts ``command`` and speaks newline-delimited JSON-RPC over its pipes.

    The process gets its own process group; closing the transport closes its stdin, waits two
    seconds, then terminates the group (and kills it two seconds later).

    Raises:
        OSError: the command cannot be started (raised when the transport is entered).
    """
    return _stdio(command, args, env, cwd, max_message_bytes, watch)


async def _read_messages(
    process: anyio.abc.Process,
    sink: MemoryObjectSendStream[SessionMessage | Exception],
    limit: int,
    watch: ConnectionWatch,
) -> None:
    """Forward stdout lines as messages; on EOF or overflow, note why before ending the session."""
    assert process.stdout is not None
    pending = bytearray()
    async with sink:
        with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, OSError):
            while len(pending) <= limit:
                pending += await process.stdout.receive(_CHUNK)
                *lines, rest = pending.split(b"\n")
                pending = bytearray(rest)
                for line in lines:
                    if line.strip() and not await _deliver(sink, bytes(line)):
                        return
            watch.overflow = limit
            _signal_group(process, signal.SIGTERM)
        await _exited(process, 0.5)
        watch.returncode = process.returncode
        watch.ended.set()


async def _deliver(sink: MemoryObjectSendStream[SessionMessage | Exception], line: bytes) -> bool:
    """Parse and forward one line; ``False`` once nobody listens any more."""
    item: SessionMessage | Exception
    try:
        item = SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        item = exc
    try:
        await sink.send(item)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        return False
    return True


async def _read_stderr(process: anyio.abc.Process, watch: ConnectionWatch) -> None:
    assert process.stderr is not None
    pending = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, OSError):
        while True:
            pending += await process.stderr.receive(_CHUNK)
            *lines, rest = pending.split(b"\n")
            pending = rest[-_STDERR_LINE_CHARS:]
            for line in lines:
                text = line.decode("utf-8", "replace").strip()
                if text:
                    watch.stderr.append(text[:_STDERR_LINE_CHARS])


async def _write_messages(
    process: anyio.abc.Process,
    source: MemoryObjectReceiveStream[SessionMessage],
    incoming: MemoryObjectSendStream[SessionMessage | Exception],
) -> None:
    assert process.stdin is not None
    try:
        async with source:
            async for message in source:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await process.stdin.send(data.encode("utf-8") + b"\n")
    except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        # The server stopped reading: end the session so no request waits forever.
        await incoming.aclose()


async def _stop(process: anyio.abc.Process, watch: ConnectionWatch) -> None:
    """Close stdin, give the server a grace period, then terminate and kill its group."""
    assert process.stdin is not None
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            _signal_group(process, sig)
        if await _exited(process, _GRACE_SECONDS):
            break
    watch.returncode = process.returncode
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.aclose()


async def _exited(process: anyio.abc.Process, seconds: float) -> bool:
    """Whether the process exits within ``seconds``.

    Polls ``returncode`` rather than awaiting ``wait()``: on asyncio ``wait()`` also waits for
    the pipes to close, which a grandchild holding them open would delay.
    """
    with anyio.move_on_after(seconds):
        while process.returncode is None:  # noqa: ASYNC110 - see the docstring
            await anyio.sleep(0.01)
    return process.returncode is not None


def _signal_group(process: anyio.abc.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if sys.platform == "win32":  # pragma: no cover - no process groups there
            process.kill()
        else:
            os.killpg(process.pid, sig)


class _CappedStream(httpx2.AsyncByteStream):
    """A response body that stops with a ``StreamError`` once it passes the byte cap."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int, watch: ConnectionWatch) -> None:
        self._inner = inner
        self._limit = limit
        self._watch = watch

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                self._watch.overflow = self._limit
                raise httpx2.StreamError(f"the response passed {self._limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedTransport(httpx2.AsyncBaseTransport):
    def __init__(self, limit: int, watch: ConnectionWatch) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._limit = limit
        self._watch = watch

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self._limit, self._watch)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def _http(
    url: str, headers: Mapping[str, str], timeout: float, limit: int, watch: ConnectionWatch
) -> AsyncIterator[tuple[object, object]]:
    client = httpx2.AsyncClient(
        headers=dict(headers),
        timeout=httpx2.Timeout(timeout, read=max(timeout, 300.0)),
        transport=_CappedTransport(limit, watch),
    )
    async with (
        client,
        streamable_http_client(url, http_client=client, max_sse_event_size=limit) as streams,
    ):
        yield streams


def http_transport(
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    max_message_bytes: int,
    watch: ConnectionWatch,
) -> Transport:
    """A streamable-HTTP transport whose responses and SSE events are capped in bytes."""
    return _http(url, headers, timeout, max_message_bytes, watch)  # type: ignore[return-value]
