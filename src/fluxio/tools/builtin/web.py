"""HTTP tools through the one ``OutboundClient`` (SSRF guard, redirect re-checks, size cap).

Two tools, because a contract's flags cannot depend on the arguments: ``http_get`` (GET or
HEAD, no side effects, idempotent, retried freely) and ``http_request`` (any method, treated as
side-effecting and not idempotent, so the kernel records an intent and never retries blindly).
Non-2xx answers are results, not errors: the caller decides what a 404 means.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from fluxio.errors import UsageError
from fluxio.tools import Tool, tool
from fluxio.tools.outbound import OutboundClient, OutboundResponse

__all__ = ["HttpMethod", "HttpResult", "web_tools"]

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_TIMEOUT_MARGIN = 5.0


class HttpResult(BaseModel):
    """What the HTTP tools return.

    Attributes:
        status: the final status code.
        ok: whether the status is 2xx.
        url: the final URL, after redirects.
        headers: response headers, lower-case names.
        text: the body as text (bounded by ``max_bytes``).
        data: the body parsed as JSON when the response says it is JSON, else ``None``.
        redirects: the URLs that redirected, in order.
    """

    status: int
    ok: bool
    url: str
    headers: dict[str, str]
    text: str
    data: Any = None
    redirects: list[str]


def web_tools(client: OutboundClient) -> list[Tool]:
    """``http_get`` and ``http_request``, sending through ``client``."""
    timeout = client.timeout + _TIMEOUT_MARGIN

    @tool(
        category="http", tags=("http", "web", "read"), capabilities=("http_get", "fetch_url"),
        side_effects=False, idempotent=True, timeout=timeout,
    )  # fmt: skip
    async def http_get(
        url: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        method: Literal["GET", "HEAD"] = "GET",
        max_bytes: int | None = None,
    ) -> HttpResult:
        """Fetch a URL with GET (or HEAD); only public addresses unless allow-listed.

        Args:
            url: an http or https URL.
            params: query parameters to add to the URL.
            headers: request headers.
            method: 'GET' or 'HEAD'.
            max_bytes: refuse bodies larger than this; the client's limit always applies.
        """
        response = await client.request(
            method, url, params=params, headers=headers, max_bytes=_cap(client, max_bytes)
        )
        return _result(response)

    @tool(
        category="http", tags=("http", "web", "write"), capabilities=("http_request", "api_call"),
        side_effects=True, idempotent=False, timeout=timeout,
    )  # fmt: skip
    async def http_request(
        method: HttpMethod,
        url: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        body: str | None = None,
        max_bytes: int | None = None,
    ) -> HttpResult:
        """Send an HTTP request (any method) and return the status, headers and body.

        Args:
            method: the HTTP method, e.g. 'POST'.
            url: an http or https URL; only public addresses unless allow-listed.
            params: query parameters to add to the URL.
            headers: request headers.
            json: a JSON body (sets Content-Type: application/json); give this or body.
            body: a raw text body.
            max_bytes: refuse bodies larger than this; the client's limit always applies.
        """
        if json is not None and body is not None:
            raise UsageError("http_request takes a json body or a text body, not both")
        response = await client.request(
            method, url, params=params, headers=headers, json=json, content=body,
            max_bytes=_cap(client, max_bytes),
        )  # fmt: skip
        return _result(response)

    return [http_get, http_request]


def _cap(client: OutboundClient, max_bytes: int | None) -> int:
    """A caller (often a model) may lower the client's body limit, never raise it."""
    return client.max_bytes if max_bytes is None else min(max_bytes, client.max_bytes)


def _result(response: OutboundResponse) -> HttpResult:
    content_type = response.headers.get("content-type", "")
    is_json = "json" in content_type.split(";")[0]
    data = _json_or_none(response) if is_json and response.content else None
    return HttpResult(
        status=response.status_code,
        ok=200 <= response.status_code < 300,
        url=response.url,
        headers=dict(response.headers),
        text=response.text,
        data=data,
        redirects=list(response.redirects),
    )


def _json_or_none(response: OutboundResponse) -> Any:
    try:
        return response.json()
    except UsageError:
        return None
