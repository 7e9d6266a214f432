"""The data a model call exchanges: messages, tool definitions, settings, the response, usage.

These are pydantic v2 frozen models because they cross edges: the journal stores a
``ModelResponse`` as JSON and replay decodes it with ``ModelResponse.model_validate``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Message",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "Role",
    "ToolCall",
    "ToolDefinition",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ToolCall(BaseModel):
    """A model's request to call a tool: ``id`` links the tool's result back to it."""

    model_config = _FROZEN

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    """One message of a conversation.

    ``tool_calls`` only appear on assistant messages; a ``tool`` message carries a tool's result
    in ``content`` and names the call it answers in ``tool_call_id``.
    """

    model_config = _FROZEN

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Message:
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages carry tool_calls, not {self.role} ones")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id: the id of the call it answers")
        return self

    @classmethod
    def system(cls, content: str) -> Message:
        """A system prompt."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user turn."""
        return cls(role="user", content=content)

    @classmethod
    def assistant(
        cls, content: str | None = None, tool_calls: tuple[ToolCall, ...] = ()
    ) -> Message:
        """An assistant turn: text, tool calls, or both."""
        return cls(role="assistant", content=content, tool_calls=tool_calls)

    @classmethod
    def tool(cls, tool_call_id: str, content: str, name: str | None = None) -> Message:
        """A tool's result, answering the call ``tool_call_id``."""
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)


class ToolDefinition(BaseModel):
    """A tool as a model sees it: name, description and a JSON Schema for its arguments."""

    model_config = _FROZEN

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ModelSettings(BaseModel):
    """Sampling and transport settings; ``None`` leaves the provider's default."""

    model_config = _FROZEN

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    timeout: float | None = None


class ModelRequest(BaseModel):
    """Everything a model is asked in one call.

    ``output_schema`` asks for JSON matching that schema (see ``fluxio.models.structured``);
    ``task`` names the kind of work, for routing (``fluxio.models.Router``).
    """

    model_config = _FROZEN

    messages: tuple[Message, ...]
    tools: tuple[ToolDefinition, ...] = ()
    settings: ModelSettings = ModelSettings()
    output_schema: dict[str, Any] | None = None
    task: str | None = None

    @classmethod
    def of(
        cls,
        prompt: str,
        *,
        system: str | None = None,
        tools: tuple[ToolDefinition, ...] = (),
        task: str | None = None,
    ) -> ModelRequest:
        """A one-turn request: an optional system prompt and a user prompt."""
        head = (Message.system(system),) if system else ()
        return cls(messages=(*head, Message.user(prompt)), tools=tools, task=task)

    def followed_by(self, *messages: Message) -> ModelRequest:
        """The same request with ``messages`` appended (the next turn of a conversation)."""
        return self.model_copy(update={"messages": (*self.messages, *messages)})


class Usage(BaseModel):
    """What a call cost: tokens in and out, dollars (from the price table), wall time."""

    model_config = _FROZEN

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        """The usage of two calls together."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            latency_ms=self.latency_ms + other.latency_ms,
        )


class ModelResponse(BaseModel):
    """A model's answer: text and/or tool calls, usage, and which model gave it."""

    model_config = _FROZEN

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model: str
    finish_reason: str | None = None

    def as_message(self) -> Message:
        """This answer as the assistant message to append to the conversation."""
        return Message.assistant(self.content, self.tool_calls)
