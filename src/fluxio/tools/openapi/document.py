"""Reading an OpenAPI 3.x document from a file or a URL, with every file it references.

A document is parsed as JSON or YAML and checked to be OpenAPI 3.0 or 3.1 before anything else
looks at it. The documents its ``$ref``\\ s name in other files (``common.yaml#/Pet``) are read up
front, so that resolving references later is pure; a document that cannot be read is remembered
with the reason, and reported only if an operation actually needs it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import yaml

from fluxio.errors import DefinitionError, UsageError

__all__ = ["Fetch", "OpenAPIDocument", "fetch_url_text", "is_url", "load_document", "parse_text"]

Fetch = Callable[[str], Awaitable[str]]
"""Reads the text at an http(s) URL (through the outbound client)."""

SUPPORTED = ("3.0", "3.1")


@dataclass(frozen=True)
class OpenAPIDocument:
    """A parsed OpenAPI 3.x document and the other documents its references reach.

    Args:
        root: the document itself, as plain JSON-like data.
        uri: where it came from (``file:///...`` or ``https://...``); references resolve against it.
        source: how the user named it, for error messages.
        documents: every document read, by URI (the root included).
        unreadable: URIs that a reference names but that could not be read, with the reason.
    """

    root: dict[str, Any]
    uri: str
    source: str
    documents: dict[str, Any] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The document's ``openapi`` version string, e.g. ``"3.0.3"``."""
        return str(self.root["openapi"])

    @property
    def title(self) -> str:
        """The API's title from ``info.title`` (empty when absent)."""
        info = self.root.get("info")
        return str(info.get("title", "")) if isinstance(info, dict) else ""


def is_url(source: str | Path) -> bool:
    """Whether ``source`` names an http(s) URL rather than a file."""
    return isinstance(source, str) and urlparse(source).scheme in ("http", "https")


async def load_document(source: str | Path, fetch: Fetch | None) -> OpenAPIDocument:
    """Read, parse and check an OpenAPI 3.x document, then read the files it references.

    Args:
        source: a file path (YAML or JSON) or an http(s) URL.
        fetch: reads an http(s) URL; needed for URL sources and references to URLs.

    Raises:
        UsageError: the file does not exist or the URL cannot be read.
        DefinitionError: the text is not YAML/JSON, or not an OpenAPI 3.0/3.1 document.
    """
    uri = str(source) if is_url(source) else _file_uri(source)
    label = str(source)
    text = await _read(uri, label, fetch)
    root = parse_text(text, label)
    check_openapi(root, label)
    documents: dict[str, Any] = {uri: root}
    unreadable: dict[str, str] = {}
    await _read_referenced(root, uri, documents, unreadable, fetch)
    return OpenAPIDocument(root, uri, label, documents, unreadable)


def parse_text(text: str, label: str) -> Any:
    """Parse JSON or YAML text into plain data (mapping keys as strings, dates left as text).

    Raises:
        DefinitionError: naming the line of the syntax error.
    """
    if text.lstrip().startswith("{"):
        try:
            return _stringify_keys(json.loads(text))
        except json.JSONDecodeError as exc:
            raise DefinitionError(
                f"not valid JSON: {exc.msg}", file=label, line=exc.lineno
            ) from None
    try:
        data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(
            f"not valid YAML or JSON: {problem}",
            file=label,
            line=line,
            suggestion="Check the file is an OpenAPI document in YAML or JSON.",
        ) from None
    return _stringify_keys(data)


def check_openapi(root: Any, label: str) -> None:
    """Refuse anything that is not an OpenAPI 3.0 or 3.1 document, saying what it is instead.

    Raises:
        DefinitionError: for a non-mapping, a Swagger 2.0 document, no or another version.
    """
    if not isinstance(root, dict):
        kind = type(root).__name__ if root is not None else "empty"
        raise DefinitionError(
            f"not an OpenAPI 3.x document: the top level is {kind}, expected a mapping",
            file=label,
        )
    if "swagger" in root:
        raise DefinitionError(
            f"this is a Swagger {root['swagger']} document; fluxio imports OpenAPI 3.0 and 3.1",
            file=label,
            suggestion="Convert it first, e.g. `npx swagger2openapi spec.yaml -o openapi.yaml`.",
        )
    if "openapi" not in root:
        raise DefinitionError("not an OpenAPI 3.x document: no 'openapi' field", file=label)
    version = str(root["openapi"])
    if not version.startswith(tuple(f"{v}." for v in SUPPORTED)) and version not in SUPPORTED:
        raise DefinitionError(
            f"OpenAPI version {version!r} is not supported; fluxio imports 3.0 and 3.1",
            file=label,
        )


async def fetch_url_text(fetch: Fetch | None, url: str) -> str:
    """Read a URL with ``fetch``, refusing clearly when there is no client to do it."""
    if fetch is None:
        raise UsageError(f"cannot read {url}: no outbound HTTP client was given")
    return await fetch(url)


async def _read(uri: str, label: str, fetch: Fetch | None) -> str:
    if uri.startswith("file:"):
        return _read_file(Path(unquote(urlparse(uri).path)), label)
    return await fetch_url_text(fetch, uri)


def _file_uri(source: str | Path) -> str:
    return Path(source).expanduser().resolve().as_uri()


def _read_file(path: Path, label: str) -> str:
    if not path.is_file():
        raise UsageError(f"no such OpenAPI file: {label}; check the path")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {label}: {exc}") from None


async def _read_referenced(
    node: Any, base: str, documents: dict[str, Any], unreadable: dict[str, str], fetch: Fetch | None
) -> None:
    for ref in _refs(node):
        target = urldefrag(urljoin(base, ref)).url
        if target in documents or target in unreadable:
            continue
        if base.startswith(("http:", "https:")) and not target.startswith(("http:", "https:")):
            unreadable[target] = "a document read from a URL may only reference other URLs"
            continue
        try:
            document = parse_text(await _read(target, target, fetch), target)
        except (UsageError, OSError) as exc:
            unreadable[target] = str(exc)
            continue
        documents[target] = document
        await _read_referenced(document, target, documents, unreadable, fetch)


def _refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in ``node`` that names another document (not only a ``#`` fragment)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                yield ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _stringify_keys(data: Any) -> Any:
    """YAML reads ``200:`` as an int key; OpenAPI means the string ``"200"``."""
    if isinstance(data, dict):
        return {str(k): _stringify_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stringify_keys(v) for v in data]
    return data


class _PlainLoader(yaml.SafeLoader):
    """A safe YAML loader that keeps timestamps as strings, so specs stay JSON-compatible."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
