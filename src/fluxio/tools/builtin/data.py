"""Data tools: ``transform_data`` (JMESPath), ``validate_schema`` and ``check_condition`` (CEL).

All three are pure functions of their arguments: no side effects, idempotent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel

from fluxio.errors import DefinitionError, UsageError
from fluxio.expressions import compile_cel, compile_jmespath
from fluxio.tools import tool

__all__ = [
    "ConditionResult",
    "SchemaValidation",
    "SchemaViolation",
    "TransformResult",
    "check_condition",
    "transform_data",
    "validate_schema",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")


class TransformResult(BaseModel):
    """What ``transform_data`` returns."""

    result: Any


class SchemaViolation(BaseModel):
    """One way the data breaks the schema.

    Attributes:
        path: where in the data, as ``$.items[0].name`` (``$`` is the whole value).
        message: what is wrong.
        validator: the JSON Schema keyword that failed, e.g. ``required`` or ``type``.
        schema_path: where in the schema that keyword is.
    """

    path: str
    message: str
    validator: str
    schema_path: str


class SchemaValidation(BaseModel):
    """What ``validate_schema`` returns; invalid data is a result, not an error."""

    valid: bool
    errors: list[SchemaViolation]
    truncated: bool = False


class ConditionResult(BaseModel):
    """What ``check_condition`` returns: the boolean and the values it was decided on."""

    result: bool
    explanation: str


@tool(
    category="data",
    tags=("data", "transform", "jmespath"),
    capabilities=("transform_data",),
    timeout=10.0,
)
async def transform_data(data: Any, expression: str) -> TransformResult:
    """Reshape JSON data with a JMESPath expression (select, filter, project, rename).

    Args:
        data: the JSON value to transform.
        expression: a JMESPath expression, e.g. "items[?price > `10`].{name: name}".
    """
    try:
        compiled = compile_jmespath(expression)
    except DefinitionError as exc:
        detail = " ".join(str(exc.__cause__ or exc).split())
        raise UsageError(
            f"transform_data: {expression!r} is not a valid JMESPath expression ({detail}); "
            "see https://jmespath.org for the syntax"
        ) from exc
    return TransformResult(result=compiled.search(data))


@tool(
    category="data",
    tags=("data", "validation", "json-schema"),
    capabilities=("validate_schema",),
    timeout=10.0,
)
async def validate_schema(
    data: Any, schema: dict[str, Any], max_errors: int = 50
) -> SchemaValidation:
    """Check JSON data against a JSON Schema and list every violation with its path.

    Args:
        data: the JSON value to check.
        schema: the JSON Schema (draft 2020-12 unless it names another in $schema).
        max_errors: report at most this many violations.
    """
    validator_cls = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = _pointer(exc.absolute_path, "#")
        raise UsageError(
            f"the schema is not a valid JSON Schema at {where}: {exc.message}"
        ) from exc
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    found = sorted(
        validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    errors = [_violation(error) for error in found[:max_errors]]
    return SchemaValidation(valid=not found, errors=errors, truncated=len(found) > max_errors)


@tool(
    category="logic",
    tags=("logic", "condition", "cel"),
    capabilities=("check_condition",),
    timeout=5.0,
)
async def check_condition(condition: str, context: dict[str, Any] | None = None) -> ConditionResult:
    """Evaluate a CEL condition (e.g. "order.total > 100 && order.country == 'NL'") to a boolean.

    Args:
        condition: the CEL expression; it must give true or false.
        context: the variables the condition may use, by name.
    """
    variables = context or {}
    try:
        compiled = compile_cel(condition)
    except DefinitionError as exc:
        column = getattr(exc.__cause__, "column", None)
        where = f" at column {column}" if column else ""
        raise UsageError(
            f"check_condition: {condition!r} is not a valid CEL expression (syntax error{where}); "
            "CEL compares with ==, !=, <, > and combines with &&, || and ! (see https://cel.dev)"
        ) from exc
    try:
        result = compiled.test(variables)
    except UsageError as exc:
        missing = _UNDECLARED.search(str(exc))
        if missing is None:
            raise
        available = ", ".join(sorted(variables)) or "none"
        raise UsageError(
            f"check_condition: {condition!r} uses {missing[1]!r}, which the context does not "
            f"define (available: {available}); add it to context or fix the name"
        ) from exc
    used = [name for name in dict.fromkeys(_IDENTIFIER.findall(condition)) if name in variables]
    values = ", ".join(f"{name}={_short(variables[name])}" for name in used)
    explanation = f"{condition} is {str(result).lower()}" + (f" for {values}" if values else "")
    return ConditionResult(result=result, explanation=explanation)


def _violation(error: ValidationError) -> SchemaViolation:
    return SchemaViolation(
        path=_json_path(error.absolute_path),
        message=error.message,
        validator=str(error.validator),
        schema_path=_pointer(error.absolute_schema_path, "#"),
    )


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _pointer(parts: Any, root: str) -> str:
    return root + "".join(f"/{part}" for part in parts)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
