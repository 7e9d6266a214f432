"""Turning an OpenAPI schema into a self-contained JSON Schema a tool contract can carry.

Every ``$ref`` is expanded in place, so the result needs nothing else to validate against and a
model sees the whole shape. OpenAPI 3.0's dialect is translated to JSON Schema 2020-12
(``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum``); annotations that only bloat a
contract (``example``, ``xml``, ``externalDocs``, ``discriminator``, ``x-*``) are dropped.

A schema that contains itself (``Node.children: [Node]``) is expanded once; where it recurs, and
beyond ``MAX_REF_DEPTH`` nested references, the schema is left open (``{}`` with a description
saying why) so that conversion always ends.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from fluxio.tools.openapi.refs import MAX_REF_DEPTH, RefContext

__all__ = ["to_json_schema"]

_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "additionalItems",
    }
)
_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_DROPPED = frozenset({"example", "examples", "xml", "externalDocs", "discriminator", "$schema"})


def to_json_schema(schema: Any, context: RefContext) -> dict[str, Any]:
    """Expand and translate one OpenAPI schema object.

    Args:
        schema: the schema as written in the document (it may be a ``$ref``).
        context: where it sits, for references and error messages.

    Raises:
        DefinitionError: a ``$ref`` inside the schema is broken.
    """
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    if not isinstance(schema, dict):
        return {}
    if isinstance(schema.get("$ref"), str):
        return _expand_ref(schema, context)
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        converted[key] = _convert_keyword(key, value, context.at(key))
    return _translate_30(converted)


def _expand_ref(schema: dict[str, Any], context: RefContext) -> dict[str, Any]:
    ref = schema["$ref"]
    uri = urljoin(context.base, ref)
    if uri in context.stack:
        return {"description": f"recursive reference to {ref}, not expanded further"}
    if len(context.stack) >= MAX_REF_DEPTH:
        return {"description": f"{ref} is nested over {MAX_REF_DEPTH} references deep"}
    target, inner = context.follow(schema)
    inner = replace(inner, stack=(*context.stack, uri))
    return to_json_schema(target, inner)


def _convert_keyword(key: str, value: Any, context: RefContext) -> Any:
    if key in _SCHEMA_MAPS and isinstance(value, dict):
        return {name: to_json_schema(sub, context.at(name)) for name, sub in value.items()}
    if key in _SCHEMA_LISTS and isinstance(value, list):
        return [to_json_schema(sub, context.at(i)) for i, sub in enumerate(value)]
    if key in _SCHEMA_VALUES and isinstance(value, dict | bool):
        return to_json_schema(value, context) if isinstance(value, dict) else value
    if key == "items" and isinstance(value, list):  # draft-04 tuple form
        return [to_json_schema(sub, context.at(i)) for i, sub in enumerate(value)]
    return value


def _translate_30(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite OpenAPI 3.0-only keywords into their JSON Schema 2020-12 spelling.

    Two common slips that JSON Schema would reject are dropped rather than failing the import:
    a ``type`` that JSON Schema does not know (Swagger's ``file``) and ``required: true`` on a
    property.
    """
    kind = schema.get("type")
    if isinstance(kind, str) and kind not in _TYPES:
        del schema["type"]
    elif isinstance(kind, list):
        schema["type"] = [k for k in kind if k in _TYPES]
    if "required" in schema and not isinstance(schema["required"], list):
        del schema["required"]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(bound)
        if isinstance(flag, bool):
            del schema[bound]
            if flag and limit in schema:
                schema[bound] = schema.pop(limit)
    if schema.pop("nullable", False) is True:
        return _nullable(schema)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list):
        schema["type"] = [*kind, "null"] if "null" not in kind else kind
    else:
        return {"anyOf": [schema, {"type": "null"}]}
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema
