"""Calling an OpenAPI operation: from tool arguments to an HTTP request, and back to a result.

``HttpCall`` is the function behind an imported tool. It substitutes path parameters
(URL-encoded), adds query, header and cookie parameters and the body, applies the configured
auth, and sends the request through the ``OutboundClient`` (so the SSRF guard applies). The
answer becomes the tool's result or a step failure:

- 2xx: the JSON body (or the text, or ``None`` when empty);
- 429 and 5xx: a retryable ``StepFailed`` (``Retry-After`` honoured), type ``http_<status>``;
- other 4xx: a non-retryable ``StepFailed`` carrying the server's message.

Connection failures and timeouts surface as the client's ``OutboundFailed``/``OutboundTimeout``
(retryable); a refused address as ``OutboundRefused`` (not retryable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fluxio.errors import StepFailed, UsageError
from fluxio.tools.openapi.auth import AuthConfig
from fluxio.tools.openapi.bodies import encode_body
from fluxio.tools.openapi.inputs import Argument
from fluxio.tools.openapi.operations import Operation
from fluxio.tools.outbound import OutboundClient, OutboundResponse

__all__ = ["HttpCall", "HttpRequest"]

_MESSAGE_KEYS = ("message", "detail", "error_description", "error", "title", "msg")


@dataclass
class HttpRequest:
    """The request an operation call sends (before auth is applied, secrets are not in it)."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass(frozen=True)
class HttpCall:
    """Performs one operation over HTTP; ``send`` is an imported tool's ``fn``.

    Args:
        operation: the operation, as read from the spec.
        base_url: the server URL the path is appended to; ``None`` fails each call clearly.
        auth: how to authenticate, if the API needs it.
        client: the outbound client to send through; without one, each call opens (and closes)
            a client with the default guard, which only reaches public addresses...
        allow_hosts: ...and these hosts (used only without ``client``).
    """

    operation: Operation
    base_url: str | None
    auth: AuthConfig | None = None
    client: OutboundClient | None = None
    allow_hosts: tuple[str, ...] = ()

    async def send(self, **arguments: Any) -> Any:
        """Send the request for ``arguments`` and return the decoded 2xx answer."""
        request = self.build(arguments)
        if self.auth is not None:
            self.auth.apply(request.headers, request.params, self.operation.name)
        try:
            response = await self._send(request)
        except (StepFailed, UsageError) as exc:
            raise _scrubbed(exc, self.auth) from None
        return self.result(response)

    def build(self, arguments: dict[str, Any]) -> HttpRequest:
        """The request for ``arguments``: URL with path values, query, headers and body."""
        parts = _Parts(self.operation.path)
        for argument in self.operation.inputs.arguments:
            if arguments.get(argument.name) is not None:
                parts.add(argument, arguments[argument.name])
        request = HttpRequest(self.operation.method, self._url(parts.path), parts.params)
        request.headers.update(parts.headers)
        if parts.cookies:
            request.headers["Cookie"] = "; ".join(parts.cookies)
        self._add_body(request, parts.body())
        return request

    def result(self, response: OutboundResponse) -> Any:
        """The tool result of a 2xx answer; raises ``StepFailed`` for any other status."""
        status = response.status_code
        if 200 <= status < 300:
            return _decode(response)
        retryable = status == 429 or status >= 500
        label = f"{self.operation.method} {response.url.split('?')[0]}"
        raise StepFailed(
            f"tool {self.operation.name!r}: {label} answered {status} {_phrase(status)}: "
            f"{_server_message(response)}",
            retryable=retryable,
            retry_after=_retry_after(response) if retryable else None,
            error_type=f"http_{status}",
        )

    def _url(self, path: str) -> str:
        if self.base_url is None:
            raise StepFailed(
                f"tool {self.operation.name!r} has no server URL: the spec declares no absolute "
                "'servers' URL; import it again with base_url (CLI: --base-url)",
                retryable=False,
                error_type="NoBaseURL",
            )
        return self.base_url.rstrip("/") + path

    def _add_body(self, request: HttpRequest, body: Any) -> None:
        media_type = self.operation.inputs.media_type
        if self.operation.output_schema is not None:
            request.headers.setdefault("Accept", "application/json")
        if body is not None and media_type is not None:
            request.content, request.headers["Content-Type"] = encode_body(body, media_type)

    async def _send(self, request: HttpRequest) -> OutboundResponse:
        if self.client is not None:
            return await self._send_with(self.client, request)
        async with OutboundClient(allow_hosts=self.allow_hosts) as client:
            return await self._send_with(client, request)

    async def _send_with(self, client: OutboundClient, request: HttpRequest) -> OutboundResponse:
        # The client drops Authorization on a redirect to another origin, but not a custom
        # API-key header: with one, redirects are not followed (a 3xx fails the call).
        keeps_key = self.auth is not None and self.auth.kind == "apikey"
        return await client.request(
            request.method,
            request.url,
            params=request.params or None,
            headers=request.headers,
            content=request.content,
            follow_redirects=not keeps_key,
        )


@dataclass
class _Parts:
    """A request being assembled from arguments, one argument at a time."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    whole: Any = None

    def add(self, argument: Argument, value: Any) -> None:
        where, wire = argument.location, argument.wire_name
        if where == "path":
            self.path = self.path.replace("{" + wire + "}", quote(_flat(value), safe=""))
        elif where == "query":
            _add_query(self.params, wire, value, argument.explode)
        elif where == "header":
            self.headers[wire] = _flat(value)
        elif where == "cookie":
            self.cookies.append(f"{wire}={quote(_flat(value), safe='')}")
        elif where == "body":
            self.whole = value
        else:
            self.fields[wire] = value

    def body(self) -> Any:
        """The whole body, or the flattened fields as one object, or ``None``."""
        return self.whole if self.whole is not None else (self.fields or None)


def _scrubbed(exc: StepFailed | UsageError, auth: AuthConfig | None) -> Exception:
    """The client's error with an API key sent in the query cut out of its message (URLs)."""
    secret = auth.secret_in_url() if auth is not None else None
    if not secret or secret not in str(exc):
        return exc
    message = str(exc).replace(secret, "***")
    if isinstance(exc, StepFailed):
        return StepFailed(
            message,
            retryable=exc.retryable,
            retry_after=exc.retry_after,
            error_type=exc.error_type,
        )
    return type(exc)(message)


def _flat(value: Any) -> str:
    """A parameter value as text: ``simple`` style (lists and objects comma-separated)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_flat(v)}" for k, v in value.items())
    return str(value)


def _add_query(params: dict[str, Any], name: str, value: Any, explode: bool) -> None:
    if isinstance(value, dict) and explode:
        params.update({str(k): _flat(v) for k, v in value.items()})
    elif isinstance(value, list) and explode:
        params[name] = [_flat(v) for v in value]
    else:
        params[name] = _flat(value)


def _decode(response: OutboundResponse) -> Any:
    if not response.content:
        return None
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json.loads(response.text)
        except ValueError:
            return response.text
    return response.text


def _server_message(response: OutboundResponse, limit: int = 500) -> str:
    text = response.text.strip()
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in _MESSAGE_KEYS:
            if data.get(key):
                found = data[key]
                text = found if isinstance(found, str) else json.dumps(found)
                break
    text = text or "(empty body)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(response: OutboundResponse) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
