"""The outbound client's SSRF guard, redirects, size cap and timeouts, on a real local server."""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from fluxio.errors import StepFailed, StepTimeout, UsageError
from fluxio.tools.outbound import (
    AddressGuard,
    OutboundClient,
    OutboundFailed,
    OutboundRefused,
    OutboundTimeout,
    ResponseTooLarge,
)

pytestmark = pytest.mark.anyio

LOCAL = ["127.0.0.0/8"]


class Handler(BaseHTTPRequestHandler):
    """Routes: /json, /echo, /redirect?to=&code=, /big?n=, /stream?n=, /slow?s=, /cookie."""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/redirect":
            self.send_response(int(query.get("code", "302")))
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/big":
            self._send(b"x" * int(query["n"]))
        elif url.path == "/stream":
            self.send_response(200)
            self.end_headers()  # HTTP/1.0 without Content-Length: the body runs to the close
            self.wfile.write(b"y" * int(query["n"]))
        elif url.path == "/slow":
            time.sleep(float(query["s"]))
            self._send(b"late")
        elif url.path == "/cookie":
            self.send_response(200)
            self.send_header("Set-Cookie", "session=secret; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._echo()

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        echo = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        self._send(json.dumps(echo).encode(), "application/json")

    def _send(self, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """Ignores clients that hang up early (the timeout and size-cap tests do that on purpose)."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (stateless, shared by the module); yields its port."""
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_guard_refuses_loopback_by_default(server: int) -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"'127\.0\.0\.1'.*loopback.*allow_hosts"):
            await client.get(f"http://127.0.0.1:{server}/json")


async def test_guard_refuses_localhost_by_name_because_it_resolves_to_loopback(server: int) -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"'localhost'.*loopback"):
            await client.get(f"http://localhost:{server}/json")


async def test_guard_allows_loopback_when_its_network_is_allow_listed(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        response = await client.get(f"http://127.0.0.1:{server}/echo")
    assert response.status_code == 200
    assert response.json()["method"] == "GET"
    assert response.headers["content-type"] == "application/json"


async def test_guard_allows_a_host_allow_listed_by_name(server: int) -> None:
    async with OutboundClient(allow_hosts=["localhost"]) as client:
        response = await client.get(f"http://localhost:{server}/echo")
    assert response.status_code == 200


async def test_guard_refuses_decimal_encoded_loopback(server: int) -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"loopback"):
            await client.get(f"http://2130706433:{server}/json")


async def test_guard_refuses_ipv4_mapped_ipv6_loopback() -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"loopback \(127\.0\.0\.1 embedded"):
            await client.get("http://[::ffff:127.0.0.1]:80/")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.2:{port}/json", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:{port}/json", "loopback"),
        ("http://10.0.0.1/", "private"),
    ],
)
async def test_redirect_from_allowed_host_to_refused_address_is_refused(
    server: int, target: str, reason: str
) -> None:
    to = target.format(port=server)
    async with OutboundClient(allow_hosts=["localhost"]) as client:
        with pytest.raises(
            OutboundRefused, match=f"redirect from .*/redirect.* refused: .*{reason}"
        ):
            await client.get(f"http://localhost:{server}/redirect", params={"to": to})


async def test_redirect_to_allowed_host_is_followed_and_recorded(server: int) -> None:
    async with OutboundClient(allow_hosts=["localhost"]) as client:
        response = await client.get(
            f"http://localhost:{server}/redirect", params={"to": "/echo?x=1"}
        )
    assert response.status_code == 200
    assert response.json()["path"] == "/echo?x=1"
    assert len(response.redirects) == 1
    assert response.url.endswith("/echo?x=1")


async def test_redirect_is_not_followed_when_asked_not_to(server: int) -> None:
    async with OutboundClient(allow_hosts=["localhost"]) as client:
        response = await client.get(
            f"http://localhost:{server}/redirect", params={"to": "/echo"}, follow_redirects=False
        )
    assert response.status_code == 302
    assert response.headers["location"] == "/echo"


async def test_see_other_turns_post_into_get_without_body(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        response = await client.request(
            "POST",
            f"http://127.0.0.1:{server}/redirect",
            params={"to": "/echo", "code": "303"},
            json={"a": 1},
        )
    echo = response.json()
    assert (echo["method"], echo["body"]) == ("GET", "")
    assert "content-type" not in echo["headers"]


async def test_temporary_redirect_keeps_method_and_body(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        response = await client.request(
            "POST",
            f"http://127.0.0.1:{server}/redirect",
            params={"to": "/echo", "code": "307"},
            json={"a": 1},
        )
    echo = response.json()
    assert (echo["method"], json.loads(echo["body"])) == ("POST", {"a": 1})


async def test_redirect_to_another_host_drops_authorization(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        response = await client.get(
            f"http://127.0.0.1:{server}/redirect",
            params={"to": f"http://localhost:{server}/echo"},
            headers={"Authorization": "Bearer secret"},
        )
    assert "authorization" not in response.json()["headers"]


async def test_too_many_redirects_are_refused(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL, max_redirects=3) as client:
        with pytest.raises(OutboundRefused, match=r"more than 3 redirects"):
            await client.get(f"http://127.0.0.1:{server}/loop")


async def test_raw_http_client_is_guarded_when_it_connects(server: int) -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"loopback"):
            await client.http.get(f"http://127.0.0.1:{server}/json")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://a/"])
async def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundRefused, match=r"only http and https|not a valid http"):
            await client.get(url)


async def test_response_over_declared_size_cap_is_refused(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL, max_bytes=1000) as client:
        ok = await client.get(f"http://127.0.0.1:{server}/big", params={"n": "1000"})
        assert len(ok.content) == 1000
        with pytest.raises(ResponseTooLarge, match=r"declares 1001 bytes.*1000-byte limit"):
            await client.get(f"http://127.0.0.1:{server}/big", params={"n": "1001"})


async def test_streamed_response_over_size_cap_is_cut_off(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        with pytest.raises(ResponseTooLarge, match=r"more than 4096 bytes"):
            await client.get(
                f"http://127.0.0.1:{server}/stream", params={"n": "100000"}, max_bytes=4096
            )


async def test_slow_server_times_out_as_a_step_timeout(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        started = time.monotonic()
        with pytest.raises(OutboundTimeout, match=r"within 0\.2s") as caught:
            await client.get(f"http://127.0.0.1:{server}/slow", params={"s": "1"}, timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert isinstance(caught.value, StepTimeout)


async def test_closed_port_is_a_retryable_connect_failure() -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        with pytest.raises(OutboundFailed, match=r"could not connect") as caught:
            await client.get(f"http://127.0.0.1:{free_port()}/")
    assert isinstance(caught.value, StepFailed)
    assert caught.value.retryable


async def test_unknown_host_is_a_clear_failure() -> None:
    async with OutboundClient() as client:
        with pytest.raises(OutboundFailed, match=r"could not resolve host 'no-such-host.invalid'"):
            await client.get("http://no-such-host.invalid/")


async def test_cookies_are_not_kept_between_requests(server: int) -> None:
    async with OutboundClient(allow_networks=LOCAL) as client:
        await client.get(f"http://127.0.0.1:{server}/cookie")
        echo = (await client.get(f"http://127.0.0.1:{server}/echo")).json()
    assert "cookie" not in echo["headers"]


def test_malformed_allow_network_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"'10.0.0.0/33' is not a network"):
        OutboundClient(allow_networks=["10.0.0.0/33"])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private (10.0.0.1 embedded"),
        ("2002:7f00:1::", "loopback (127.0.0.1 embedded"),
        ("64:ff9b::a9fe:a9fe", "link-local (169.254.169.254 embedded"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_guard_classifies_addresses(address: str, reason: str | None) -> None:
    refusal = AddressGuard().refusal(ipaddress.ip_address(address))
    if reason is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.startswith(reason)


def test_allow_listed_network_covers_ipv4_mapped_addresses() -> None:
    guard = AddressGuard.build(allow_networks=["127.0.0.0/8"])
    assert guard.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert guard.refusal(ipaddress.ip_address("10.0.0.1")) == "private"


def test_allow_hosts_supports_subdomain_wildcards() -> None:
    guard = AddressGuard.build(allow_hosts=["*.svc.internal", "Metadata.Local."])
    assert guard.host_allowed("api.svc.internal")
    assert guard.host_allowed("metadata.local")
    assert not guard.host_allowed("svc.internal.evil.com")
    assert not guard.host_allowed("evilsvc.internal")
