"""``FakeModel``: a scripted, deterministic model for testing agents and workflows offline.

Each request takes the next entry of the script:

- a ``str``: the answer's text;
- a ``ModelResponse`` (``FakeModel.text(...)``, ``FakeModel.tool_call(...)``): returned as is,
  with usage filled in if it has none;
- an exception (``FakeModel.error(...)``, any ``ModelError``): raised;
- a callable ``(ModelRequest) -> entry`` (sync or async): called, its result used as above.

When the script runs out, ``default`` answers (if given); otherwise the call is refused
with a ``UsageError`` that says how many requests were scripted. Usage counts words (input:
every message; output: text and tool-call arguments) so budgets can be tested.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeAlias

from fluxio.errors import ModelError, UsageError
from fluxio.models import (
    ModelRequest,
    ModelResponse,
    Price,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["FakeModel", "Scripted"]

Answer: TypeAlias = str | ModelResponse | BaseException
Scripted: TypeAlias = Answer | Callable[[ModelRequest], Answer | Awaitable[Answer]]
"""One entry of a FakeModel's script."""


class FakeModel:
    """A model that answers from a script and remembers what it was asked.

    Args:
        script: the answers, in order (see the module docstring for what an entry can be).
        default: answers every request after the script is used up.
        name: the model's name (journal step ``model:<name>``, ``ModelResponse.model``).
        price: USD per million words in and out, for testing cost budgets.
        delay: seconds each call takes (for timeouts); reported as its latency.
    """

    def __init__(
        self,
        script: Iterable[Scripted] = (),
        *,
        default: Scripted | None = None,
        name: str = "fake",
        price: Price | None = None,
        delay: float = 0.0,
    ) -> None:
        self.script: list[Scripted] = list(script)
        self.default = default
        self.price = price
        self.delay = delay
        self.requests: list[ModelRequest] = []
        self._name = name
        self._position = 0

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    @property
    def calls(self) -> int:
        """How many requests the model has received."""
        return len(self.requests)

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer with the next scripted entry."""
        self.requests.append(request)
        number = len(self.requests)
        entry = self._next_entry(number)
        answer: Any = entry
        if callable(entry) and not isinstance(entry, BaseException):
            answer = entry(request)
            if inspect.isawaitable(answer):
                answer = await answer
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(answer, BaseException):
            raise answer
        return self._response(answer, request, number)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream the next answer word by word, then its tool calls, then ``StreamEnd``."""
        response = await self.request(request)
        words = (response.content or "").split(" ")
        for i, word in enumerate(words if response.content else []):
            yield TextDelta(word if i == 0 else f" {word}")
        for i, call in enumerate(response.tool_calls):
            yield ToolCallDelta(i, call.id, call.name, json.dumps(call.arguments))
        yield StreamEnd(response)

    def _next_entry(self, number: int) -> Scripted:
        if self._position < len(self.script):
            self._position += 1
            return self.script[self._position - 1]
        if self.default is not None:
            return self.default
        raise UsageError(
            f"FakeModel {self.name!r} got request #{number} but its script has "
            f"{len(self.script)} answer(s); add answers or give default="
        )

    def _response(self, entry: Any, request: ModelRequest, number: int) -> ModelResponse:
        if isinstance(entry, str):
            entry = FakeModel.text(entry)
        if not isinstance(entry, ModelResponse):
            raise UsageError(
                f"FakeModel {self.name!r}: script entry #{number} is a {type(entry).__name__}; "
                "use a str, a ModelResponse, an exception or a callable returning one"
            )
        calls = tuple(
            call if call.id else call.model_copy(update={"id": f"call_{number}_{i}"})
            for i, call in enumerate(entry.tool_calls)
        )
        usage = entry.usage if entry.usage != Usage() else self._usage(request, entry)
        return entry.model_copy(update={"tool_calls": calls, "usage": usage, "model": self.name})

    def _usage(self, request: ModelRequest, response: ModelResponse) -> Usage:
        words_in = sum(_words(m.content) for m in request.messages)
        words_in += sum(
            _words(json.dumps(c.arguments)) for m in request.messages for c in m.tool_calls
        )
        words_out = _words(response.content)
        words_out += sum(_words(json.dumps(c.arguments)) for c in response.tool_calls)
        cost = self.price.cost(words_in, words_out) if self.price else 0.0
        return Usage(
            input_tokens=words_in,
            output_tokens=words_out,
            cost_usd=cost,
            latency_ms=self.delay * 1000,
        )

    @staticmethod
    def text(content: str) -> ModelResponse:
        """A scripted text answer."""
        return ModelResponse(content=content, model="fake", finish_reason="stop")

    @staticmethod
    def tool_call(
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        id: str = "",
        content: str | None = None,
    ) -> ModelResponse:
        """A scripted answer that calls one tool (the id is made up if not given)."""
        return FakeModel.tool_calls((name, arguments or {}, id), content=content)

    @staticmethod
    def tool_calls(
        *calls: tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], str],
        content: str | None = None,
    ) -> ModelResponse:
        """A scripted answer that calls several tools: ``(name, arguments[, id])`` each."""
        made = tuple(
            ToolCall(id=call[2] if len(call) > 2 else "", name=call[0], arguments=dict(call[1]))
            for call in calls
        )
        return ModelResponse(
            content=content, tool_calls=made, model="fake", finish_reason="tool_calls"
        )

    @staticmethod
    def error(
        message: str = "scripted model failure",
        *,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> ModelError:
        """A scripted failure, raised as ``ModelError`` when its turn comes."""
        return ModelError(message, retryable=retryable, retry_after=retry_after)


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0
