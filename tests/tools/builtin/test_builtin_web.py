"""http_get and http_request against a real local server, through the guarded outbound client."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fluxio import Engine, RunContext, RunFailed
from fluxio.errors import UsageError
from fluxio.store.base import Store
from fluxio.store.records import EntryKind
from fluxio.tools import Tool, call_tool
from fluxio.tools.builtin import builtin_tools
from fluxio.tools.outbound import OutboundClient, OutboundRefused, ResponseTooLarge

pytestmark = pytest.mark.anyio


class Handler(BaseHTTPRequestHandler):
    """/echo answers JSON describing the request; /redirect?to= redirects; /missing is a 404."""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_DELETE(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/redirect":
            self._reply(302, b"", "text/plain", {"Location": query["to"]})
        elif url.path == "/missing":
            self._reply(404, b"no such thing", "text/plain")
        elif url.path == "/text":
            self._reply(200, b"plain body " * int(query["n"]), "text/plain; charset=utf-8")
        else:
            length = int(self.headers.get("Content-Length") or 0)
            echo = {
                "method": self.command,
                "path": self.path,
                "body": self.rfile.read(length).decode(),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
            self._reply(200, json.dumps(echo).encode(), "application/json")

    def _reply(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1; yields its base URL using the name ``localhost``."""
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
async def web(workspace: Path) -> AsyncIterator[dict[str, Tool]]:
    """The built-in tools with an outbound client that allows only ``localhost`` by name."""
    async with OutboundClient(allow_hosts=["localhost"], timeout=5.0, max_bytes=3000) as client:
        yield {t.name: t for t in builtin_tools(workspace, client)}


async def test_http_get_returns_status_headers_and_parsed_json(
    web: dict[str, Tool], base_url: str
) -> None:
    result = await web["http_get"].invoke({"url": f"{base_url}/echo", "params": {"q": "1"}})
    assert (result["status"], result["ok"]) == (200, True)
    assert result["data"]["path"] == "/echo?q=1"
    assert result["headers"]["content-type"] == "application/json"
    assert result["redirects"] == []


async def test_http_request_sends_a_json_body(web: dict[str, Tool], base_url: str) -> None:
    result = await web["http_request"].invoke(
        {"method": "POST", "url": f"{base_url}/echo", "json": {"name": "Kit"}}
    )
    echo = result["data"]
    assert (echo["method"], json.loads(echo["body"])) == ("POST", {"name": "Kit"})
    assert echo["headers"]["content-type"] == "application/json"


async def test_http_request_sends_a_text_body_and_headers(
    web: dict[str, Tool], base_url: str
) -> None:
    result = await web["http_request"].invoke(
        {
            "method": "DELETE",
            "url": f"{base_url}/echo",
            "body": "bye",
            "headers": {"X-Trace": "t1"},
        }
    )
    assert (result["data"]["method"], result["data"]["body"]) == ("DELETE", "bye")
    assert result["data"]["headers"]["x-trace"] == "t1"


async def test_http_request_refuses_json_and_body_together(
    web: dict[str, Tool], base_url: str
) -> None:
    with pytest.raises(UsageError, match=r"not both"):
        await web["http_request"].invoke(
            {"method": "POST", "url": f"{base_url}/echo", "json": {}, "body": "x"}
        )


async def test_non_2xx_status_is_a_result_not_an_error(web: dict[str, Tool], base_url: str) -> None:
    result = await web["http_get"].invoke({"url": f"{base_url}/missing"})
    assert (result["status"], result["ok"], result["text"], result["data"]) == (
        404,
        False,
        "no such thing",
        None,
    )


async def test_head_returns_headers_only(web: dict[str, Tool], base_url: str) -> None:
    result = await web["http_get"].invoke({"url": f"{base_url}/echo", "method": "HEAD"})
    assert (result["status"], result["text"]) == (200, "")


async def test_http_request_refuses_redirect_to_link_local(
    web: dict[str, Tool], base_url: str
) -> None:
    to = "http://169.254.169.254/latest/meta-data/iam/"
    with pytest.raises(OutboundRefused, match=r"169.254.169.254.*link-local"):
        await web["http_request"].invoke(
            {"method": "GET", "url": f"{base_url}/redirect", "params": {"to": to}}
        )


async def test_http_get_refuses_redirect_to_ipv6_loopback(
    web: dict[str, Tool], base_url: str
) -> None:
    port = base_url.rsplit(":", 1)[1]
    with pytest.raises(OutboundRefused, match=r"'::1'.*loopback"):
        await web["http_get"].invoke(
            {"url": f"{base_url}/redirect", "params": {"to": f"http://[::1]:{port}/echo"}}
        )


async def test_http_get_refuses_a_loopback_address_not_allow_listed(
    web: dict[str, Tool], base_url: str
) -> None:
    port = base_url.rsplit(":", 1)[1]
    with pytest.raises(OutboundRefused, match=r"'127.0.0.1'.*loopback"):
        await web["http_get"].invoke({"url": f"http://127.0.0.1:{port}/echo"})


async def test_http_get_follows_an_allowed_redirect(web: dict[str, Tool], base_url: str) -> None:
    result = await web["http_get"].invoke(
        {"url": f"{base_url}/redirect", "params": {"to": "/echo"}}
    )
    assert result["data"]["path"] == "/echo"
    assert len(result["redirects"]) == 1


async def test_http_get_enforces_the_size_cap(web: dict[str, Tool], base_url: str) -> None:
    url = f"{base_url}/text"
    result = await web["http_get"].invoke({"url": url, "params": {"n": "200"}})
    assert result["text"].startswith("plain body")
    with pytest.raises(ResponseTooLarge, match=r"2200 bytes, over the 100-byte limit"):
        await web["http_get"].invoke({"url": url, "params": {"n": "200"}, "max_bytes": 100})


async def test_a_call_cannot_raise_the_clients_size_cap(
    web: dict[str, Tool], base_url: str
) -> None:
    with pytest.raises(ResponseTooLarge, match=r"3300 bytes, over the 3000-byte limit"):
        await web["http_get"].invoke(
            {"url": f"{base_url}/text", "params": {"n": "300"}, "max_bytes": 10**9}
        )


async def test_http_tool_contracts_separate_safe_reads_from_writes(web: dict[str, Tool]) -> None:
    get, request = web["http_get"], web["http_request"]
    assert (get.contract.side_effects, get.contract.idempotent) == (False, True)
    assert (request.contract.side_effects, request.contract.idempotent) == (True, False)
    assert request.step_options().needs_intent
    assert get.contract.timeout == 10.0  # the client's 5 s deadline plus a margin


async def test_http_tools_are_left_out_without_a_client(workspace: Path) -> None:
    names = {t.name for t in builtin_tools(workspace)}
    assert "http_get" not in names
    assert "http_request" not in names


async def test_http_get_runs_as_a_journaled_step(
    web: dict[str, Tool], base_url: str, store: Store
) -> None:
    async def fetch(ctx: RunContext, url: str) -> Any:
        result = await call_tool(ctx, web["http_get"], {"url": url})
        return result["data"]["method"]

    engine = Engine(store, workflows={"fetch": fetch})
    assert await engine.run("fetch", f"{base_url}/echo") == "GET"
    run = (await engine.list_runs())[0]
    outcomes = [e for e in await engine.journal(run.run_id) if e.kind is EntryKind.OUTCOME]
    assert [(e.name, e.ok) for e in outcomes] == [("tool:http_get", True)]


async def test_a_refused_request_fails_the_run_without_retrying(
    web: dict[str, Tool], base_url: str, store: Store
) -> None:
    async def fetch(ctx: RunContext, url: str) -> Any:
        return await call_tool(ctx, web["http_get"], {"url": url})

    engine = Engine(store, workflows={"fetch": fetch})
    with pytest.raises(RunFailed, match=r"link-local"):
        await engine.run("fetch", "http://169.254.169.254/")
    run = (await engine.list_runs())[0]
    (outcome,) = [e for e in await engine.journal(run.run_id) if e.kind is EntryKind.OUTCOME]
    assert (outcome.ok, outcome.attempts) == (False, 1)
