"""``@tool``: turn a typed Python function into a ``Tool`` whose contract comes from its signature.

The input schema is the JSON Schema of a pydantic model built from the parameters, the output
schema that of the return annotation; the docstring's first line is the description and its
Google-style ``Args:`` lines describe the parameters. Arguments are validated and coerced by
pydantic before the call, so a parameter typed ``order: Order`` receives an ``Order``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import re
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack, overload

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic.json_schema import PydanticJsonSchemaWarning

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import ToolInputInvalid, UsageError
from fluxio.tools.contract import (
    AuditLevel,
    ErrorSpec,
    ExecutionMode,
    RetrySpec,
    ToolStatus,
    ToolType,
    make_contract,
)
from fluxio.tools.runtime import Tool

__all__ = ["FunctionShape", "ToolOptions", "describe_function", "tool"]

_T = TypeVar("_T")
_ARG = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_ARGS_HEADERS = ("Args:", "Arguments:", "Parameters:")


class ToolOptions(TypedDict, total=False):
    """The keyword arguments of ``@tool``; each sets the ``ToolContract`` field of that name."""

    name: str
    id: str
    version: str
    description: str
    type: ToolType
    category: str
    tags: Sequence[str]
    capabilities: Sequence[str]
    output_schema: Mapping[str, Any] | None
    errors: Sequence[ErrorSpec | Mapping[str, Any]]
    execution_mode: ExecutionMode
    timeout: float | None
    retry: RetryPolicy | RetrySpec | Mapping[str, Any] | None
    requires: Sequence[str]
    conflicts_with: Sequence[str]
    permission_required: str | None
    audit_level: AuditLevel
    side_effects: bool
    idempotent: bool
    reversible: bool
    reverse_with: str | None
    cost_per_call: float
    expected_latency_ms: float | None
    status: ToolStatus
    deprecated_by: str | None
    sunset_date: dt.date | str | None


@overload
def tool(fn: Callable[..., Any], /, **options: Unpack[ToolOptions]) -> Tool: ...


@overload
def tool(
    fn: None = None, /, **options: Unpack[ToolOptions]
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None, /, **options: Unpack[ToolOptions]
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a typed function a tool; use bare (``@tool``) or with contract fields.

    Example:
        >>> @tool(category="text", tags=("demo",))
        ... async def shout(text: str, times: int = 1) -> str:
        ...     '''Upper-case text.'''
        ...     return text.upper() * times
        >>> shout.contract.input_schema["required"]
        ['text']

    Args:
        fn: the function (sync or async); its parameters become the tool's arguments.
        **options: ``ToolContract`` fields: ``name`` (default: the function's name),
            ``version``, ``description`` (default: the docstring's first line), ``category``,
            ``tags``, ``capabilities``, ``type``, ``side_effects``, ``idempotent``, ``timeout``,
            ``retry``, ``cost_per_call``, ``permission_required``, ``audit_level``,
            ``reversible``, ``reverse_with``, ``requires``, ``conflicts_with``, ``status``,
            ``deprecated_by``, ``sunset_date``, ``errors``, ``execution_mode``.

    Raises:
        UsageError: a parameter's type has no JSON Schema, or a contract field is invalid.
    """

    def build(function: Callable[..., Any]) -> Tool:
        name = str(options.get("name") or getattr(function, "__name__", ""))
        shape = describe_function(function, name)
        fields: dict[str, Any] = {
            "description": shape.description,
            "input_schema": shape.input_schema,
            "output_schema": shape.output_schema,
            **options,
            "name": name,
        }
        return Tool(make_contract(fields), shape.call)

    return build(fn) if fn is not None else build


@dataclass(frozen=True)
class FunctionShape:
    """What a function's signature and docstring say about it as a tool.

    Attributes:
        input_schema: JSON Schema of the keyword arguments.
        output_schema: JSON Schema of the return annotation; ``None`` if not annotated.
        description: the docstring's first line.
        call: ``async def (**arguments)`` that validates and coerces, then calls the function.
    """

    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    description: str
    call: Callable[..., Any]


def describe_function(fn: Callable[..., Any], name: str) -> FunctionShape:
    """Derive a tool's schemas, description and validating call from a typed function.

    Raises:
        UsageError: an annotation cannot be resolved or has no JSON Schema.
    """
    if not callable(fn):
        raise UsageError(f"tool {name!r}: {fn!r} is not callable")
    hints = _hints(fn, name)
    description, docs = _docstring(fn)
    model, aliases = _arguments_model(fn, name, hints, docs)
    input_schema = _schema(name, "its parameters", lambda: _input_schema(model))
    output_schema = None
    if "return" in hints:
        returns = hints["return"]
        output_schema = _schema(
            name,
            "its return type",
            lambda: TypeAdapter(returns).json_schema(mode="serialization"),
        )
    return FunctionShape(
        input_schema, output_schema or None, description, _validating_call(fn, name, model, aliases)
    )


def _hints(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    target: Any = fn.func if isinstance(fn, functools.partial) else fn
    if inspect.isclass(target):
        target = target.__init__
    elif not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except (NameError, TypeError) as exc:
        raise UsageError(
            f"tool {name!r}: cannot resolve the type annotations of {fn!r} ({exc}); define the "
            "types it names at module level, or import them outside `if TYPE_CHECKING`"
        ) from exc
    if inspect.isclass(fn):  # a constructor's "-> None" is not what calling the class returns
        hints.pop("return", None)
    return hints


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    lines = (inspect.getdoc(fn) or "").splitlines()
    description = lines[0].strip() if lines else ""
    docs: dict[str, str] = {}
    in_args, indent, current = False, 0, ""
    for line in lines[1:]:
        stripped, lead = line.strip(), len(line) - len(line.lstrip())
        if stripped in _ARGS_HEADERS:
            in_args, indent = True, 0
        elif in_args and stripped and lead == 0:
            in_args = False
        elif in_args and stripped:
            indent = indent or lead
            match = _ARG.match(stripped) if lead == indent else None
            if match:
                current, docs[match[1]] = match[1], match[2]
            elif current and lead > indent:
                docs[current] = f"{docs[current]} {stripped}".strip()
    return description, docs


def _arguments_model(
    fn: Callable[..., Any], name: str, hints: Mapping[str, Any], docs: Mapping[str, str]
) -> tuple[type[BaseModel], dict[str, str]]:
    fields: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    extra = "forbid"
    for i, param in enumerate(_signature(fn, name).parameters.values()):
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise UsageError(
                f"tool {name!r}: parameter {param.name!r} is positional-only, but tools are "
                "called with named arguments; remove the '/' from the signature"
            )
        default = ... if param.default is inspect.Parameter.empty else param.default
        annotation = hints.get(param.name, Any)
        # Internal field names avoid clashes with BaseModel attributes (schema, json, copy...).
        fields[f"p{i}"] = (
            annotation,
            Field(default, alias=param.name, description=docs.get(param.name)),
        )
        aliases[f"p{i}"] = param.name
    config = ConfigDict(extra=extra)  # type: ignore[typeddict-item]
    model: type[BaseModel] = _schema(
        name,
        "its parameters",
        lambda: create_model(f"{name}_arguments", __config__=config, **fields),
    )
    return model, aliases


def _signature(fn: Callable[..., Any], name: str) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"tool {name!r}: cannot read the signature of {fn!r} ({exc}); wrap it in a function "
            "with named, typed parameters"
        ) from exc


def _input_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def _schema(name: str, what: str, make: Callable[[], _T]) -> _T:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
        try:
            return make()
        except PydanticUserError as exc:
            raise UsageError(
                f"tool {name!r}: {what} cannot be described as JSON Schema ({exc.message}); use "
                "JSON types, dataclasses, TypedDicts or pydantic models"
            ) from exc


def _validating_call(
    fn: Callable[..., Any], name: str, model: type[BaseModel], aliases: Mapping[str, str]
) -> Callable[..., Any]:
    is_async = inspect.iscoroutinefunction(fn)

    async def call(**arguments: Any) -> Any:
        try:
            parsed = model.model_validate(arguments)
        except PydanticValidationError as exc:
            raise ToolInputInvalid(f"tool {name!r} {_problem(exc)}") from None
        values = {alias: getattr(parsed, field) for field, alias in aliases.items()}
        values.update(parsed.model_extra or {})
        if is_async:
            return await fn(**values)
        return await asyncio.to_thread(fn, **values)

    functools.update_wrapper(call, fn)
    return call


def _problem(exc: PydanticValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"argument {where!r}: {error['msg']}{more}" if where else f"arguments: {error['msg']}"
