"""What the DSL knows about types: annotations, assignability, and JSON round trips.

Steps carry their input and output types so that ``validate`` can compare neighbours before
anything runs, and so that a replayed result (JSON from the journal) is turned back into the
same Python type live execution produced.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from fluxio.errors import DefinitionError, StepFailed

__all__ = ["Codec", "is_assignable", "parameter_types", "to_plain", "type_name"]

_NUMERIC = {int: (float, complex), float: (complex,)}


def parameter_types(fn: Callable[..., Any], *, skip: int = 0) -> tuple[Any, Any]:
    """The annotated type of ``fn``'s first parameter after ``skip`` ones, and its return type.

    Missing annotations are ``Any``. Raises ``DefinitionError`` when an annotation names a type
    that cannot be resolved.
    """
    try:
        hints = typing.get_type_hints(fn)
    except NameError as exc:
        raise DefinitionError(
            f"cannot resolve the type annotations of {_qualname(fn)}: {exc}.",
            suggestion="Define the types it uses at module level, before the step is used.",
        ) from exc
    params = list(inspect.signature(fn).parameters.values())[skip:]
    first = hints.get(params[0].name, Any) if params else Any
    return first, hints.get("return", Any)


def is_assignable(source: Any, target: Any) -> bool:
    """Whether a value of type ``source`` may be passed where ``target`` is expected.

    Lenient on purpose: ``Any``, missing annotations, type variables and forms it does not
    understand are compatible, so only real mismatches are reported.
    """
    if _is_any(source) or _is_any(target) or source == target:
        return True
    target_members = _union_members(target)
    if target_members is not None:
        return any(is_assignable(source, t) for t in target_members)
    source_members = _union_members(source)
    if source_members is not None:
        return all(is_assignable(s, target) for s in source_members)
    return _is_subtype(source, target)


def type_name(tp: Any) -> str:
    """A short readable name for a type: ``int``, ``list[Ticket]``, ``Any``."""
    if _is_any(tp):
        return "Any"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def to_plain(value: Any) -> Any:
    """A value as JSON-compatible Python (pydantic models and dataclasses included)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    return to_jsonable_python(value)


class Codec:
    """Converts values to one type: rehydrates journal JSON and coerces step inputs.

    The pydantic ``TypeAdapter`` is built once, on first use, and kept by this codec.
    """

    def __init__(self, tp: Any) -> None:
        self.type = tp

    @property
    def is_any(self) -> bool:
        """Whether the type says nothing (``Any`` or missing): values pass unchanged."""
        return _is_any(self.type)

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type)

    def decode(self, value: Any) -> Any:
        """``value`` (JSON from the journal, or a live result) as this codec's type."""
        if self.is_any:
            return value
        return self._adapter.validate_python(value)

    def decoder(self) -> Callable[[Any], Any] | None:
        """``decode`` for ``RunContext.step``, or ``None`` when there is nothing to decode."""
        return None if self.is_any else self.decode

    def coerce_input(self, value: Any, step: str) -> Any:
        """A step input validated into a pydantic model or dataclass input type.

        Other input types pass unchanged. Raises a non-retryable ``StepFailed`` naming the step
        when the value does not fit.
        """
        if not _is_structured(self.type) or isinstance(value, self.type):
            return value
        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise StepFailed(
                f"step {step!r} expects a {type_name(self.type)} but got "
                f"{type(value).__name__} that does not fit ({problems}). Fix the run input or "
                "the output of the step before it.",
                retryable=False,
                error_type="InvalidInput",
            ) from exc


def _is_structured(tp: Any) -> bool:
    return isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp))


def _is_any(tp: Any) -> bool:
    return (
        tp is Any or tp is object or isinstance(tp, typing.TypeVar) or tp is inspect.Parameter.empty
    )


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _is_subtype(source: Any, target: Any) -> bool:
    s_origin, t_origin = typing.get_origin(source) or source, typing.get_origin(target) or target
    if s_origin is typing.Literal:
        return all(is_assignable(type(v), target) for v in typing.get_args(source))
    if not isinstance(s_origin, type) or not isinstance(t_origin, type):
        return True  # a form we do not reason about (Annotated, NewType, ...)
    if t_origin in _NUMERIC.get(s_origin, ()):
        return True
    try:
        if not issubclass(s_origin, t_origin):
            return False
    except TypeError:
        return True
    s_args, t_args = typing.get_args(source), typing.get_args(target)
    if not s_args or not t_args or len(s_args) != len(t_args) or Ellipsis in t_args:
        return True
    return all(is_assignable(s, t) for s, t in zip(s_args, t_args, strict=True))


def _qualname(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
