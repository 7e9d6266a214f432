"""The operations of an OpenAPI document, each read into what a tool needs to describe and call it.

Tool names come from ``operationId`` (characters other than letters, digits, ``_`` and ``-``
become ``_``, at most 64 characters, as model APIs require); an operation without one is named
from its method and path (``GET /pets/{petId}`` becomes ``get_pets_petId``). Two operations with
the same ``operationId`` are an error in the spec and are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from fluxio.errors import DefinitionError
from fluxio.tools.openapi.document import OpenAPIDocument
from fluxio.tools.openapi.inputs import RequestInputs, read_inputs
from fluxio.tools.openapi.refs import RefContext
from fluxio.tools.openapi.schemas import to_json_schema

__all__ = ["HTTP_METHODS", "ErrorResponse", "Operation", "read_operations", "server_urls"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_NAME = 64


@dataclass(frozen=True)
class ErrorResponse:
    """An error response the spec documents (``404``, ``5XX``, ``default``)."""

    code: str
    description: str
    recoverable: bool


@dataclass(frozen=True)
class Operation:
    """One HTTP operation, read and resolved.

    Args:
        name: the tool name (prefix included).
        method: the HTTP method in capitals.
        path: the path template, e.g. ``/pets/{petId}``.
        operation_id: the spec's ``operationId``, if it has one.
        summary: the spec's summary (may be empty).
        description: the spec's description (may be empty).
        tags: the operation's tags.
        deprecated: the spec marks it deprecated.
        inputs: the input schema and where each property goes on the wire.
        output_schema: the JSON Schema of the first 2xx JSON response, or ``None``.
        errors: the error responses the spec documents.
        servers: server URLs declared on the operation or its path (they win over the spec's).
    """

    name: str
    method: str
    path: str
    operation_id: str | None
    summary: str
    description: str
    tags: tuple[str, ...]
    deprecated: bool
    inputs: RequestInputs
    output_schema: dict[str, Any] | None
    errors: tuple[ErrorResponse, ...]
    servers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``getPet (GET /pets/{petId})``: how errors name the operation."""
        return f"{self.operation_id or self.name} ({self.method} {self.path})"


def read_operations(document: OpenAPIDocument, *, prefix: str = "") -> list[Operation]:
    """Read every operation under ``paths``, in document order.

    Raises:
        DefinitionError: a broken ``$ref``, a duplicate ``operationId``, or malformed ``paths``.
    """
    paths = document.root.get("paths") or {}
    if not isinstance(paths, dict):
        raise DefinitionError("'paths' must be a mapping of path templates", file=document.source)
    root = RefContext(document, document.uri)
    operations: list[Operation] = []
    for path, raw_item in paths.items():
        item, item_context = root.at("paths", path).follow(raw_item)
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                operations.append(_read_one(path, method, item, item_context))
    return _named(operations, prefix, document.source)


def server_urls(servers: Any) -> tuple[str, ...]:
    """The URLs of a ``servers`` list, with ``{variables}`` replaced by their defaults."""
    urls: list[str] = []
    for server in servers if isinstance(servers, list) else []:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        url = server["url"]
        for name, variable in (server.get("variables") or {}).items():
            if isinstance(variable, dict) and "default" in variable:
                url = url.replace("{" + name + "}", str(variable["default"]))
        urls.append(url)
    return tuple(urls)


def _read_one(path: str, method: str, item: dict[str, Any], item_context: RefContext) -> Operation:
    spec = item[method]
    operation_id = spec.get("operationId")
    label = f"{method.upper()} {path}"
    if operation_id is not None:
        label = f"{operation_id} ({label})"
    item_context = replace(item_context, operation=label)
    context = item_context.at(method)
    parameters = _merged_parameters(
        (item.get("parameters"), item_context), (spec.get("parameters"), context)
    )
    inputs = read_inputs(parameters, spec.get("requestBody"), context)
    responses = spec.get("responses") if isinstance(spec.get("responses"), dict) else {}
    tags = spec.get("tags") if isinstance(spec.get("tags"), list) else []
    return Operation(
        name=str(operation_id) if operation_id is not None else "",
        method=method.upper(),
        path=path,
        operation_id=str(operation_id) if operation_id is not None else None,
        summary=str(spec.get("summary") or ""),
        description=str(spec.get("description") or ""),
        tags=tuple(str(t) for t in tags),
        deprecated=bool(spec.get("deprecated", False)),
        inputs=inputs,
        output_schema=_output_schema(responses, context.at("responses")),
        errors=_errors(responses, context.at("responses")),
        servers=server_urls(spec.get("servers")) or server_urls(item.get("servers")),
    )


def _merged_parameters(
    *levels: tuple[Any, RefContext],
) -> list[tuple[Any, RefContext]]:
    """Path-level parameters, overridden by operation-level ones with the same name and place."""
    merged: dict[tuple[str, str], tuple[Any, RefContext]] = {}
    for group, context in levels:
        for index, raw in enumerate(group if isinstance(group, list) else []):
            param, inner = context.at("parameters", index).follow(raw)
            if isinstance(param, dict):
                merged[(str(param.get("name")), str(param.get("in")))] = (param, inner)
    return list(merged.values())


def _output_schema(responses: dict[str, Any], context: RefContext) -> dict[str, Any] | None:
    codes = sorted(c for c in responses if c.startswith("2"))
    for code in codes:
        response, inner = context.at(code).follow(responses[code])
        content = response.get("content") if isinstance(response, dict) else None
        if not isinstance(content, dict):
            return None
        for media, body in content.items():
            plain = media.lower().split(";")[0].strip()
            if (plain == "application/json" or plain.endswith("+json")) and isinstance(body, dict):
                return to_json_schema(body.get("schema", {}), inner.at("content", media, "schema"))
        return None
    return None


def _errors(responses: dict[str, Any], context: RefContext) -> tuple[ErrorResponse, ...]:
    found = []
    for code, raw in responses.items():
        if code[:1] not in ("4", "5") and code != "default":
            continue
        response, _ = context.at(code).follow(raw)
        text = str(response.get("description", "")) if isinstance(response, dict) else ""
        recoverable = code.startswith("5") or code == "429"
        found.append(ErrorResponse(code=code, description=text, recoverable=recoverable))
    return tuple(found)


def _sanitize(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]+", "_", text)).strip("_")


def _named(operations: list[Operation], prefix: str, source: str) -> list[Operation]:
    by_id: dict[str, Operation] = {}
    taken: dict[str, Operation] = {}
    named = []
    for op in operations:
        if op.operation_id is not None and op.operation_id in by_id:
            first = by_id[op.operation_id]
            raise DefinitionError(
                f"operationId {op.operation_id!r} is used by both {first.method} {first.path} "
                f"and {op.method} {op.path}",
                file=source,
                suggestion="operationIds must be unique; rename one of them.",
            )
        base = _sanitize(op.operation_id or f"{op.method.lower()}_{op.path}") or op.method.lower()
        name = re.sub(r"[^A-Za-z0-9_-]", "_", prefix) + base
        name = (name if re.match(r"[A-Za-z_]", name) else f"op_{name}")[:MAX_NAME]
        name = _unique(name, op, taken, source)
        renamed = replace(op, name=name)
        taken[name] = renamed
        if op.operation_id is not None:
            by_id[op.operation_id] = renamed
        named.append(renamed)
    return named


def _unique(name: str, op: Operation, taken: dict[str, Operation], source: str) -> str:
    if name not in taken:
        return name
    other = taken[name]
    if op.operation_id is not None and other.operation_id is not None:
        raise DefinitionError(
            f"operationIds {other.operation_id!r} and {op.operation_id!r} both become the "
            f"tool name {name!r}",
            file=source,
            suggestion="Rename one so they differ in letters, digits, '_' or '-'.",
        )
    counter = 2
    while f"{name[: MAX_NAME - 3]}_{counter}" in taken:
        counter += 1
    return f"{name[: MAX_NAME - 3]}_{counter}"
