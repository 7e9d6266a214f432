"""YAML tool definitions: contract fields plus ``handler: "package.module:function"``.

A file holds one tool (a mapping), a list of tools, or ``tools: [...]``. Each entry has the
``ToolContract`` fields and a ``handler`` to import. Without an ``input_schema`` the schemas and
description come from the handler's typed signature, as with ``@tool``; with one, the handler
receives the JSON arguments as they are. Seed 000's ``inputs``/``outputs`` lists (``name``,
``type``, ``required``, ``description``, ``default``, ``schema``) are accepted as well.

```yaml
- name: send_email
  version: 1.2.0
  handler: mycompany.mail:send_email
  category: messaging
  side_effects: true
  idempotent: false
  timeout: 10
```
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import importlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fluxio.errors import DefinitionError, UsageError
from fluxio.tools.contract import ToolContract
from fluxio.tools.decorator import describe_function
from fluxio.tools.runtime import Tool
from fluxio.yamlsource import parse_yaml

__all__ = ["load_tools"]

SUFFIXES = (".yaml", ".yml", ".json")
_JSON_TYPES = {
    **{t: t for t in ("string", "integer", "number", "boolean", "object", "array", "null")},
    **{"str": "string", "int": "integer", "float": "number", "bool": "boolean"},
    **{"dict": "object", "list": "array"},
}
Loc = tuple[str | int, ...]


class _Doc:
    """A parsed file: its data and the line of every value (path -> 1-based line)."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.data, line_map = parse_yaml(text, file)
        self.lines: dict[Loc, int] = line_map.lines
        if self.data is None:
            raise self._fail("the file is empty; define a tool with `name:` and `handler:`", 1)

    def line(self, loc: Loc) -> int | None:
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc)

    def error(self, message: str, loc: Loc, suggestion: str | None = None) -> DefinitionError:
        return self._fail(message, self.line(loc), suggestion)

    def _fail(
        self, message: str, line: int | None, suggestion: str | None = None
    ) -> DefinitionError:
        return DefinitionError(message, file=self.file, line=line, suggestion=suggestion)


def load_tools(path_or_text: str | os.PathLike[str]) -> list[Tool]:
    """Load the tools defined in a YAML/JSON file, every such file in a folder, or YAML text.

    A ``str`` is a path when it is one line ending in ``.yaml``, ``.yml`` or ``.json``, or
    names a folder; any other string is the definition itself (``<string>`` in errors).

    Raises:
        DefinitionError: the file is invalid; the message gives file, line and a fix.
    """
    if isinstance(path_or_text, str) and not _looks_like_path(path_or_text):
        return _load_text(path_or_text, "<string>")
    path = Path(path_or_text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        return [t for file in files for t in load_tools(file)]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read the file: {exc}", file=str(path)) from exc
    return _load_text(text, str(path))


def _looks_like_path(text: str) -> bool:
    one_line = "\n" not in text
    return one_line and (text.strip().lower().endswith(SUFFIXES) or Path(text).is_dir())


def _load_text(text: str, file: str) -> list[Tool]:
    doc = _Doc(text, file)
    data: Any = doc.data
    base: Loc = ()
    if isinstance(data, dict) and "tools" in data and "name" not in data:
        data, base = data["tools"], ("tools",)
    if isinstance(data, dict):
        return [_tool(doc, data, base)]
    if not isinstance(data, list):
        raise doc.error("a tool file holds a tool (mapping) or a list of tools", base)
    return [_tool(doc, entry, (*base, i)) for i, entry in enumerate(data)]


def _tool(doc: _Doc, entry: Any, loc: Loc) -> Tool:
    if not isinstance(entry, dict):
        raise doc.error(f"a tool must be a mapping, not {type(entry).__name__}", loc)
    fields = dict(entry)
    handler = _handler(doc, fields.pop("handler", None), loc)
    for key, schema_key in (("inputs", "input_schema"), ("outputs", "output_schema")):
        if key in fields:
            fields[schema_key] = _fields_schema(doc, fields.pop(key), (*loc, key))
    if "input_schema" in fields:
        fn = _plain_call(handler)
    else:
        try:
            shape = describe_function(handler, str(fields.get("name", "")))
        except UsageError as exc:
            raise doc.error(str(exc), (*loc, "handler")) from None
        fields["input_schema"] = shape.input_schema
        fields.setdefault("output_schema", shape.output_schema)
        fields.setdefault("description", shape.description)
        fn = shape.call
    return Tool(_contract(doc, fields, loc), fn)


def _handler(doc: _Doc, spec: Any, loc: Loc) -> Callable[..., Any]:
    where = (*loc, "handler")
    if not isinstance(spec, str) or ":" not in spec:
        raise doc.error(
            'every tool needs `handler: "package.module:function"`',
            where if spec is not None else loc,
            suggestion="Name the Python function that does the work.",
        )
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise doc.error(
            f"cannot import handler module {module_name!r}: {exc}",
            where,
            suggestion="Check the module name and that its package is on sys.path (PYTHONPATH).",
        ) from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise doc.error(f"module {module_name!r} has no attribute {attr!r}", where)
        target = getattr(target, part)
    if isinstance(target, Tool):
        return target.fn
    if not callable(target):
        raise doc.error(f"handler {spec!r} is a {type(target).__name__}, not a callable", where)
    return target  # type: ignore[no-any-return]


def _plain_call(handler: Callable[..., Any]) -> Callable[..., Any]:
    is_async = inspect.iscoroutinefunction(handler)

    async def call(**arguments: Any) -> Any:
        if is_async:
            return await handler(**arguments)
        return await asyncio.to_thread(handler, **arguments)

    functools.update_wrapper(call, handler)
    return call


def _fields_schema(doc: _Doc, items: Any, loc: Loc) -> dict[str, Any]:
    if not isinstance(items, list):
        raise doc.error("`inputs`/`outputs` must be a list of {name, type, ...}", loc)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise doc.error("each entry needs a `name`", (*loc, i))
        schema = dict(item.get("schema") or {"type": _json_type(doc, item, (*loc, i))})
        if "description" in item:
            schema["description"] = item["description"]
        if "default" in item:
            schema["default"] = item["default"]
        properties[item["name"]] = schema
        if item.get("required", "default" not in item):
            required.append(item["name"])
    return {"type": "object", "properties": properties, "required": required}


def _json_type(doc: _Doc, item: dict[str, Any], loc: Loc) -> str:
    given = item.get("type", "string")
    if given not in _JSON_TYPES:
        raise doc.error(
            f"unknown type {given!r} for {item['name']!r}",
            (*loc, "type"),
            suggestion=f"Use one of {', '.join(sorted(set(_JSON_TYPES.values())))}, or `schema:`.",
        )
    return _JSON_TYPES[given]


def _contract(doc: _Doc, fields: dict[str, Any], loc: Loc) -> ToolContract:
    try:
        return ToolContract.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = (*loc, *error["loc"])
        field = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(field, list(ToolContract.model_fields), n=1)
            hint = f"Did you mean `{close[0]}`?" if close else "See docs/tools.md for the fields."
            raise doc.error(f"unknown tool field `{field}`", where, suggestion=hint) from None
        message = str(error["msg"]).removeprefix("Value error, ")
        raise doc.error(f"tool field `{field}`: {message}", where) from None
