"""A TCP proxy on 127.0.0.1 that a test can cut: the stand-in for a database outage.

Workers connect to the proxy instead of the server. ``outage(seconds)`` drops every open
connection (both sides reset at once) and refuses new ones for ``seconds``, then listens
again on the same port, so the server itself never restarts.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    """Forwards connections on ``127.0.0.1:<port>`` to ``target_host:target_port``.

    Args:
        target_host: the server's host.
        target_port: the server's port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.Transport] = set()
        self.stalled = asyncio.Event()  # set: bytes stop flowing, connections stay open

    async def start(self) -> int:
        """Listen (on a free port the first time, the same port after an outage)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def outage(self, seconds: float) -> None:
        """Refuse new connections and reset every open one; listen again after ``seconds``."""
        await self._stop_listening()
        self.drop_all()
        await asyncio.sleep(seconds)
        await self.start()

    def drop_all(self) -> None:
        """Reset every open connection, client side and server side."""
        self.dropped += len(self._transports) // 2
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def close(self) -> None:
        await self._stop_listening()
        self.drop_all()
        for task in list(self._links):
            task.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    def stall(self, on: bool = True) -> None:
        """Stop (or resume) forwarding without closing anything: a server that stopped
        answering, as a network partition or a stuck middlebox looks to a client."""
        if on:
            self.stalled.set()
        else:
            self.stalled.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self.accepted += 1
        pair = [client_w.transport, server_w.transport]
        self._transports.update(pair)  # type: ignore[arg-type]
        links = [
            asyncio.create_task(_pipe(client_r, server_w, self.stalled)),
            asyncio.create_task(_pipe(server_r, client_w, self.stalled)),
        ]
        self._links.update(links)
        try:
            await asyncio.wait(links, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in links:
                task.cancel()
            for transport in pair:
                transport.abort()
                self._transports.discard(transport)
            self._links.difference_update(links)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stalled: asyncio.Event
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            while stalled.is_set():  # hold the bytes; nothing reaches the other side
                await asyncio.sleep(0.05)
            writer.write(data)
            await writer.drain()
