"""The one outbound HTTP client: every request fluxio makes to the network goes through it.

``OutboundClient`` wraps one ``httpx2.AsyncClient`` (build one per engine or app and close it
with the app; there is no module-level client) and adds an SSRF guard:

- only ``http`` and ``https`` URLs;
- the host is resolved and every address it resolves to must be public: private, loopback,
  link-local, multicast, reserved, unspecified and otherwise non-global addresses are refused,
  for IPv4 and IPv6, including IPv4 embedded in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64,
  Teredo), unless the host is in ``allow_hosts`` or the address is in ``allow_networks``;
- the check runs before every hop and again inside the connection itself, on the very
  address the socket connects to, so DNS rebinding and redirects cannot slip past it;
- redirects are followed by hand (at most ``max_redirects``), each hop re-checked;
- a total deadline (``timeout``) and a cap on the response body (``max_bytes``);
- no cookies are kept and no proxy settings are read from the environment.

Errors (all ``FluxioError``)::

    UsageError
    ├── OutboundRefused     the guard refused the URL, host or address; fix the URL or allow-list
    └── ResponseTooLarge    the body exceeded max_bytes
    StepFailed
    ├── OutboundFailed      could not connect or resolve; nothing was sent (``retryable`` set)
    └── StepTimeout
        └── OutboundTimeout the request was sent but no full answer arrived in time

A refused request raises ``OutboundRefused`` (a ``UsageError``): inside a step it is recorded
as a non-retryable failure, and the CLI prints it as one clean error.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any

import anyio
import httpcore2
import httpx2

from fluxio.errors import StepFailed, StepTimeout, UsageError

__all__ = [
    "AddressGuard",
    "OutboundClient",
    "OutboundFailed",
    "OutboundRefused",
    "OutboundResponse",
    "OutboundTimeout",
    "ResponseTooLarge",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NO_BODY = _REDIRECTS | {204, 304}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundRefused(UsageError):
    """The SSRF guard refused a URL: its scheme, its host or an address the host resolves to."""


class ResponseTooLarge(UsageError):
    """The response body was larger than the client's or the call's ``max_bytes``."""


class OutboundFailed(StepFailed):
    """The request could not be sent (DNS or connection failure); nothing reached the server."""


class OutboundTimeout(StepTimeout):
    """The request was sent but the whole answer did not arrive before the deadline."""


@dataclass(frozen=True)
class AddressGuard:
    """Decides which hosts and addresses outbound requests may reach.

    Args:
        allow_hosts: host names (or IP literals) allowed whatever they resolve to; compared
            case-insensitively; ``*.example.internal`` allows every subdomain.
        allow_networks: networks whose addresses are allowed, e.g. ``127.0.0.0/8``.
    """

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(
        cls, allow_hosts: Iterable[str] = (), allow_networks: Iterable[str] = ()
    ) -> AddressGuard:
        """A guard from plain strings; raises ``UsageError`` for a malformed network."""
        networks = []
        for text in allow_networks:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError as exc:
                raise UsageError(
                    f"allow_networks entry {text!r} is not a network: {exc}; "
                    "write it in CIDR form such as '10.0.0.0/8' or 'fd00::/8'"
                ) from exc
        return cls(frozenset(_normal_host(h) for h in allow_hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` is allow-listed by name (then its addresses are not checked)."""
        name = _normal_host(host)
        return any(
            name == entry or (entry.startswith("*.") and name.endswith(entry[1:]))
            for entry in self.allow_hosts
        )

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be reached, or ``None`` when it may."""
        candidates = [*_embedded_ipv4(ip), ip]
        if any(
            c in net for c in candidates for net in self.allow_networks if c.version == net.version
        ):
            return None
        for candidate in candidates:
            reason = _classify(candidate)
            if reason is not None:
                return reason if candidate is ip else f"{reason} ({candidate} embedded in {ip})"
        return None

    def check_url(self, url: httpx2.URL) -> None:
        """Refuse a URL whose scheme is not http(s) or that has no host."""
        if url.scheme not in ("http", "https"):
            scheme = f"not {url.scheme!r}" if url.scheme else "give an absolute URL"
            raise OutboundRefused(
                f"refused {url}: only http and https URLs may be fetched, {scheme}"
            )
        if not url.host:
            raise OutboundRefused(f"refused {url}: the URL has no host")

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host`` may use; ``OutboundRefused`` if any is refused."""
        resolved = await _resolve(host, port)
        if not self.host_allowed(host):
            for ip in resolved:
                reason = self.refusal(ip)
                if reason is not None:
                    raise OutboundRefused(
                        f"refused host {host!r}: it resolves to {ip}, a {reason} address. "
                        "Outbound requests may only reach public addresses; add the host to "
                        "allow_hosts or its network to allow_networks if it is meant to be reached"
                    )
        return [str(ip) for ip in resolved]


def _classify(ip: IPAddress) -> str | None:
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


async def _resolve(host: str, port: int) -> list[IPAddress]:
    name = _normal_host(host)
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    try:
        infos = await anyio.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundFailed(
            f"could not resolve host {name!r}: {exc.strerror}; check the URL",
            retryable=exc.errno == socket.EAI_AGAIN,
        ) from exc
    ordered = dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    return list(ordered)


class _GuardedBackend(httpcore2.AsyncNetworkBackend):
    """Resolves and checks every TCP connection, then connects to the vetted address itself."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        errors: list[Exception] = []
        for address in await self._guard.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                errors.append(exc)
        raise errors[-1] if errors else httpcore2.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise OutboundRefused(f"refused unix socket {path!r}: outbound requests use TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, guard: AddressGuard, verify: bool, limits: httpx2.Limits) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )


@dataclass(frozen=True)
class OutboundResponse:
    """A fully read, size-bounded HTTP response.

    Attributes:
        status_code: the final response's status.
        headers: response headers (repeated headers joined with ``", "``), lower-case names.
        content: the body, at most ``max_bytes`` long.
        url: the final URL after redirects.
        redirects: the URLs that answered with a redirect, in order.
        encoding: the charset the server declared, if any.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    redirects: tuple[str, ...] = ()
    encoding: str | None = field(default=None)

    @property
    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 if none), bad bytes replaced."""
        try:
            return self.content.decode(self.encoding or "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``UsageError`` if it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise UsageError(f"response from {self.url} is not JSON: {exc}") from exc


class OutboundClient:
    """The async HTTP client every outbound request goes through, with the SSRF guard.

    Build one per engine or app; use it as ``async with OutboundClient() as client`` or call
    ``aclose()``. Refusals raise ``OutboundRefused`` (a ``UsageError``, so a step records it as
    non-retryable); see the module docstring for the other errors.

    Args:
        allow_hosts: host names allowed even if they resolve to non-public addresses.
        allow_networks: CIDR networks allowed, e.g. ``["127.0.0.0/8"]`` for local tests.
        timeout: default total deadline of one request, redirects included, in seconds.
        max_bytes: default cap on a response body.
        max_redirects: how many redirects one request may follow.
        headers: default headers sent with every request.
        verify: verify TLS certificates (keep ``True`` outside tests).
    """

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str] = (),
        allow_networks: Iterable[str] = (),
        timeout: float = 10.0,
        max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 5,
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        self.guard = AddressGuard.build(allow_hosts, allow_networks)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._http = httpx2.AsyncClient(
            transport=_GuardedTransport(self.guard, verify, httpx2.Limits()),
            headers={"User-Agent": "fluxio", **(headers or {})},
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )

    @property
    def http(self) -> httpx2.AsyncClient:
        """The guarded ``httpx2.AsyncClient`` for SDKs that take one (MCP, OpenAPI).

        Every new connection it opens is checked by the guard; it does not follow redirects.
        """
        return self._http

    async def __aenter__(self) -> OutboundClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def get(self, url: str, **kwargs: Any) -> OutboundResponse:
        """``request("GET", url, ...)``."""
        return await self.request("GET", url, **kwargs)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        follow_redirects: bool = True,
    ) -> OutboundResponse:
        """Send one request, follow redirects (each hop re-checked) and read the bounded body.

        Raises:
            OutboundRefused: bad scheme, refused host or address, or too many redirects.
            ResponseTooLarge: the body exceeded ``max_bytes``.
            OutboundFailed: DNS or connection failure before anything was sent.
            OutboundTimeout: no complete answer within ``timeout`` seconds.
        """
        deadline = self.timeout if timeout is None else timeout
        request = self._build(method, url, params, headers, json, content, deadline)
        try:
            with anyio.fail_after(deadline):
                limit = self.max_bytes if max_bytes is None else max_bytes
                return await self._follow(request, limit, follow_redirects)
        except TimeoutError as exc:
            raise OutboundTimeout(
                f"{method.upper()} {url} got no complete answer within {deadline:g}s; "
                "raise the timeout or try again later",
                error_type="OutboundTimeout",
            ) from exc

    def _build(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        body: Any,
        content: bytes | str | None,
        deadline: float,
    ) -> httpx2.Request:
        try:
            self.guard.check_url(httpx2.URL(url))
            return self._http.build_request(
                method.upper(), url, params=params, headers=headers, json=body,
                content=content, timeout=deadline,
            )  # fmt: skip
        except (httpx2.InvalidURL, httpx2.UnsupportedProtocol) as exc:
            raise OutboundRefused(f"refused {url!r}: not a valid http(s) URL ({exc})") from exc

    async def _follow(self, request: httpx2.Request, limit: int, follow: bool) -> OutboundResponse:
        redirects: list[str] = []
        for _ in range(self.max_redirects + 1):
            await self._check_hop(request.url, redirects)
            response = await self._send(request, limit)
            location = response.headers.get("location")
            if not follow or response.status_code not in _REDIRECTS or not location:
                return OutboundResponse(
                    response.status_code, response.headers, response.content, str(request.url),
                    tuple(redirects), response.encoding,
                )  # fmt: skip
            redirects.append(str(request.url))
            request = _next_hop(request, response.status_code, location)
        raise OutboundRefused(
            f"refused {redirects[0]}: more than {self.max_redirects} redirects "
            f"(last to {request.url}); fetch the final URL directly"
        )

    async def _check_hop(self, url: httpx2.URL, redirects: list[str]) -> None:
        try:
            self.guard.check_url(url)
            port = url.port or (443 if url.scheme == "https" else 80)
            await self.guard.addresses(url.host, port)
        except OutboundRefused as exc:
            if not redirects:
                raise
            raise OutboundRefused(f"redirect from {redirects[-1]} to {url} refused: {exc}") from exc

    async def _send(self, request: httpx2.Request, limit: int) -> OutboundResponse:
        try:
            response = await self._http.send(request, stream=True)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            raise OutboundFailed(
                f"{request.method} {request.url}: could not connect ({exc or type(exc).__name__})"
            ) from exc
        except httpx2.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        try:
            bodiless = request.method == "HEAD" or response.status_code in _NO_BODY
            body = b"" if bodiless else await _read(response, limit)
        finally:
            await response.aclose()
        headers = {k.lower(): v for k, v in response.headers.items()}
        return OutboundResponse(
            response.status_code, headers, body, str(request.url), (), response.charset_encoding
        )


async def _read(response: httpx2.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(response, f"declares {declared} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_large(response, f"sent more than {limit} bytes", limit)
            chunks.append(chunk)
    except httpx2.TimeoutException as exc:
        raise TimeoutError(str(exc)) from exc
    except httpx2.TransportError as exc:
        raise OutboundFailed(f"{response.request.url}: the connection broke: {exc}") from exc
    return b"".join(chunks)


def _too_large(response: httpx2.Response, what: str, limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"response from {response.request.url} {what}, over the {limit}-byte limit; "
        "raise max_bytes or request a smaller resource"
    )


def _next_hop(request: httpx2.Request, status: int, location: str) -> httpx2.Request:
    url = request.url.join(location)
    method = request.method
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx2.Headers(request.headers)
    headers.pop("host", None)
    if (
        url.scheme != request.url.scheme
        or url.host != request.url.host
        or url.port != request.url.port
    ):
        headers.pop("authorization", None)
        headers.pop("cookie", None)
    if method != request.method:
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
        return httpx2.Request(method, url, headers=headers, extensions=request.extensions)
    return httpx2.Request(
        method, url, headers=headers, content=request.content, extensions=request.extensions
    )
