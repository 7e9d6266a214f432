"""The one adapter for expressions: CEL for conditions, JMESPath for data mapping. Never eval.

Both compile once (at definition load time, so errors surface before anything runs) and
evaluate many times against plain JSON-compatible Python values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
import jmespath
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from jmespath.exceptions import JMESPathError

from fluxio.errors import DefinitionError, UsageError

__all__ = ["CelExpression", "JmesPath", "compile_cel", "compile_jmespath"]

logging.getLogger("celpy").setLevel(logging.WARNING)
_ENV = celpy.Environment()


@dataclass(frozen=True)
class CelExpression:
    """A compiled CEL expression; ``evaluate`` returns plain Python values."""

    source: str
    _program: Any = field(repr=False, compare=False)

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against ``variables`` (JSON-compatible). Raises ``UsageError`` on failure."""
        try:
            result = self._program.evaluate(
                {name: json_to_cel(value) for name, value in variables.items()}
            )
        except CELEvalError as exc:
            raise UsageError(
                f"CEL expression {self.source!r} could not be evaluated: {_first_line(exc)}. "
                f"Available variables: {', '.join(sorted(variables)) or 'none'}."
            ) from exc
        if isinstance(result, CELEvalError):
            raise UsageError(
                f"CEL expression {self.source!r} could not be evaluated: {_first_line(result)}"
            )
        return to_python(result)

    def test(self, variables: Mapping[str, Any]) -> bool:
        """Evaluate as a condition; the result must be a boolean."""
        result = self.evaluate(variables)
        if not isinstance(result, bool):
            raise UsageError(
                f"CEL condition {self.source!r} gave {type(result).__name__} {result!r}, "
                "not a boolean; compare explicitly, e.g. `x == true` or `size(x) > 0`"
            )
        return result


def compile_cel(source: str) -> CelExpression:
    """Compile a CEL expression; raises ``DefinitionError`` pointing at the bad column."""
    try:
        program = _ENV.program(_ENV.compile(source))
    except CELParseError as exc:
        raise DefinitionError(
            f"invalid CEL expression {source!r}: {_first_line(exc)}",
            suggestion="CEL uses &&, ||, ! and == (see https://cel.dev).",
        ) from exc
    return CelExpression(source, program)


@dataclass(frozen=True)
class JmesPath:
    """A compiled JMESPath expression for mapping data between steps."""

    source: str
    _parsed: Any = field(repr=False, compare=False)

    def search(self, data: Any) -> Any:
        """Apply the expression to ``data``; missing keys give ``None``."""
        try:
            return self._parsed.search(data)
        except JMESPathError as exc:
            raise UsageError(f"JMESPath {self.source!r} failed: {exc}") from exc


def compile_jmespath(source: str) -> JmesPath:
    """Compile a JMESPath expression; raises ``DefinitionError`` when it does not parse."""
    try:
        return JmesPath(source, jmespath.compile(source))
    except JMESPathError as exc:
        raise DefinitionError(
            f"invalid JMESPath expression {source!r}: {_first_line(exc)}",
            suggestion="Refer to data as `input.field` or `steps.<id>.output.field`.",
        ) from exc


def to_python(value: Any) -> Any:
    """A CEL value as plain Python (bool, int, float, str, bytes, list, dict, None)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.BytesType):
        return bytes(value)
    if isinstance(value, celtypes.ListType):
        return [to_python(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {to_python(k): to_python(v) for k, v in value.items()}
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return " ".join(text.strip().splitlines()[:1])[:300]
