"""An operation's parameters and request body, as one tool input schema and a wire plan.

The tool takes one JSON object. Its properties are the operation's path, query, header and cookie
parameters under their own names, plus the request body:

- a JSON (or form) body whose schema is a plain object with ``properties`` is **flattened**: its
  properties sit beside the parameters (``{"petId": 1, "name": "Rex"}``);
- any other body (an array, a primitive, ``allOf``/``oneOf`` compositions, an object that allows
  additional properties, or one whose property names clash with a parameter) goes whole under a
  ``body`` property.

A parameter whose name repeats in another location (``id`` in the path and in a header) is
renamed ``<in>_<name>`` (``header_id``). ``Argument`` records, for each input property, where it
goes on the wire, so the executor can rebuild the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fluxio.tools.openapi.refs import RefContext
from fluxio.tools.openapi.schemas import to_json_schema

__all__ = ["Argument", "RequestInputs", "read_inputs"]

Location = Literal["path", "query", "header", "cookie", "body", "body_field"]

_RESERVED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_MEDIA_PREFERENCE = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
)


@dataclass(frozen=True)
class Argument:
    """Where one input property goes in the HTTP request.

    Args:
        name: the property name in the tool's input.
        location: ``path``/``query``/``header``/``cookie``, ``body`` (the whole body) or
            ``body_field`` (one property of a flattened object body).
        wire_name: the parameter or body property name as the API spells it.
        explode: for arrays and objects in the query: one ``key=value`` per item (the OpenAPI
            default for ``form`` style) rather than a comma-separated list.
    """

    name: str
    location: Location
    wire_name: str
    explode: bool = True


@dataclass(frozen=True)
class RequestInputs:
    """The tool's input schema and how each property maps onto the request."""

    schema: dict[str, Any]
    arguments: tuple[Argument, ...]
    media_type: str | None = None


def read_inputs(
    parameters: list[tuple[Any, RefContext]], body: Any, context: RefContext
) -> RequestInputs:
    """Build the input schema from (already merged) parameters and the request body.

    Args:
        parameters: the operation's resolved parameter objects, each with the context it was
            read in (path-level ones merged in).
        body: the ``requestBody`` object or ``None``.
        context: the operation's reference context.
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    arguments: list[Argument] = []
    for param, inner in parameters:
        if not _is_sent(param):
            continue
        argument = _parameter_argument(param, properties)
        properties[argument.name] = _parameter_schema(param, inner)
        if param.get("required") or param["in"] == "path":
            required.append(argument.name)
        arguments.append(argument)
    media_type = None
    if body is not None:
        media_type = _add_body(body, context.at("requestBody"), properties, required, arguments)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return RequestInputs(schema, tuple(arguments), media_type)


def _is_sent(param: Any) -> bool:
    """Whether a parameter is the caller's to give (OpenAPI ignores three reserved headers)."""
    if not isinstance(param, dict) or param.get("in") not in ("path", "query", "header", "cookie"):
        return False
    name = str(param.get("name", "")).lower()
    return not (param["in"] == "header" and name in _RESERVED_HEADERS)


def _parameter_argument(param: dict[str, Any], taken: dict[str, Any]) -> Argument:
    wire = str(param.get("name", ""))
    location = param["in"]
    name = wire if wire not in taken else f"{location}_{wire}"
    style = param.get("style", "form" if location in ("query", "cookie") else "simple")
    explode = bool(param.get("explode", style == "form"))
    return Argument(name=name, location=location, wire_name=wire, explode=explode)


def _parameter_schema(param: dict[str, Any], context: RefContext) -> dict[str, Any]:
    raw = param.get("schema")
    where = context.at("schema")
    if raw is None and isinstance(param.get("content"), dict) and param["content"]:
        media, content = next(iter(param["content"].items()))
        raw = content.get("schema") if isinstance(content, dict) else None
        where = context.at("content", media, "schema")
    schema = to_json_schema(raw, where) if raw is not None else {}
    if param.get("description") and "description" not in schema:
        schema = {**schema, "description": str(param["description"])}
    if param.get("deprecated"):
        schema = {**schema, "deprecated": True}
    return schema


def _add_body(
    raw: Any,
    context: RefContext,
    properties: dict[str, Any],
    required: list[str],
    arguments: list[Argument],
) -> str | None:
    body, inner = context.follow(raw)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, dict) or not content:
        return None
    media_type = _pick_media_type(list(content))
    media = content[media_type] if isinstance(content[media_type], dict) else {}
    schema = to_json_schema(media.get("schema", {}), inner.at("content", media_type, "schema"))
    if _flattens(schema, properties):
        for name, sub in schema["properties"].items():
            properties[name] = sub
            arguments.append(Argument(name=name, location="body_field", wire_name=name))
        if body.get("required", False):
            required.extend(n for n in schema.get("required", []) if n in schema["properties"])
        return media_type
    if body.get("description") and "description" not in schema:
        schema = {**schema, "description": str(body["description"])}
    properties["body"] = schema
    arguments.append(Argument(name="body", location="body", wire_name="body"))
    if body.get("required", False):
        required.append("body")
    return media_type


def _pick_media_type(types: list[str]) -> str:
    lowered = {t.lower().split(";")[0].strip(): t for t in types}
    for preferred in _MEDIA_PREFERENCE:
        if preferred in lowered:
            return lowered[preferred]
    for plain, original in lowered.items():
        if plain.endswith("+json"):
            return original
    return types[0]


def _flattens(schema: dict[str, Any], taken: dict[str, Any]) -> bool:
    props = schema.get("properties")
    if schema.get("type") not in ("object", None) or not isinstance(props, dict) or not props:
        return False
    if any(k in schema for k in ("allOf", "anyOf", "oneOf", "not", "patternProperties")):
        return False
    extra = schema.get("additionalProperties")
    if extra not in (None, False):
        return False
    return "body" not in props and not any(name in taken for name in props)
