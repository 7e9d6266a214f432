"""``import_openapi``: every operation of an OpenAPI 3.x document as a ready-to-call ``Tool``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from fluxio.errors import UsageError
from fluxio.tools.openapi.auth import AuthConfig
from fluxio.tools.openapi.contracts import contract_of, semver_of
from fluxio.tools.openapi.document import Fetch, OpenAPIDocument, is_url, load_document
from fluxio.tools.openapi.executor import HttpCall
from fluxio.tools.openapi.operations import Operation, read_operations, server_urls
from fluxio.tools.outbound import OutboundClient
from fluxio.tools.runtime import Tool

if TYPE_CHECKING:
    from fluxio.tools.registry import ToolRegistry

__all__ = ["SPEC_MAX_BYTES", "http_call_of", "import_openapi", "register_openapi"]

SPEC_MAX_BYTES = 64 * 1024 * 1024
"""The largest spec fetched from a URL (large public specs run to several megabytes)."""


async def import_openapi(
    source: str | Path,
    *,
    prefix: str = "",
    auth: AuthConfig | None = None,
    base_url: str | None = None,
    client: OutboundClient | None = None,
) -> list[Tool]:
    """Read an OpenAPI 3.0/3.1 document and build one tool per operation, in document order.

    Args:
        source: a YAML or JSON file, or an http(s) URL (fetched through ``client``).
        prefix: put before every tool name, e.g. ``"petstore_"``.
        auth: credentials to send with every call (read from the environment at call time).
        base_url: the server to call; default is the spec's first ``servers`` URL (relative
            ones resolve against the spec's URL).
        client: the outbound client that fetches the spec and sends the calls; without one a
            default client (public addresses only) is opened for each request.

    Raises:
        UsageError: the file is missing or the URL cannot be fetched.
        DefinitionError: not OpenAPI 3.x, a broken ``$ref``, duplicate ``operationId``\\ s.
    """
    document = await _load(source, client)
    version = semver_of(str((document.root.get("info") or {}).get("version", "")))
    tools = []
    for operation in read_operations(document, prefix=prefix):
        contract = contract_of(operation, version=version, source=document.source)
        server = base_url or _server(operation, document)
        call = HttpCall(operation, server, auth, client)
        tools.append(Tool(contract=contract, fn=call.send))
    return tools


async def register_openapi(
    registry: ToolRegistry, source: str | Path, **options: Any
) -> list[Tool]:
    """``import_openapi(source, **options)`` and register every tool into ``registry``."""
    tools = await import_openapi(source, **options)
    for tool in tools:
        registry.register(tool)
    return tools


def http_call_of(tool: Tool) -> HttpCall | None:
    """The HTTP binding (operation, server, auth) of an imported tool, or ``None``."""
    call = getattr(tool.fn, "__self__", None)
    return call if isinstance(call, HttpCall) else None


async def _load(source: str | Path, client: OutboundClient | None) -> OpenAPIDocument:
    if not is_url(source):
        return await load_document(source, _fetcher(client))
    if client is not None:
        return await load_document(source, _fetcher(client))
    async with OutboundClient() as own:
        return await load_document(source, _fetcher(own))


def _fetcher(client: OutboundClient | None) -> Fetch:
    async def fetch(url: str) -> str:
        if client is None:
            async with OutboundClient() as own:
                return await _get(own, url)
        return await _get(client, url)

    return fetch


async def _get(client: OutboundClient, url: str) -> str:
    response = await client.get(url, max_bytes=SPEC_MAX_BYTES)
    if not 200 <= response.status_code < 300:
        raise UsageError(
            f"could not fetch the OpenAPI document: GET {url} answered {response.status_code}; "
            "check the URL"
        )
    return response.text


def _server(operation: Operation, document: OpenAPIDocument) -> str | None:
    """The first absolute server URL; a spec without ``servers`` means ``/`` (OpenAPI's rule)."""
    declared = server_urls(document.root.get("servers")) or ("/",)
    for url in (*operation.servers, *declared):
        absolute = urljoin(document.uri, url) if document.uri.startswith("http") else url
        if urlparse(absolute).scheme in ("http", "https"):
            return absolute
    return None
