"""Real HTTP servers on 127.0.0.1 for the provider tests.

- ``ScriptedServer``: answers each request with the next scripted ``Reply`` (JSON, text, SSE
  events, any status and headers, an optional delay) and records every request.
- ``AnthropicServer``: speaks the Anthropic Messages protocol: validates requests as the
  API does (headers, max_tokens, alternating roles, tool_result after tool_use) and renders
  each scripted ``Turn`` as a JSON message or as the SSE event sequence.
- ``FakeLLM``: the ``fakellm`` package's OpenAI-compatible server, in a subprocess.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """A scripted answer: ``body`` (JSON-able or str) or ``events`` (SSE blocks)."""

    status: int = 200
    body: Any = None
    events: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event block."""
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n"


class HTTPTestServer:
    """A threaded HTTP server on 127.0.0.1 that asks ``respond`` for each reply."""

    def __init__(self, respond: Callable[[Recorded], Reply]) -> None:
        self.requests: list[Recorded] = []
        self._respond = respond
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HTTPTestServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded = Recorded("POST", self.path, headers, body)
                owner.requests.append(recorded)
                owner._send(self, owner._respond(recorded))

            def log_message(self, *_: Any) -> None:
                pass

        return Handler

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay and self._stopping.wait(reply.delay):
            return
        try:
            handler.send_response(reply.status)
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            if reply.events is not None:
                handler.send_header("content-type", "text/event-stream")
                handler.end_headers()
                for block in reply.events:
                    handler.wfile.write(block.encode("utf-8"))
                    handler.wfile.flush()
                return
            is_text = isinstance(reply.body, str)
            data = (reply.body if is_text else json.dumps(reply.body)).encode("utf-8")
            handler.send_header("content-type", "text/plain" if is_text else "application/json")
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


class ScriptedServer(HTTPTestServer):
    """Replies with the scripted ``Reply`` objects in order."""

    def __init__(self, *replies: Reply) -> None:
        self.replies: deque[Reply] = deque(replies)
        super().__init__(self._next)

    def _next(self, _: Recorded) -> Reply:
        if not self.replies:
            return Reply(500, {"error": {"message": "the test scripted no more replies"}})
        return self.replies.popleft()


@dataclass
class Turn:
    """What the fake Claude says: text and/or tool uses ``(id, name, input)``."""

    text: str | None = None
    tool_uses: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    input_tokens: int = 12
    output_tokens: int = 7


class AnthropicServer(HTTPTestServer):
    """A small server speaking the Anthropic Messages API (``POST /v1/messages``)."""

    def __init__(self, *turns: Turn | Reply) -> None:
        self.turns: deque[Turn | Reply] = deque(turns)
        super().__init__(self._answer)

    def _answer(self, request: Recorded) -> Reply:
        problem = _invalid(request)
        if problem:
            return Reply(
                400,
                {"type": "error", "error": {"type": "invalid_request_error", "message": problem}},
            )
        turn = self.turns.popleft() if self.turns else Turn(text="(no scripted turn)")
        if isinstance(turn, Reply):
            return turn
        model = request.body["model"]
        if request.body.get("stream"):
            return Reply(events=list(_stream_events(turn, model)))
        return Reply(body=_message(turn, model))


def _invalid(request: Recorded) -> str | None:
    body = request.body
    if request.path != "/v1/messages":
        return f"unknown path {request.path}"
    key = request.headers.get("x-api-key") or request.headers.get("authorization")
    if not key or not request.headers.get("anthropic-version"):
        return "missing API key (x-api-key or authorization) or anthropic-version header"
    if not isinstance(body, dict) or not {"model", "max_tokens", "messages"} <= set(body):
        return "model, max_tokens and messages are required"
    roles = [m["role"] for m in body["messages"]]
    if not roles or roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
        return f"messages must alternate user/assistant starting with user, got {roles}"
    if any(m["role"] == "system" for m in body["messages"]):
        return "system prompts go in the top-level system field"
    used: set[str] = set()
    for message in body["messages"]:
        blocks = message["content"] if isinstance(message["content"], list) else []
        used |= {b["id"] for b in blocks if b.get("type") == "tool_use"}
        for block in blocks:
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in used:
                return f"tool_result for unknown tool_use_id {block.get('tool_use_id')}"
    return None


def _message(turn: Turn, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
    content += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in turn.tool_uses]
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if turn.tool_uses else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
    }


def _stream_events(turn: Turn, model: str) -> Iterator[str]:
    start = _message(Turn(input_tokens=turn.input_tokens, output_tokens=1), model)
    start["content"], start["stop_reason"] = [], None
    yield sse({"type": "message_start", "message": start}, "message_start")
    index = 0
    if turn.text:
        yield sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        for word in turn.text.split(" "):
            piece = word if word == turn.text.split(" ")[0] else " " + word
            yield sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                "content_block_delta",
            )
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        index = 1
    for offset, (call_id, name, arguments) in enumerate(turn.tool_uses):
        i = index + offset
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        yield sse(
            {"type": "content_block_start", "index": i, "content_block": block},
            "content_block_start",
        )
        text = json.dumps(arguments)
        for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
            yield sse(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
                "content_block_delta",
            )
        yield sse({"type": "content_block_stop", "index": i}, "content_block_stop")
    stop = "tool_use" if turn.tool_uses else "end_turn"
    yield sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": turn.output_tokens},
        },
        "message_delta",
    )
    yield sse({"type": "message_stop"}, "message_stop")


class FakeLLM:
    """``fakellm serve`` with the given rules, in a subprocess on a free port."""

    def __init__(self, rules: list[dict[str, Any]], workdir: Path) -> None:
        self.config = workdir / "fakellm.yaml"
        self.config.write_text(yaml.safe_dump({"rules": rules}), encoding="utf-8")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = (workdir / "fakellm.log").open("w")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FakeLLM:
        command = [sys.executable, "-m", "fakellm.cli", "serve", "--config", str(self.config)]
        self._process = subprocess.Popen(
            [*command, "--port", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"fakellm exited: see {self._log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fakellm did not start within 20 s")

    def __exit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=10)
        self._log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
