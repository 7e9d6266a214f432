"""Structured output: a pydantic model as the answer's type.

``request_structured`` asks for JSON matching the type's schema, then parses the answer:
first as is, then after a deterministic repair (``repair_json``: code fences, prose around
the JSON, single quotes, trailing commas, Python literals), then by asking the model ONCE to
correct itself (told what was wrong), and finally fails with a ``ModelError`` that shows
the error and the output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from fluxio.engine.context import RunContext
from fluxio.errors import ModelError
from fluxio.models.messages import Message, ModelRequest, ModelResponse
from fluxio.models.port import Model
from fluxio.models.repair import repair_json
from fluxio.models.step import call_model

__all__ = ["StructuredResult", "parse_output", "request_structured"]

T = TypeVar("T", bound=BaseModel)
Repair = Literal["none", "deterministic", "model"]


@dataclass(frozen=True, slots=True)
class StructuredResult(Generic[T]):
    """The parsed output, the responses it took (one or two), and which repair was needed."""

    output: T
    responses: tuple[ModelResponse, ...]
    repair: Repair


def parse_output(text: str | None, output_type: type[T]) -> tuple[T, Repair]:
    """Parse ``text`` as ``output_type``, repairing almost-JSON deterministically if needed.

    Returns:
        The value, and ``"none"`` or ``"deterministic"`` for how it was read.

    Raises:
        ValueError: the text is not valid for ``output_type`` even after repair; the message
            says what is wrong (this is what the model is told in the repair request).
    """
    if not text or not text.strip():
        raise ValueError("the reply was empty")
    try:
        return output_type.model_validate_json(text), "none"
    except ValidationError as strict_error:
        first_error = strict_error
    try:
        data = repair_json(text)
    except ValueError as exc:
        raise ValueError(f"the reply is not JSON ({exc})") from None
    try:
        return output_type.model_validate(data), "deterministic"
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from first_error


async def request_structured(
    model: Model,
    request: ModelRequest,
    output_type: type[T],
    *,
    ctx: RunContext | None = None,
) -> StructuredResult[T]:
    """Ask ``model`` for an answer of type ``output_type``.

    Args:
        model: the model to ask.
        request: the conversation; a system instruction with the JSON Schema is added.
        output_type: a pydantic model class.
        ctx: inside a run, pass the run's context so both calls are journaled steps.

    Raises:
        ModelError: (not retryable) the answer did not fit after one repair request.
    """
    schema = output_type.model_json_schema()
    asked = _with_schema_instruction(request, schema)
    first = await _ask(model, asked, ctx)
    try:
        output, repair = parse_output(first.content, output_type)
        return StructuredResult(output, (first,), repair)
    except ValueError as error:
        problem = str(error)
    fix = asked.followed_by(
        Message.assistant(first.content or ""),
        Message.user(
            f"Your reply is not valid: {problem}. Reply again with only the JSON object that "
            "matches the schema, with no prose and no code fences."
        ),
    )
    second = await _ask(model, fix, ctx)
    try:
        output, _ = parse_output(second.content, output_type)
    except ValueError as error:
        raise ModelError(
            f"model {model.name} did not produce a valid {output_type.__name__} after a "
            f"deterministic repair and one repair request: {error}. Last reply: "
            f"{(second.content or '')[:300]!r}. Try a stronger model, a simpler schema or a "
            "lower temperature.",
            retryable=False,
        ) from None
    return StructuredResult(output, (first, second), "model")


async def _ask(model: Model, request: ModelRequest, ctx: RunContext | None) -> ModelResponse:
    if ctx is not None:
        return await call_model(ctx, model, request)
    return await model.request(request)


def _with_schema_instruction(request: ModelRequest, schema: dict[str, Any]) -> ModelRequest:
    """Put the schema instruction in the (first) system message; chat templates of local
    models often refuse a system message anywhere but first."""
    instruction = (
        "Reply with only a JSON object that matches this JSON Schema, with no prose and no "
        f"code fences:\n{json.dumps(schema)}"
    )
    messages = list(request.messages)
    if messages and messages[0].role == "system":
        head = messages[0].content or ""
        messages[0] = Message.system(f"{head}\n\n{instruction}" if head else instruction)
    else:
        messages.insert(0, Message.system(instruction))
    return request.model_copy(update={"messages": tuple(messages), "output_schema": schema})


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(the whole value)"
        parts.append(f"{where}: {item['msg']}")
    return "the JSON does not match the schema (" + "; ".join(parts) + ")"
